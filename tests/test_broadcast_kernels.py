"""Binary kernels on operands of different shapes, and sums along one axis.

The binary kernels read broadcast operands in place over a grid of rows
(src_c/_broadcast.pxi): every rules-table row, for each broadcast pattern, on duals,
hyper-duals and Hessian jets, in float32 and float64, in both operand orders, with
jets and plain constants, must give the bits of the same kernel on operands copied
out to the result's shape (np.broadcast_to(...).copy()), which is what the kernels
ran on before. np.sum / np.mean along one element axis (src_c/_axis_sums.pxi) must
give the bits of NumPy's reduction of the jet's buffer. Derivatives of code that
broadcasts are checked against complex step.
"""
import functools

import numpy as np
import pytest

import dualjac as dj
from dualjac.rules import BINARY
from guard_jets import make_jet
from test_rules_table import binary_points, params, ufunc
from witness import complex_step_jacobian, witness_hessian

DTYPES = (np.float64, np.float32)
# Jet kinds by order: dual (1), hyper-dual of a nested jacobian (2), Hessian (3).
KINDS = {"dual": "dual", "hyper-dual": "hyper-nested", "hessian": "hyper-hessian"}

# (name, shape of the broadcast operand, shape of the other one)
PATTERNS = (
    ("scalar_per_row", (5, 1), (5, 3)),
    ("row_vector", (3,), (5, 3)),
    ("column_vector", (3, 1), (3, 7)),
    ("outer", (4, 1), (1, 6)),
    ("planes", (2, 1, 3), (2, 4, 3)),
    ("every_axis", (4, 1, 1, 3), (1, 2, 5, 1)),
    ("one_element", (1, 1), (4, 3)),
    ("zero_d", (), (4, 3)),
    ("same_shape", (4, 3), (4, 3)),
)


@functools.lru_cache(maxsize=None)
def level(kind, dtype):
    """A jet whose tags and seeds the jets of one test share."""
    return make_jet(KINDS[kind], dtype)


def jet(kind, dtype, values, rng):
    """A jet of `values` at the kind's level, with random derivative components."""
    lv = level(kind, dtype)
    buf = rng.uniform(-1, 1, np.shape(values) + (lv.buf.shape[-1],)).astype(dtype)
    buf[..., 0] = values
    return lv.with_buffer(buf)


def values_of(points, shape, shift=0):
    """An array of `shape` that cycles through a row's sample points."""
    size = int(np.prod(shape))
    return np.resize(np.roll(points, shift), size).reshape(shape)


def spelled_out(operand, shape):
    """operand copied out to the broadcast element shape."""
    if isinstance(operand, (dj.DualArray, dj.HyperDualArray)):
        K = operand.buf.shape[-1]
        return operand.with_buffer(np.broadcast_to(operand.buf, shape + (K,)).copy())
    return np.broadcast_to(operand, shape).copy()


def assert_same_bits(got, want, what):
    assert got.buf.shape == want.buf.shape, what
    items = got.buf.dtype.itemsize
    as_ints = np.dtype(f"u{items}")
    np.testing.assert_array_equal(got.buf.view(as_ints), want.buf.view(as_ints), err_msg=what)


def operand_pairs(row, kind, dtype, x_shape, y_shape, rng):
    """(x, y) with x of x_shape, y of y_shape, in the row's domains: both jets, jet and
    constant, constant and jet."""
    px, py = binary_points(row, dtype)
    xv, yv = values_of(px, x_shape), values_of(py, y_shape, 3)
    x, y = jet(kind, dtype, xv, rng), jet(kind, dtype, yv, rng)
    return [("jj", x, y), ("jc", x, yv.astype(dtype)), ("cj", xv.astype(dtype), y)]


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("row", params(BINARY))
def test_every_row_over_every_pattern_has_the_bits_of_copied_operands(row, kind):
    f = ufunc(row)
    rng = np.random.default_rng(0)
    for dtype in DTYPES:
        for name, small, large in PATTERNS:
            out_shape = np.broadcast_shapes(small, large)
            for first, second in ((small, large), (large, small)):
                for variant, x, y in operand_pairs(row, kind, dtype, first, second, rng):
                    got = f(x, y)
                    want = f(spelled_out(x, out_shape), spelled_out(y, out_shape))
                    assert_same_bits(got, want, f"{row.name} {kind} {dtype.__name__} {name} "
                                                f"{first} with {second} ({variant})")


