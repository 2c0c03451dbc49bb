"""ROS-free core of MASH: network, codecs, metrics. Imports torch/numpy only, never rclpy."""
