"""The one exception the bag tools raise for anything wrong with a bag or a recording."""


class BagError(RuntimeError):
    """A rosbag2 bag is missing, corrupt, truncated, lacks a topic, or holds data we cannot use.

    The message names the bag and the problem, ready to print to a user.
    """
