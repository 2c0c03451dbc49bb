"""mash_ros: Multi-Agent Spatial Handshaking for drone swarms on ROS 2."""
