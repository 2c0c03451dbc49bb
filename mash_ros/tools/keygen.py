"""``mash-keygen [PATH]``: write a new swarm key file (32 random bytes, hex, mode 0600).

Give every drone of a swarm the same file (``mash-swarm --swarm-key-file PATH``, launch
argument ``swarm_key_file:=PATH``, or node parameter ``swarm_key_file``); copy it to other
machines over a private channel (e.g. ``scp -p``). The key itself is never printed.
"""
from __future__ import annotations

import argparse
import sys

from mash_ros.swarm.keyfile import KeyFileError, default_key_path, generate_key_file


def main(args=None) -> int:
    parser = argparse.ArgumentParser(prog="mash-keygen", description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(default_key_path()),
                        help=f"key file to write (default: {default_key_path()})")
    parser.add_argument("--force", action="store_true", help="replace an existing key file")
    ns = parser.parse_args(args)
    try:
        path = generate_key_file(ns.path, overwrite=ns.force)
    except (KeyFileError, OSError) as err:
        print(f"mash-keygen: {err}", file=sys.stderr)
        return 1
    print(f"mash-keygen: wrote a new swarm key to {path} (mode 0600)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
