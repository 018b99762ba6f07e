"""dj.GradientTape against TensorFlow's reference cases and TF's tape rules."""

import numpy as np
import pytest

import dualjac as dj
from test_tf_reference import assert_matches, sources_and_function
from tf_reference import case_function, case_id, cases, expected, inputs
from witness import complex_step_jacobian

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "banded", "deferred")


@pytest.mark.parametrize("case", cases("jac", "jac_dict"), ids=case_id)
def test_jacobian_cases_through_the_tape(case):
    source, f = sources_and_function(case)
    with pytest.warns(UserWarning) if "int32" in case["dtypes"] else _no_warning():
        with dj.GradientTape() as tape:
            watched = tape.watch(source)
            y = f(watched)
    # Sources may be named by the watched arrays or by the original ones.
    got = tape.jacobian(y, source if case["name"].startswith("b") else watched,
                        unconnected_gradients=case["unconnected"])
    out = case["out"]
    names = out if isinstance(out, (list, dict)) else None
    if isinstance(out, dict):
        for key in out:
            assert_matches(got[key], expected(case, out[key]), case["dtypes"])
    elif isinstance(names, list):
        for g, name in zip(got, names):
            assert_matches(g, expected(case, name), case["dtypes"])
    else:
        assert_matches(got, expected(case, out), case["dtypes"])


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("batch_seeds", [True, False], ids=["per_row_seeds", "full_seeds"])
@pytest.mark.parametrize("case", cases("bjac"), ids=case_id)
def test_batch_jacobian_cases_through_the_tape(case, batch_seeds):
    f = case_function(case)
    x = inputs(case)[0]
    with dj.GradientTape() as tape:
        xw = tape.watch(x, batch=batch_seeds)
        y = f(xw)
    got = tape.batch_jacobian(y, xw, unconnected_gradients=case["unconnected"])
    assert_matches(got, expected(case, case["out"]), case["dtypes"])


def nested_tapes(f, x, outer_method, inner_method):
    """TF's Example 2, written as TF users write it: one name rebound per level."""
    with dj.GradientTape(persistent=True) as outer:
        x = outer.watch(x)
        with dj.GradientTape() as inner:
            x = inner.watch(x)
            y = f(x)
        first = getattr(inner, inner_method)(y, x)
    return first, getattr(outer, outer_method)(first, x)


NESTED_METHODS = {"nested_jac": ("jacobian", "jacobian"),
                  "nested_bjac": ("batch_jacobian", "jacobian"),
                  "nested_bjac_grad": ("batch_jacobian", "gradient")}


@pytest.mark.parametrize("case", cases(*NESTED_METHODS), ids=case_id)
def test_nested_cases_through_nested_tapes(case):
    outer_method, inner_method = NESTED_METHODS[case["mode"]]
    first, second = nested_tapes(case_function(case), inputs(case)[0], outer_method, inner_method)
    # `first` is still dual in the outer tape's seeds (the outer tape records it, as in TF).
    assert isinstance(first, dj.DualArray)
    assert_matches(np.array(first.value), expected(case, "first"), case["dtypes"])
    assert_matches(second, expected(case, case["out"]), case["dtypes"])


def test_seed_example_1_with_a_tape():
    x = np.array([[4, 2], [1, 3]], dtype=np.float32)
    with dj.GradientTape() as g:
        x = g.watch(x)
        y = x * x * x
    J = g.jacobian(y, x)
    assert J.shape == (2, 2, 2, 2) and J.dtype == np.float32
    np.testing.assert_array_equal(J.reshape(4, 4), np.diag(3 * np.array([16, 4, 1, 9], np.float32)))


def test_non_persistent_tape_answers_once():
    with dj.GradientTape() as g:
        x = g.watch(np.ones(2))
        y = x * 2
    g.jacobian(y, x)
    with pytest.raises(RuntimeError, match="non-persistent GradientTape can only be used"):
        g.jacobian(y, x)


def test_persistent_tape_answers_many_times():
    with dj.GradientTape(persistent=True) as g:
        x = g.watch(np.ones(2))
        y = x * x
    for _ in range(3):
        np.testing.assert_array_equal(g.jacobian(y, x), 2 * np.eye(2))
    np.testing.assert_array_equal(g.gradient(y, x), [2, 2])


def test_pfor_false_needs_persistent_as_in_tf():
    with dj.GradientTape() as g:
        x = g.watch(np.ones(2))
        y = x * 2
    with pytest.raises(RuntimeError, match="persistent=True"):
        g.jacobian(y, x, experimental_use_pfor=False)


