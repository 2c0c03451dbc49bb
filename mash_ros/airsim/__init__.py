"""AirSim recordings to training data: a rosbag2 of AirSim's ROS 2 wrapper to a mash-sim split (ROS-free)."""
