"""Training and offline evaluation of MASH and its baselines on the simulator's data (ROS-free)."""
