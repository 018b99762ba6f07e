"""Banded jets (src_c/_banded.pxi): dj.jacobian / dj.hessian hand f a BandedJet
for sources of >= dj.get_banded_threshold() elements.

Witnesses: complex-step Jacobians and Hessians (tests/witness.py), SciPy's
analytic Rosenbrock Hessian, and the dense sweep (threshold 0), which must give
the same numbers: banded kernels do the dense kernels' arithmetic minus terms
that are exact zeros, so results agree exactly (up to the sign of a zero).
Whether a case stays banded or densifies is checked too, since a fallback that
always densified would pass every value test while losing the point.
"""
import numpy as np
import pytest
import scipy.optimize

import dualjac as dj
from dualjac._pattern import PatternArray
from banding import banded_from
from witness import witness_hessian, witness_jacobian

RNG = np.random.default_rng(20261126)


def dense_and_banded(transform, f, x):
    with banded_from(0):
        dense = transform(f, x)
    with banded_from(1):
        banded = transform(f, x)
    return dense, banded


def assert_same(dense, banded):
    assert banded.shape == dense.shape and banded.dtype == dense.dtype
    assert np.array_equal(banded, dense)


def seen_by(transform, f, x):
    """The type of the array f receives, and of what it returns."""
    seen = []

    def spy(z):
        seen.append(type(z))
        y = f(z)
        seen.append(type(y))
        return y

    with banded_from(1):
        transform(spy, x)
    return seen


# ---------------------------------------------------------------- the benchmark families

def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def stencil(x):
    zero = x[:1] * 0.0
    left, right = np.concatenate([zero, x[:-1]]), np.concatenate([x[1:], zero])
    return np.sin(x) * x + (left - 2.0 * x + right)


@pytest.mark.parametrize("n", [2, 5, 20, 101])
def test_rosenbrock_hessian_is_scipys(n):
    x = RNG.uniform(-2.0, 2.0, n)
    dense, banded = dense_and_banded(dj.hessian, rosen, x)
    np.testing.assert_allclose(banded, scipy.optimize.rosen_hess(x), rtol=1e-13, atol=1e-10)
    assert_same(dense, banded)


@pytest.mark.parametrize("n", [3, 17, 300])
def test_stencil_jacobian_is_the_complex_step_one(n):
    x = RNG.uniform(-1.0, 1.0, n)
    dense, banded = dense_and_banded(dj.jacobian, stencil, x)
    np.testing.assert_allclose(banded, witness_jacobian(stencil, x), rtol=1e-14, atol=1e-15)
    assert_same(dense, banded)
    # three seeds an element of three: no gain, dense
    expected = dj.BandedJet if n > 3 else dj.DualArray
    assert seen_by(dj.jacobian, stencil, x) == [dj.BandedJet, expected]


def test_stencil_hessian_is_the_complex_step_one():
    x = RNG.uniform(-1.0, 1.0, 12)
    dense, banded = dense_and_banded(dj.hessian, stencil, x)
    np.testing.assert_allclose(banded, witness_hessian(stencil, x), rtol=1e-6, atol=1e-6)
    assert_same(dense, banded)


# ---------------------------------------------------------------- what stays banded

