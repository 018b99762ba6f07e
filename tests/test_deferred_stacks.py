"""Deferred jets: np.stack of deferred parts (vector functions, one program with several
results) gives eager's bits; benchmarks/cases.py's sph against complex step
(tests/deferral.py).
"""

import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import dualjac as dj
from deferral import DTYPES, ROWS, TRANSFORMS, assert_matches_eager, cases, deferred, rng_x

# Every test checks that it leaves the deferred threshold as it found it (conftest.py).
pytestmark = pytest.mark.usefixtures("threshold_is_restored")


# np.stack of deferred parts of one sweep may itself be deferred (one program whose
# results are the parts); whatever it does, eager's bits.
STACKS = {
    "pending_parts_last_axis": lambda x: np.stack([np.sin(x[:, 0]), x[:, 1] * 2.0,
                                                   np.exp(x[:, 2])], axis=-1),
    "axis_1_positional": lambda x: np.stack((np.sin(x[:, 0]), x[:, 1] ** 2), 1),
    "axis_0_then_T": lambda x: np.stack([np.sin(x[:, 0]), np.cos(x[:, 1])]).T,
    "seed_views_only": lambda x: np.stack([x[:, 0], x[:, 2]], axis=1),
    "same_part_twice": lambda x: (lambda y: np.stack([y, y, x[:, 1]], -1))(np.sin(x[:, 0])),
    "single_part": lambda x: np.stack([np.sin(x[:, 0])], axis=1),
    "two_d_parts_middle_axis": lambda x: np.stack([np.sin(x[:, :2]), np.cos(x[:, 1:])], axis=1),
    "then_elementwise": lambda x: np.stack([np.sin(x[:, 0]), x[:, 1] * 2.0], 1) * 3.0 + 1.0,
    "then_indexed": lambda x: np.stack([np.sin(x[:, 0]), x[:, 1] * 2.0], 1)[:, 1],
    "then_reduced": lambda x: np.sum(np.stack([np.sin(x[:, 0]), x[:, 1]], 1), axis=1),
    "computed_part": lambda x: (lambda y: (y.value, np.stack([y, np.exp(x[:, 1])], 1))[1])(
        np.sin(x[:, 0])),
    "with_dense_part": lambda x: np.stack([np.sin(x[:, 0]), np.sum(x, axis=1)], 1),
    "with_plain_part": lambda x: np.stack([np.sin(x[:, 0]), np.ones(x.shape[0])], 1),
    "numpy_int_axis": lambda x: np.stack([np.sin(x[:, 0]), x[:, 1]], axis=np.int64(1)),
    "long_parts": lambda x: np.stack([sum(np.sin(x[:, k % 3] * (j + k)) for k in range(40))
                                      for j in range(3)], axis=1),
    "sph": lambda x: cases.sph(x, np),
    # The read-out takes a final stack's lanes from its parts: seeded views of several
    # lanes, parts in another order than computed, a lane of a multi-lane part.
    "concatenate_seed_and_pending": lambda x: np.concatenate([x[:, :2], np.sin(x[:, 1:])], axis=1),
    "reordered_parts": lambda x: np.stack([x[:, 2] * x[:, 0], x[:, 1], np.exp(x[:, :2])[:, 0]], -1),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", STACKS)
def test_stack_matches_eager(name, dtype, transform):
    assert_matches_eager(TRANSFORMS[transform], STACKS[name],
                         rng_x((ROWS, 3), dtype, lo=0.5, hi=1.5))


def test_sph_jacobian_vs_complex_step():
    """benchmarks/cases.py's sph (np.stack of three pending parts) against complex step."""
    x = rng_x((10_000, 3), lo=0.5, hi=1.5)
    J = deferred(dj.batch_jacobian, lambda x: cases.sph(x, np), x, threshold=4096)
    np.testing.assert_allclose(J, cases.complex_step_batch_jacobian(lambda z: cases.sph(z, np), x),
                               rtol=1e-13, atol=1e-15)


NESTED_STACK_SCRIPT = """
import sys
import numpy as np
import dualjac as dj

def f(x):
    inner_a = np.stack([np.sin(x[:, 0]), x[:, 1] * 2.0], 1)
    inner_b = np.stack([np.cos(x[:, 2]), x[:, 0] * x[:, 1]], 1)
    return np.stack([inner_a, inner_b], 1)

x = np.random.default_rng(0).uniform(0.5, 1.5, (3000, 3))
for transform in (dj.batch_jacobian, dj.batch_hessian):
    dj.set_deferred_threshold(1)
    got = transform(f, x)
    dj.set_deferred_threshold(0)
    want = transform(f, x)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype and got.shape == want.shape
print("OK")
"""


def test_stack_of_pending_stacks_in_a_subprocess():
    """np.stack whose parts are pending np.stack nodes (run in a subprocess: a
    crash must fail this test, not end the test run)."""
    root = pathlib.Path(__file__).resolve().parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(NESTED_STACK_SCRIPT)],
                         capture_output=True, text=True, env=env, cwd=root, timeout=300)
    assert run.returncode == 0 and run.stdout.strip().endswith("OK"), (
        f"exit code {run.returncode}\nstdout: {run.stdout[-2000:]}\nstderr: {run.stderr[-2000:]}")
