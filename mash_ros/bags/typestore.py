"""rosbags type store: ROS 2 Kilted's standard messages plus our mash_msgs (from .msg files).

rosbags needs a message definition for every connection it writes and every type it
deserializes. Standard types ship with rosbags; ours (and any other package installed into the
prefix) are parsed from ``share/<package>/msg/<Name>.msg`` on first use.
"""
from __future__ import annotations

import functools
import os
import pathlib
import sys

from mash_ros.bags.errors import BagError

_REPO = pathlib.Path(__file__).resolve().parents[2]


def _msg_dirs(package: str) -> list[pathlib.Path]:
    """Directories that may hold ``package``'s .msg files: ament prefixes, then the repo."""
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    dirs = [pathlib.Path(p) / "share" / package / "msg" for p in [*prefixes, sys.prefix]]
    dirs.append(_REPO / package / "msg")
    return dirs


def find_msg_file(msgtype: str) -> pathlib.Path | None:
    """``pkg/msg/Name`` -> the Name.msg file of an installed package, or None."""
    package, _, name = msgtype.split("/")
    for folder in _msg_dirs(package):
        candidate = folder / f"{name}.msg"
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=1)
def typestore():
    """The shared Kilted type store with mash_msgs registered."""
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_KILTED)
    for name in ("TopicBandwidth", "BandwidthReport", "QueryMap", "SegPatches"):
        ensure_type(store, f"mash_msgs/msg/{name}")
    return store


def ensure_type(store, msgtype: str) -> None:
    """Register ``msgtype`` (and the types it uses) from its .msg file if the store lacks it."""
    from rosbags.typesys import get_types_from_msg

    if msgtype in store.types:
        return
    if msgtype.count("/") != 2:
        raise BagError(f"message type {msgtype!r} is not of the form package/msg/Name")
    path = find_msg_file(msgtype)
    if path is None:
        raise BagError(f"no definition of message type {msgtype}: its package is not installed "
                       f"(looked for {msgtype.split('/')[2]}.msg under share/"
                       f"{msgtype.split('/')[0]}/msg)")
    types = get_types_from_msg(path.read_text(), msgtype)
    # dependencies of the same package (e.g. TopicBandwidth in BandwidthReport)
    for field_type in _referenced_types(path.read_text(), msgtype.split("/")[0]):
        if field_type not in store.types and field_type != msgtype:
            ensure_type(store, field_type)
    store.register(types)


def _referenced_types(text: str, package: str) -> list[str]:
    """Non-builtin field types named in a .msg text, as package/msg/Name."""
    builtins = {"bool", "byte", "char", "int8", "uint8", "int16", "uint16", "int32", "uint32",
                "int64", "uint64", "float32", "float64", "string", "wstring"}
    found = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or "=" in line.split()[-1] or len(line.split()) < 2:
            continue
        base = line.split()[0].split("[")[0].split("<")[0]
        if base in builtins or "=" in line:
            continue
        if "/" in base:
            pkg, name = base.split("/")[0], base.split("/")[-1]
        else:
            pkg, name = package, base
        found.append(f"{pkg}/msg/{name}")
    return found