def test_sources_watched_one_by_one_share_the_seed_space():
    a0, b0 = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    with dj.GradientTape() as g:
        a = g.watch(a0)
        early = np.sin(a)                 # computed before b was watched
        b = g.watch(b0)
        z = np.sum(early) * b
    Ja, Jb = g.jacobian(z, [a, b])
    np.testing.assert_allclose(Ja, np.outer(b0, np.cos(a0)))
    np.testing.assert_allclose(Jb, np.sum(np.sin(a0)) * np.eye(3))


def test_watching_an_intermediate_keeps_the_paths_through_it():
    """TF lets a tape watch a value computed from its sources: d z / d y is y's own, and
    d z / d x still runs through y (z = sum(y^2), y = 2x: 8x and 4x; z = y^2 + x with
    y = sin x: 2 sin x and 2 sin x cos x + 1)."""
    x0 = np.array([0.5, 1.0, 2.0])
    with dj.GradientTape(persistent=True) as tape:
        x = tape.watch(x0)
        y = tape.watch(x * 2.0)
        z = np.sum(y ** 2)
    dx, dy = tape.gradient(z, [x, y])
    np.testing.assert_allclose(dx, 8 * x0, rtol=1e-15)
    np.testing.assert_allclose(dy, 4 * x0, rtol=1e-15)
    with dj.GradientTape(persistent=True) as tape:
        x = tape.watch(x0)
        y = tape.watch(np.sin(x))
        z = y ** 2 + x
    np.testing.assert_allclose(tape.jacobian(z, y), np.diag(2 * np.sin(x0)), rtol=1e-15)
    np.testing.assert_allclose(tape.jacobian(z, x), np.diag(np.sin(2 * x0) + 1), rtol=1e-15)


def test_never_watched_source_is_none_or_zeros():
    other = np.ones(4)
    with dj.GradientTape(persistent=True) as g:
        x = g.watch(np.ones(3))
        y = x * 2
    assert g.jacobian(y, other) is None
    assert g.jacobian(y, other, unconnected_gradients="zero").shape == (3, 4)


def test_watching_a_structure_returns_the_structure():
    with dj.GradientTape() as g:
        s = g.watch({"a": np.ones(2), "b": (np.ones(3),)})
        y = np.sum(s["a"]) * s["b"][0]
    J = g.jacobian(y, s)
    assert J["a"].shape == (3, 2) and J["b"][0].shape == (3, 3)


def test_gradient_with_output_gradients():
    x0 = np.array([0.5, 1.5])
    w = np.array([2.0, -1.0])
    with dj.GradientTape() as g:
        x = g.watch(x0)
        y = np.sin(x) * x
    want = w @ complex_step_jacobian(lambda x: np.sin(x) * x, x0)
    np.testing.assert_allclose(g.gradient(y, x, output_gradients=w), want)


def test_forgetting_to_use_the_watched_array_warns():
    x0 = np.ones(3)
    with dj.GradientTape() as g:
        g.watch(x0)                       # TF style: the return value is dropped
        y = x0 * 2                        # plain NumPy: nothing to differentiate
    with pytest.warns(UserWarning, match="x = tape.watch"):
        assert g.jacobian(y, x0) is None


def test_jacobian_of_batch_watched_source_explains():
    with dj.GradientTape() as g:
        x = g.watch(np.ones((2, 2)), batch=True)
        y = x * 2
    with pytest.raises(ValueError, match="batch=True"):
        g.jacobian(y, x)


def test_batch_errors_match_tf():
    with dj.GradientTape(persistent=True) as g:
        x = g.watch(np.ones((3, 2)))
        v = g.watch(np.ones(3))
    with pytest.raises(ValueError, match=r"Need first dimension of target shape \(\(4, 2\)\) "
                                         r"and source shape \(\(3, 2\)\) to match."):
        g.batch_jacobian(np.ones((4, 2)), x)
    with pytest.raises(ValueError, match=r"Shape \(3,\) must have rank at least 2"):
        g.batch_jacobian(v * 2, v)
    with pytest.raises(ValueError, match="scalar"):
        g.batch_jacobian(np.sum(x), x)


def test_integer_watch_warns():
    with pytest.warns(UserWarning, match="must be floating"):
        with dj.GradientTape() as g:
            x = g.watch(np.array([1, 2], np.int32))
            y = x * 2
    assert g.jacobian(y, x) is None


def test_tape_inside_a_functional_transform():
    """A tape's derivative stays dual in an enclosing transform's seeds."""
    def first_derivative(z):
        with dj.GradientTape() as g:
            x = g.watch(z)
            y = x ** 3
        return g.jacobian(y, x)

    x0 = np.array([1.0, 2.0])
    H = dj.jacobian(first_derivative, x0)
    expected_H = np.zeros((2, 2, 2))
    expected_H[[0, 1], [0, 1], [0, 1]] = 6 * x0
    np.testing.assert_allclose(H, expected_H)
