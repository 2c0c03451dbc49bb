"""ament_python setup for mash_ros (also pip-installable: `pip install -e .`)."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "mash_ros"

CONSOLE_SCRIPTS = [
    # ROS executables (ros2 run / launch): name = module name
    "drone_node = mash_ros.nodes.drone_node:main",
    # command-line tools
    "mash-bench = mash_ros.tools.bench:main",
    "mash-configure = mash_ros.tools.configure:main",
    "mash-dataset = mash_ros.tools.dataset:main",
    "mash-demo = mash_ros.tools.demo:main",
    "mash-evaluate-bag = mash_ros.tools.evaluate_bag:main",
    "mash-keygen = mash_ros.tools.keygen:main",
    "mash-netlab = mash_ros.tools.netlab:main",
    "mash-record = mash_ros.tools.record:main",
    "mash-replay = mash_ros.tools.replay:main",
    "mash-evaluate = mash_ros.tools.evaluate:main",
    "mash-sim = mash_ros.tools.sim:main",
    "mash-swarm = mash_ros.tools.swarm:main",
    "mash-train = mash_ros.tools.train:main",
]

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE, PACKAGE + ".*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + PACKAGE]),
        ("share/" + PACKAGE, ["package.xml"]),
        ("share/" + PACKAGE + "/launch", glob("launch/*.py")),
        ("share/" + PACKAGE + "/config", glob("config/*.yaml") + glob("config/*.xml")),
        ("share/" + PACKAGE + "/models", glob("models/*")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="mash_ros developers",
    maintainer_email="mash-ros@example.org",
    description="Multi-Agent Spatial Handshaking (MASH) for drone swarms on ROS 2",
    license="Apache-2.0",
    entry_points={"console_scripts": CONSOLE_SCRIPTS},
)
