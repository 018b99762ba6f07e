"""Every TensorFlow reference case through dualjac's functional API.

The witness is TensorFlow itself (tests/data): shapes, dtypes, values and the
None slots of unconnected sources must match.
"""

import warnings

import numpy as np
import pytest

import dualjac as dj
from tf_reference import case_function, case_id, cases, expected, inputs

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "banded", "deferred")


def assert_matches(got, want, dtype_name):
    """One result slot: None where TF gave None, else same shape, dtype and values."""
    if want is None:
        assert got is None
        return
    assert got is not None, "dualjac gave None where TF gave an array"
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    tol = 2e-5 if want.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def sources_and_function(case):
    """(sources, f) in dualjac's calling convention: f takes the source structure."""
    f = case_function(case)
    args = inputs(case)
    if case["structure"] == "single":
        return args[0], f
    if case["structure"] == "dict":
        return {"x": args[0], "y": args[1]}, lambda s: f(s["x"], s["y"])
    return list(args), lambda s: f(*s)


@pytest.mark.parametrize("case", cases("jac", "jac_dict"), ids=case_id)
def test_jacobian(case):
    source, f = sources_and_function(case)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = dj.jacobian(f, source, unconnected_gradients=case["unconnected"])
    out = case["out"]
    if isinstance(out, dict):
        assert set(got) == set(out)
        for key in out:
            assert_matches(got[key], expected(case, out[key]), case["dtypes"])
    elif isinstance(out, list):
        assert isinstance(got, list) and len(got) == len(out)
        for g, name in zip(got, out):
            assert_matches(g, expected(case, name), case["dtypes"])
    else:
        assert_matches(got, expected(case, out), case["dtypes"])
    if "int32" in case["dtypes"]:
        assert any("must be floating" in str(w.message) for w in caught)


@pytest.mark.parametrize("case", cases("bjac"), ids=case_id)
def test_batch_jacobian(case):
    source, f = sources_and_function(case)
    got = dj.batch_jacobian(f, source, unconnected_gradients=case["unconnected"])
    assert_matches(got, expected(case, case["out"]), case["dtypes"])


NESTED = {
    # outer.jacobian(inner.jacobian(f(x), x), x)
    "nested_jac": (dj.jacobian, dj.jacobian),
    # outer.batch_jacobian(inner.jacobian(f(x), x), x)
    "nested_bjac": (dj.batch_jacobian, dj.jacobian),
    # outer.batch_jacobian(inner.gradient(f(x), x), x)
    "nested_bjac_grad": (dj.batch_jacobian, dj.gradient),
}


@pytest.mark.parametrize("case", cases(*NESTED), ids=case_id)
def test_nested_transforms(case):
    source, f = sources_and_function(case)
    outer, inner = NESTED[case["mode"]]
    first = inner(f, source)
    assert_matches(first, expected(case, "first"), case["dtypes"])
    got = outer(lambda z: inner(f, z), source)
    assert_matches(got, expected(case, case["out"]), case["dtypes"])


def test_every_reference_case_is_exercised():
    covered = cases("jac", "jac_dict", "bjac", *NESTED)
    from tf_reference import CASES
    assert len(covered) == len(CASES) == 40
