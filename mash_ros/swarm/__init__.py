"""ROS-free logic of the distributed swarm: node plan, parameters, peer liveness, frame
collection, bandwidth accounting. The rclpy nodes in ``mash_ros.nodes`` wrap these."""
