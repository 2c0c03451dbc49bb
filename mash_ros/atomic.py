"""Files that are either complete or absent: write to a temporary file, then rename.

A reader (mash-swarm, a test, a person) must never find half a JSON summary because the
writer was interrupted: ``os.replace`` within one directory is atomic on POSIX, so the path
holds the old content or the new, never a mix.
"""
from __future__ import annotations

import json
import os
import pathlib
import tempfile


def write_json_atomic(path: str | os.PathLike, data, indent: int = 2) -> pathlib.Path:
    """Write ``data`` as JSON to ``path`` atomically (temp file in the same directory,
    flushed and fsynced, then renamed over ``path``)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=indent)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise
    return path
