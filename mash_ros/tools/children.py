"""Child processes that do not outlive their runner (Linux).

``die_with_parent`` is a ``preexec_fn`` for ``subprocess.Popen``: it asks the kernel
(prctl PR_SET_PDEATHSIG) to send the child SIGTERM when its parent dies, however the parent
dies (SIGKILL included), so a killed ``mash-swarm`` leaves no orphan drones. SIGTERM, not
SIGKILL: the drone node shuts down cleanly on it and writes its summary. The libc function
is looked up here, in the parent, so the forked child runs one C call and nothing that could
wait for a lock another thread of the parent held at fork time.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_prctl = None
if sys.platform.startswith("linux"):
    _prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl


def die_with_parent_of(parent_pid: int):
    """A preexec_fn: SIGTERM this child when ``parent_pid`` (the caller) dies."""
    def preexec() -> None:
        if _prctl is not None:
            _prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died between fork and prctl
            os.kill(os.getpid(), signal.SIGTERM)
    return preexec


def popen_options() -> dict:
    """Keyword arguments for Popen that tie the child's life to this process."""
    return {"preexec_fn": die_with_parent_of(os.getpid())} if _prctl is not None else {}
