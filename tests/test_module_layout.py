"""The layout of the transforms' modules: one direction of dependency, and short files.

The transforms (dualjac/api.py, _batch.py, _second_order.py, _settings.py) and the
tape build on dualjac/_sweep.py, which builds on the compiled core only; the batch,
second-order and settings modules and the tape import no other transform module.
The witness is what Python actually imports: each module is imported in a fresh
interpreter whose package `dualjac` is stood in by an empty module (the real
__init__ imports everything), and the dualjac modules then in sys.modules are read.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import dualjac

PACKAGE_DIR = Path(dualjac.__file__).parent
# Modules that hold transforms or build on them (the public entry points).
TRANSFORMS = ("api", "_batch", "_second_order", "_settings", "tape", "sparse",
              "_sparse_hessian", "scipy_drop_ins")
MAX_LINES = 800


def loaded_after_importing(name):
    """The dualjac modules (short names) in sys.modules after importing dualjac.<name>
    in a fresh interpreter whose `dualjac` package runs no __init__."""
    code = textwrap.dedent(f"""
        import importlib, json, sys, types
        stand_in = types.ModuleType("dualjac")
        stand_in.__path__ = [{os.fspath(PACKAGE_DIR)!r}]
        sys.modules["dualjac"] = stand_in
        importlib.import_module("dualjac.{name}")
        print(json.dumps(sorted(m.split(".", 1)[1] for m in sys.modules
                                if m.startswith("dualjac."))))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


def test_sweep_imports_the_core_and_the_policy_only():
    loaded = loaded_after_importing("_sweep")
    assert "_sweep" in loaded
    assert not loaded & set(TRANSFORMS), f"dualjac._sweep imports {sorted(loaded & set(TRANSFORMS))}"
    assert loaded <= {"_sweep", "_policy", "_core", "_types"}, sorted(loaded)


def test_the_policy_imports_the_core_only():
    assert loaded_after_importing("_policy") <= {"_policy", "_core"}


@pytest.mark.parametrize("name", ["_batch", "_second_order", "_settings", "tape"])
def test_transform_module_imports_no_other_transform(name):
    loaded = loaded_after_importing(name)
    others = sorted(loaded & set(TRANSFORMS) - {name})
    assert not others, f"dualjac.{name} imports {others}; shared code belongs in _sweep.py"
    assert "_sweep" in loaded


def test_api_names_every_public_transform():
    # dualjac.api is where users and the docs find the transforms, wherever they live
    from dualjac import api
    for name in ("jacobian", "value_and_jacobian", "gradient", "jvp", "batch_jacobian",
                 "batch_hessian", "hessian", "value_gradient_hessian", "hvp", "stop_gradient",
                 "UnconnectedGradients", "set_num_threads", "get_num_threads", "release_memory"):
        assert getattr(api, name) is getattr(dualjac, name)
        assert name in api.__all__


def test_no_python_file_is_over_800_lines():
    lengths = {os.fspath(path.relative_to(PACKAGE_DIR)): len(path.read_text().splitlines())
               for path in PACKAGE_DIR.rglob("*.py")}
    assert "api.py" in lengths
    too_long = {path: n for path, n in lengths.items() if n > MAX_LINES}
    assert not too_long, f"files over {MAX_LINES} lines: {too_long}"
