"""Swarm key files: 32 random bytes, hex on one line, readable by their owner only (0600).

``mash-keygen`` writes one; every drone of a swarm is given the same file (parameter
``swarm_key_file``). Loading refuses a file that group or others may read, like ssh does
with private keys: a key others can read authenticates nothing. Errors name the file, never
its contents.
"""
from __future__ import annotations

import os
import pathlib
import secrets
import stat

KEY_BYTES = 32


class KeyFileError(RuntimeError):
    """A swarm key file is missing, unreadable, too open or malformed."""


def default_key_path() -> pathlib.Path:
    """Where the swarm runner and the launch file keep a key when given none:
    ``$ROS_HOME/mash_swarm.key`` (``~/.ros`` when ROS_HOME is unset)."""
    home = os.environ.get("ROS_HOME") or os.path.join(os.path.expanduser("~"), ".ros")
    return pathlib.Path(home) / "mash_swarm.key"


def generate_key_file(path: str | os.PathLike, overwrite: bool = False) -> pathlib.Path:
    """Write a fresh key to ``path`` (mode 0600, created that way: never briefly readable)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if overwrite:
        path.unlink(missing_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} exists; keep it, or pass --force to replace it (every "
                           f"drone then needs the new key)") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(KEY_BYTES) + "\n")
    return path


def ensure_key_file(path: str | os.PathLike) -> pathlib.Path:
    """``path`` if it holds a key; a new key there if nothing does."""
    path = pathlib.Path(path)
    if not path.exists():
        generate_key_file(path)
    load_key(path)  # fail now, with the runner's error, rather than in every drone
    return path


def load_key(path: str | os.PathLike) -> bytes:
    """The key bytes of ``path``; KeyFileError if it is not a private, well-formed key file."""
    path = pathlib.Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except OSError as err:
        raise KeyFileError(f"swarm key file {path}: {err.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"swarm key file {path} is accessible to others (mode "
                           f"{stat.S_IMODE(mode):04o}); run: chmod 600 {path}")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"swarm key file {path} does not hold {KEY_BYTES} hex-encoded bytes "
                           f"(make one with mash-keygen)")
    return key
