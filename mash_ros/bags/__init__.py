"""rosbag2 bags without ROS (rosbags): reading with checks, writing, evaluation.

    errors      BagError: the one exception, naming the bag and the problem
    reader      BagFile: open, validate (truncated / corrupt / missing topics), iterate raw CDR
    writer      BagWriter: new mcap / sqlite3 bag from raw CDR (what mash-record writes)
    typestore   rosbags Kilted type store + mash_msgs from their .msg files
    cdr         header stamps straight from CDR bytes
    images      sensor_msgs/Image -> numpy, with encoding checks
    layout      topic names: AirSim cameras, ground truth, swarm outputs, replay markers
    snapshots   cutting a bag into snapshots, replay pacing (rate, lock-step)
    groundtruth ground truth and camera images by stamp
    recording   one pass over a recorded run: outputs, markers, wire sizes, bandwidth reports
    scoring     SwarmScore: Table I metrics of a run (live or offline)
    evaluation  evaluate_recording: the report of mash-evaluate-bag
    offline     evaluate_offline: the same numbers from the model run like the nodes, no ROS
    montage     PNG of input / single agent / swarm / ground truth
"""
from mash_ros.bags.errors import BagError

__all__ = ["BagError"]