ELEMENTWISE = {
    "unary chain": lambda x: np.exp(np.sin(x) * 0.5) + np.log1p(x * x),
    "neighbours": lambda x: x[2:] * x[:-2] - x[1:-1] ** 3,
    "reversed": lambda x: x[::-1] * np.cos(x[::-1]),
    "strided": lambda x: x[::2] * x[1::2],
    "constant array": lambda x: x * np.linspace(1.0, 2.0, x.size) - 3.0,
    "division and powers": lambda x: (x ** 3) / (2.0 + x * x) + np.sqrt(x) ** 1.5,
    "transpose": lambda x: x.reshape(4, 6).T[1:] * np.transpose(x.reshape(4, 6))[:-1],
    "2-d rows": lambda x: (x.reshape(4, 6)[1:] * x.reshape(4, 6)[:-1]).sum(),
    "scalar element": lambda x: x[3] * x[1:] + x[0],
    "column view": lambda x: x.reshape(6, 4)[:, 1] * x.reshape(6, 4)[:, 2],
    "outer product": lambda x: x[:, None] * x[None, :],
    "padded both sides": lambda x: np.concatenate([x[:1] * 0.0, x, x[-1:] * 0.0]) ** 2,
    "concatenate with plain pad": lambda x: np.concatenate([np.zeros(2), x]) * x[0],
    "concatenate on axis 1": lambda x: np.concatenate(
        [x.reshape(4, 6)[:, :2], x.reshape(4, 6)[:, 3:] ** 2], axis=1),
    "stack": lambda x: np.stack([x[1:] * x[:-1], x[1:] + x[:-1]]),
    "mean and where": lambda x: np.where(x > 0, x, 0.5 * x) - np.mean(x ** 2),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_banded_equals_dense_and_complex_step(name, dtype):
    f = ELEMENTWISE[name]
    x = RNG.uniform(0.2, 1.5, 24).astype(dtype)
    for transform, witness in ((dj.jacobian, witness_jacobian), (dj.hessian, witness_hessian)):
        dense, banded = dense_and_banded(transform, f, x)
        assert_same(dense, banded)
        if dtype == np.float64:
            tolerance = 1e-13 if transform is dj.jacobian else 1e-6
            np.testing.assert_allclose(banded, witness(f, x), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("name", ["unary chain", "neighbours", "reversed", "strided",
                                  "constant array", "division and powers", "transpose",
                                  "padded both sides", "column view"])
def test_elementwise_code_stays_banded(name):
    x = RNG.uniform(0.2, 1.5, 24)
    assert seen_by(dj.jacobian, ELEMENTWISE[name], x)[-1] is dj.BandedJet


def test_operands_with_unlike_bases_densify():
    x = RNG.uniform(0.2, 1.5, 24)
    assert seen_by(dj.jacobian, ELEMENTWISE["outer product"], x)[-1] is dj.DualArray
    assert seen_by(dj.jacobian, lambda x: x * x[::-1], x)[-1] is dj.DualArray
    # element e needs seeds 3 and e + 1: no constant offsets
    assert seen_by(dj.jacobian, ELEMENTWISE["scalar element"], x)[-1] is dj.DualArray


def test_offsets_are_the_union_of_neighbours():
    seen = []
    x = RNG.uniform(0.2, 1.5, 30)
    with banded_from(1):
        dj.jacobian(lambda z: seen.append(stencil(z)) or seen[-1], x)
    assert seen[0].offsets == (-1, 0, 1)
    assert seen[0].n == 30


# ---------------------------------------------------------------- writes re-run f dense

def counting(f):
    calls = []

    def g(x):
        calls.append(type(x))
        return f(x)
    return g, calls


def set_first(x):
    y = x * 2.0
    y[0] = x[1] ** 3
    return y


def write_through_a_view(x):
    y = x.reshape(2, -1)          # a densified view of a banded jet: read-only
    y[0, 0] = 1.0
    return y.ravel() * x


def in_place(x):
    y = x * 1.0
    y += x[::-1]
    return y


def ufunc_out(x):
    y = x * 1.0
    np.multiply(x, x, out=y)
    return y


@pytest.mark.parametrize("f", [set_first, write_through_a_view, in_place, ufunc_out])
def test_writes_into_banded_memory_rerun_f_on_dense_jets(f):
    x = RNG.uniform(0.2, 1.5, 20)
    g, calls = counting(f)
    dense, banded = dense_and_banded(dj.jacobian, f, x)
    assert_same(dense, banded)
    with banded_from(1):
        dj.jacobian(g, x)
    assert calls == [dj.BandedJet, dj.DualArray]
    np.testing.assert_allclose(banded, witness_jacobian(f, x), rtol=1e-13, atol=1e-13)


def test_writes_into_fresh_dense_arrays_stay_in_one_sweep():
    def f(x):
        out = np.zeros_like(x)
        out[1:] = x[1:] * x[:-1]
        return out
    x = RNG.uniform(0.2, 1.5, 20)
    g, calls = counting(f)
    with banded_from(1):
        J = dj.jacobian(g, x)
    assert calls == [dj.BandedJet]
    np.testing.assert_allclose(J, witness_jacobian(f, x), rtol=1e-13, atol=1e-13)


def test_a_banded_jet_kept_after_its_transform_refuses_writes():
    kept = []
    with banded_from(1):
        dj.jacobian(lambda z: kept.append(z) or z * 1.0, np.ones(4))
    with pytest.raises(TypeError, match="densify"):
        kept[0][0] = 1.0
    assert isinstance(kept[0].densify().copy(), dj.DualArray)


def test_a_large_densification_runs_f_in_dense_seed_chunks_instead():
    """A banded dual of n elements densifies to n x (n + 1) numbers; past a limit the
    jacobian runs f again the dense way, in chunks of seeds for a large source."""
    from dualjac import _core
    x = RNG.uniform(0.2, 1.5, 200)
    W = RNG.standard_normal((3, 200))
    f = lambda z: W @ np.sin(z)            # noqa: E731 - densifies at the matmul
    g, calls = counting(f)
    previous = _core.set_densify_limit(1000)
    try:
        J = dj.jacobian(g, x)
    finally:
        _core.set_densify_limit(previous)
    # one banded attempt, one trace for structure (a dense pattern: 200 colors, no gain),
    # then 200 seeds in chunks of 64 (_sweep.CHUNK_THRESHOLD < 200)
    assert calls == [dj.BandedJet, PatternArray] + [dj.DualArray] * 4
    np.testing.assert_allclose(J, W * np.cos(x), rtol=1e-14, atol=1e-14)


# ---------------------------------------------------------------- meeting other code

def test_unconnected_results_follow_the_dense_rules():
    x = RNG.uniform(0.2, 1.5, 20)
    with banded_from(1):
        assert dj.jacobian(lambda z: dj.stop_gradient(z) * 2.0, x) is None
        assert dj.jacobian(lambda z: np.zeros_like(z), x) is None
        np.testing.assert_array_equal(
            dj.jacobian(lambda z: np.ones(3), x, unconnected_gradients="zero"), np.zeros((3, 20)))
        np.testing.assert_array_equal(dj.hessian(lambda z: np.ones(2), x), np.zeros((2, 20, 20)))


def test_nested_transforms_see_the_dense_jet():
    x = RNG.uniform(0.2, 1.5, 18)

    def g(z):
        return np.sin(z[1:]) * z[:-1]

    dense, banded = dense_and_banded(dj.jacobian, lambda z: dj.jacobian(g, z), x)
    assert_same(dense, banded)
    np.testing.assert_allclose(banded, witness_hessian(g, x).reshape(banded.shape),
                               rtol=1e-6, atol=1e-6)


def test_a_tape_inside_a_banded_sweep():
    x = RNG.uniform(0.2, 1.5, 18)

    def f(z):
        with dj.GradientTape() as tape:
            w = tape.watch(z)
            y = np.sum(w[1:] ** 2 * w[:-1])
        return tape.gradient(y, w)

    dense, banded = dense_and_banded(dj.jacobian, f, x)
    assert_same(dense, banded)


def test_conversions_are_refused_as_for_every_jet():
    seen = []
    with banded_from(1):
        dj.jacobian(lambda z: seen.append(z) or z * 1.0, np.ones(5))
    b = seen[0]
    for convert in (np.asarray, float, lambda v: v.tolist(), lambda v: v[0].item()):
        with pytest.raises(TypeError, match="silently drop"):
            convert(b)
    plain = np.zeros(5)
    with pytest.raises(TypeError, match="silently drop"):
        plain[0] = b[0]


def test_comparisons_compare_values_as_numpy_does():
    x = RNG.uniform(-1.0, 1.0, 20)
    seen = []
    with banded_from(1):
        dj.jacobian(lambda z: seen.append((z[1:] > z[:-1], z >= 0.0, z[::-1] == z,
                                           np.less(z, z ** 2), z < z * 1.0)) or z * 1.0, x)
    expected = (x[1:] > x[:-1], x >= 0.0, x[::-1] == x, np.less(x, x ** 2), x < x * 1.0)
    for got, want in zip(seen[0], expected):
        assert type(got) is np.ndarray and got.dtype == bool
        np.testing.assert_array_equal(got, want)


def test_thresholds_are_validated_and_kept():
    previous = dj.get_banded_threshold()
    for bad in (-1, 2.5, "8"):
        with pytest.raises(ValueError):
            dj.set_banded_threshold(jacobian=bad)
        with pytest.raises(ValueError):
            dj.set_banded_threshold(hessian=bad)
    assert dj.get_banded_threshold() == previous
    with banded_from(0):
        dj.set_banded_threshold(hessian=7)
        assert dj.get_banded_threshold() == (0, 7)
    assert dj.get_banded_threshold() == previous


def test_default_thresholds_band_large_sources_only():
    jacobian, hessian = dj.get_banded_threshold()
    assert seen_by_default(dj.jacobian, np.ones(jacobian)) is dj.BandedJet
    assert seen_by_default(dj.jacobian, np.ones(jacobian - 1)) is dj.DualArray
    assert seen_by_default(dj.hessian, np.ones(hessian)) is dj.BandedJet
    assert seen_by_default(dj.hessian, np.ones(hessian - 1)) is dj.HyperDualArray


def seen_by_default(transform, x):
    seen = []
    transform(lambda z: seen.append(type(z)) or z * 1.0, x)
    return seen[0]
