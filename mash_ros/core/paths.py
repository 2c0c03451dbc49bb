"""Where the package's data files are: the source tree first, then the installed share/."""
from __future__ import annotations

import pathlib
import sys

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[2]  # source checkout (editable install)
SHARE = pathlib.Path(sys.prefix) / "share" / "mash_ros"     # colcon / pip install data_files


def package_file(*parts: str) -> pathlib.Path:
    """Path of ``config/…``, ``models/…`` or ``launch/…``; FileNotFoundError naming both places."""
    candidates = [PACKAGE_ROOT.joinpath(*parts), SHARE.joinpath(*parts)]
    try:
        from ament_index_python.packages import get_package_share_directory

        candidates.append(pathlib.Path(get_package_share_directory("mash_ros")).joinpath(*parts))
    except Exception:  # no ament index (plain pip install) or package not registered
        pass
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{'/'.join(parts)} not found in: " + ", ".join(map(str, candidates)))
