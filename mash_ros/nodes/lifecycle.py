"""Running a drone node from start to a clean stop, whatever stops it.

Two executors, each single-threaded: the node's own (timers, encode, answer, fuse) in the
calling thread, and its intake node's (subscriptions) in a second thread. A stop (Ctrl-C,
SIGTERM, the context shutting down, or a bug inside spin) ends in the same place: further
stop signals ignored, the intake thread's last callback finished and the thread joined, both
executors shut down (no callback runs while the node goes), the summary written (atomically),
the node destroyed.
"""
from __future__ import annotations

import signal
import sys
import threading
import traceback

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor


def ignore_stop_signals() -> None:
    """From here on the node is stopping: a second Ctrl-C (a terminal signals the whole
    process group, and mash-swarm forwards its own) must not cut the summary short."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


INTAKE_POLL_S = 0.1  # how soon the intake thread notices that the node is stopping
INTAKE_JOIN_S = 10.0


def _spin_until(executor, stop: threading.Event) -> None:
    """Spin until ``stop`` is set or the context shuts down (Ctrl-C, SIGTERM: not an error).

    Not ``executor.spin()`` ended by ``executor.shutdown()``: rclpy's shutdown returns without
    waiting for a callback in progress, so the node could be destroyed under one."""
    try:
        while not stop.is_set() and executor.context.ok():
            executor.spin_once(timeout_sec=INTAKE_POLL_S)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:  # noqa: BLE001 - the context shut down between the check and the wait
        if executor.context.ok():
            raise


def run_node(make_node, args=None) -> int:
    """``rclpy.init``, ``make_node()``, spin until stopped; exit 0 (stopped, even when the stop
    cut a callback short), 1 (a failure inside spin, traceback printed), 2 (the node refused
    its configuration: SystemExit, one line) or 130 (interrupted while starting).
    ``make_node()`` returns a node with ``intake`` (a second node) and ``write_summary()``; the
    summary is written on every exit path once it exists."""
    rclpy.init(args=args)
    try:
        node = make_node()
    except SystemExit as err:
        print(err, file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    except KeyboardInterrupt:
        ignore_stop_signals()
        print("interrupted while starting", file=sys.stderr)
        rclpy.try_shutdown()
        return 130
    executor, intake = SingleThreadedExecutor(), SingleThreadedExecutor()
    executor.add_node(node)
    intake.add_node(node.intake)
    stop_intake = threading.Event()
    intake_thread = threading.Thread(target=_spin_until, args=(intake, stop_intake),
                                     name="intake", daemon=True)
    intake_thread.start()
    code = 0
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception as err:  # noqa: BLE001 - a bug: report it, still write the summary
        if node.context.ok():
            traceback.print_exc()
            code = 1
        else:  # rclpy's signal handler shut the context while a callback ran: the stop
            print(f"stopped inside a callback ({type(err).__name__}: {err})", file=sys.stderr)
    finally:
        ignore_stop_signals()
        stop_intake.set()  # no callback may run while the node goes: wait for the last one
        intake_thread.join(INTAKE_JOIN_S)
        if intake_thread.is_alive():
            print(f"the intake thread did not stop within {INTAKE_JOIN_S:g} s",
                  file=sys.stderr)
        intake.shutdown(timeout_sec=0)
        executor.shutdown(timeout_sec=0)
        node.write_summary()
        node.destroy_node()
        rclpy.try_shutdown()
        ignore_stop_signals()  # rclpy's shutdown restores the handlers it replaced
    return code