@pytest.mark.parametrize("kind", list(KINDS))
def test_python_and_numpy_scalars_broadcast_as_copied_operands(kind):
    rng = np.random.default_rng(1)
    for dtype in DTYPES:
        x = jet(kind, dtype, rng.uniform(0.5, 2.0, (4, 3)), rng)
        for c in (1.5, 2, np.float64(0.75), np.float32(1.25), np.array(3.0, dtype)):
            for f in (np.multiply, np.divide, np.power, np.arctan2):
                # Python scalars are weak (NEP 50): they take the jet's dtype; NumPy's keep theirs
                weak = type(c) in (int, float)
                full = np.full((4, 3), c, dtype if weak else np.result_type(c))
                assert_same_bits(f(x, c), f(x, full), f"{f.__name__}(x, {c!r}) {dtype.__name__}")
                assert_same_bits(f(c, x), f(full, x), f"{f.__name__}({c!r}, x) {dtype.__name__}")


@pytest.mark.parametrize("kind", list(KINDS))
def test_non_contiguous_views_are_read_in_place_with_the_same_bits(kind):
    rng = np.random.default_rng(2)
    for dtype in DTYPES:
        big = jet(kind, dtype, rng.uniform(0.5, 2.0, (8, 9)), rng)
        col = jet(kind, dtype, rng.uniform(0.5, 2.0, (8, 1)), rng)
        K = big.buf.shape[-1]
        # components not contiguous: a buffer stored component-major
        strided = big.with_buffer(np.ascontiguousarray(np.moveaxis(big.buf, -1, 0)).transpose(1, 2, 0)[:, :3])
        plain = rng.uniform(0.5, 2.0, (8, 18))[:, ::-2]
        cases = [
            (big[::2, ::-3], col[::2]),            # stepped and reversed, against a column
            (big[1::3, 2], big[::4, ::3][:, :1]),  # strided rows against a strided column
            (big[:, ::3].T, col[:, 0]),            # a transposed view against a row vector
            (strided, col),
            (big[::2], plain[::2, :1]),
            (plain[::2], col[::2]),
            (big[::-1, :1], plain),
            (big[::2, ::3], big[1::2, 1::3]),      # same shapes, neither equally spaced
            (big[:, :3].T, big[:, 6:].T),          # same shapes, transposed
            (big[::2, ::3], plain[::2, ::3]),      # a jet and a constant, neither contiguous
        ]
        for f in (np.multiply, np.subtract, np.hypot, np.logaddexp):
            for x, y in cases:
                shape = np.broadcast_shapes(np.shape(x), np.shape(y))
                for a, b in ((x, y), (y, x)):
                    assert_same_bits(f(a, b), f(spelled_out(a, shape), spelled_out(b, shape)),
                                     f"{f.__name__} {np.shape(a)} {np.shape(b)} K={K}")


def test_rows_split_between_threads_keep_the_bits():
    """Large enough to run on the thread pool in chunks that cut rows in two."""
    rng = np.random.default_rng(3)
    before = dj.get_num_threads()
    dj.set_num_threads(2)
    try:
        for kind in ("dual", "hessian"):
            x = jet(kind, np.float64, rng.uniform(0.5, 2.0, (4001, 1)), rng)
            y = jet(kind, np.float64, rng.uniform(0.5, 2.0, (4001, 3)), rng)
            r = jet(kind, np.float64, rng.uniform(0.5, 2.0, (1, 7)), rng)
            for a, b in ((x, y), (y, x), (x, r), (y[:, :1], r)):
                shape = np.broadcast_shapes(a.shape, b.shape)
                assert_same_bits(a * b, spelled_out(a, shape) * spelled_out(b, shape),
                                 f"{kind} {a.shape} * {b.shape}")
                assert_same_bits(a / b.value, spelled_out(a, shape) / spelled_out(b.value, shape),
                                 f"{kind} {a.shape} / constant {b.shape}")
    finally:
        dj.set_num_threads(before)


def test_shapes_that_do_not_broadcast_raise_numpys_error():
    rng = np.random.default_rng(4)
    x = jet("dual", np.float64, np.ones((3, 2)), rng)
    y = jet("dual", np.float64, np.ones((4, 1)), rng)
    with pytest.raises(ValueError, match="could not be broadcast|cannot be broadcast"):
        x * y
    with pytest.raises(ValueError, match="could not be broadcast|cannot be broadcast"):
        np.ones((4, 1, 5)) * x


def test_empty_results_have_the_broadcast_shape():
    rng = np.random.default_rng(5)
    x = jet("hessian", np.float64, np.ones((0, 1)), rng)
    y = jet("hessian", np.float64, np.ones((1, 3)), rng)
    assert (x * y).shape == (0, 3)
    assert (np.ones((2, 0, 1)) + y).shape == (2, 0, 3)


# ------------------------------------------------------------------ derivatives

T = np.linspace(-2.0, 2.0, 40)


