"""Loading the TensorFlow reference cases (tests/data: outputs recorded from TensorFlow).

Each case was produced by TensorFlow 2.21's GradientTape; its 'src' is a lambda
over a namespace `np` = numpy plus np.stop_gradient and np.linalg_norm.
"""

import json
import os
import types

import numpy as np

import dualjac as dj

DATA = os.path.join(os.path.dirname(__file__), "data")

with open(os.path.join(DATA, "tf_reference.json")) as _fh:
    CASES = json.load(_fh)["cases"]
ARRAYS = np.load(os.path.join(DATA, "tf_reference.npz"))

# The lambdas' `np`: NumPy, plus the two names TF's namespace had that NumPy lacks.
NAMESPACE = types.SimpleNamespace(**{k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
NAMESPACE.stop_gradient = dj.stop_gradient
NAMESPACE.linalg_norm = np.linalg.norm


def case_function(case):
    return eval(case["src"], {"np": NAMESPACE})


def inputs(case):
    return [ARRAYS[f"{case['name']}__in{i}"] for i in range(case["n_sources"])]


def expected(case, name):
    """TF's result array for an 'out' entry, or None where TF returned None."""
    return None if name is None else ARRAYS[f"{case['name']}__{name}"]


def cases(*modes):
    return [c for c in CASES if c["mode"] in modes]


def case_id(case):
    return case["name"]
