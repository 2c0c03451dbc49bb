"""AirSim recordings to training data: a rosbag2 of AirSim's ROS 2 wrapper -> a mash-sim split
(ROS-free: rosbags, numpy)."""