def peaks(p, t=T):
    """A sum of Gaussian peaks: amplitude, centre and width per row of p, each a
    column (k, 1) against the data row (1, n)."""
    amplitude, centre, width = p[:, 0:1], p[:, 1:2], p[:, 2:3]
    return np.sum(amplitude * np.exp(-((t[None, :] - centre) / width) ** 2), axis=0)


def row_normalized(x):
    """Each row divided by its squared norm: (b, 1) against (b, 3)."""
    return x / np.sum(x * x, axis=-1, keepdims=True) + np.mean(x, axis=-1, keepdims=True) * x[0]


P0 = np.array([[1.0, -0.5, 0.7], [0.6, 0.8, 0.4]])
X0 = np.array([[0.3, -0.8, 0.5], [1.1, 0.2, -0.4], [0.6, 0.9, 0.7], [-0.5, 0.4, 1.2]])


@pytest.mark.jet_kinds("default", "banded", "deferred")
@pytest.mark.parametrize("f, x0", [(peaks, P0), (row_normalized, X0)], ids=["peaks", "row_normalized"])
def test_jacobian_and_hessian_of_broadcasting_code_against_complex_step(f, x0):
    np.testing.assert_allclose(dj.jacobian(f, x0), complex_step_jacobian(f, x0),
                               rtol=1e-12, atol=1e-12)
    g = lambda x: np.sum(np.sin(f(x)))     # noqa: E731
    np.testing.assert_allclose(dj.hessian(g, x0), witness_hessian(g, x0)[()],
                               rtol=1e-6, atol=1e-6)


def per_row(x):
    """Row functions that broadcast a per-row scalar and a row vector against the row."""
    scale = np.exp(-np.sum(x * x, axis=-1, keepdims=True))
    w = np.array([0.5, -1.0, 2.0])
    return x * scale + w * np.mean(x, axis=-1, keepdims=True) ** 2


@pytest.mark.jet_kinds("default", "banded", "deferred")
@pytest.mark.parametrize("rows", [4, 700])
def test_batch_transforms_of_per_row_broadcasting_against_complex_step(rows):
    x = np.random.default_rng(6).uniform(-1, 1, (rows, 3))
    J = dj.batch_jacobian(per_row, x)
    H = dj.batch_hessian(lambda z: np.sum(per_row(z), axis=-1), x)
    for i in (0, rows - 1):
        one = lambda r: per_row(r[None])[0]       # noqa: E731
        np.testing.assert_allclose(J[i], complex_step_jacobian(one, x[i]), rtol=1e-12, atol=1e-12)
        total = lambda r: np.sum(one(r))          # noqa: E731
        np.testing.assert_allclose(H[i], witness_hessian(total, x[i]), rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------ sums along an axis

SUM_SHAPES = ((1000, 3), (3, 1000), (2, 5, 7), (10, 1), (1, 3), (5, 0), (0, 3), (4,), (60, 20))


@pytest.mark.parametrize("kind", list(KINDS))
def test_sum_and_mean_along_one_axis_have_the_bits_of_numpy_on_the_buffer(kind):
    """Wide-ranging values and zeros of either sign: any change of order or of the
    starting value would show."""
    rng = np.random.default_rng(7)
    for dtype in DTYPES:
        for shape in SUM_SHAPES:
            x = jet(kind, dtype, np.zeros(shape), rng)
            x.buf[...] = rng.standard_normal(x.buf.shape) * np.exp(rng.uniform(-20, 20, x.buf.shape))
            x.buf[rng.random(x.buf.shape) < 0.1] = -0.0
            for axis in [*range(len(shape)), -1]:
                for keepdims in (False, True):
                    for f in (np.sum, np.mean):
                        if f is np.mean and shape[axis] == 0:
                            continue        # NumPy's warning and NaN: its own path
                        got = f(x, axis=axis, keepdims=keepdims)
                        want = x.with_buffer(f(x.buf, axis=axis % len(shape), keepdims=keepdims))
                        assert_same_bits(got, want, f"{f.__name__} {kind} {dtype.__name__} "
                                                    f"{shape} axis={axis} keepdims={keepdims}")


@pytest.mark.jet_kinds("default", "banded", "deferred")
def test_derivatives_of_sums_along_an_axis_against_complex_step():
    f = lambda x: np.mean(np.sin(x), axis=0) * np.sum(x ** 3, axis=-1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(dj.jacobian(f, X0), complex_step_jacobian(f, X0),
                               rtol=1e-12, atol=1e-12)
    g = lambda x: np.sum(f(x))                    # noqa: E731
    np.testing.assert_allclose(dj.hessian(g, X0), witness_hessian(g, X0), rtol=1e-6, atol=1e-6)
