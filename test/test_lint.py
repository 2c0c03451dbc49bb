"""The package passes ruff (pyflakes + pycodestyle rules, 100 columns)."""
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(pathlib.Path(sys.executable).with_name("ruff"))
    result = subprocess.run([ruff, "check", "mash_ros", "test", "launch", "setup.py"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# rosdep key of every non-standard module the package imports; PIP_ONLY are not rosdep keys
# (package.xml says to pip install them)
ROSDEP_KEYS = {"rclpy": "rclpy", "std_msgs": "std_msgs", "sensor_msgs": "sensor_msgs",
               "mash_msgs": "mash_msgs", "rcl_interfaces": "rcl_interfaces",
               "rosgraph_msgs": "rosgraph_msgs", "ament_index_python": "ament_index_python",
               "cv_bridge": "cv_bridge", "launch": "launch", "launch_ros": "launch_ros",
               "numpy": "python3-numpy", "cv2": "python3-opencv", "yaml": "python3-yaml",
               "tqdm": "python3-tqdm", "matplotlib": "python3-matplotlib"}
PIP_ONLY = {"torch", "rosbags", "embreex"}


def test_package_xml_lists_every_imported_package():
    import ast
    import xml.etree.ElementTree as ET

    imported = set()
    for path in [*ROOT.glob("mash_ros/**/*.py"), *ROOT.glob("launch/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"mash_ros", "__future__"}
    unknown = third_party - set(ROSDEP_KEYS) - PIP_ONLY
    assert not unknown, f"imported but in neither ROSDEP_KEYS nor PIP_ONLY: {sorted(unknown)}"
    declared = {e.text for e in ET.parse(ROOT / "package.xml").getroot()
                if e.tag in ("exec_depend", "depend")}
    missing = {ROSDEP_KEYS[m] for m in third_party if m in ROSDEP_KEYS} - declared
    assert not missing, f"imported but not in package.xml: {sorted(missing)}"
    xml_text = (ROOT / "package.xml").read_text()
    assert all(name in xml_text for name in PIP_ONLY)
