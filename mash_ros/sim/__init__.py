"""ROS-free synthetic multi-drone data generator."""
