"""NumPy's view and alias semantics for every jet kind: a write through any view
or alias (slice, reshape, transpose, `out=`, an in-place operator on a name bound
elsewhere or passed to a function) is seen by every other view of that memory,
with its derivatives and its connectivity. Sizes cover dense jets, banded jets
(dj.jacobian >= 64 elements, dj.hessian >= 12) and deferred jets (batch
transforms >= 1024 elements). Witnesses: analytic Jacobians and complex step."""

import operator

import numpy as np
import pytest

import dualjac as dj
from witness import complex_step_jacobian


def method_of_lines_slices(y):
    h = len(y) // 2
    dydt = np.zeros_like(y)
    du, dv = dydt[:h], dydt[h:]
    du[:] = -y[:h] * y[h:]
    dv[:] = y[:h] ** 2
    return dydt


def method_of_lines_reshape(y):
    h = len(y) // 2
    dydt = np.zeros_like(y)
    du, dv = dydt.reshape(2, -1)
    du[:] = -y[:h] * y[h:]
    dv[:] = y[:h] ** 2
    return dydt


def method_of_lines_split(y):
    dydt = np.zeros_like(y)
    du, dv = np.split(dydt, 2)      # views, as NumPy's pieces are
    u, v = np.split(y, 2)
    du += -u * v
    dv[...] = u ** 2
    return dydt


def method_of_lines_array_split(y):
    dydt = np.empty_like(y)
    du, dv = np.array_split(dydt, [len(y) // 2])
    u, v = np.hsplit(y, 2)
    np.multiply(-u, v, out=du)
    dv[:] = u ** 2
    return dydt


def method_of_lines_jacobian(y):
    h = len(y) // 2
    u, v = y[:h], y[h:]
    J = np.zeros((len(y), len(y)))
    J[np.arange(h), np.arange(h)] = -v
    J[np.arange(h), h + np.arange(h)] = -u
    J[h + np.arange(h), np.arange(h)] = 2 * u
    return J


METHOD_OF_LINES = [method_of_lines_slices, method_of_lines_reshape, method_of_lines_split,
                   method_of_lines_array_split]


@pytest.mark.parametrize("n", [6, 100, 400])
@pytest.mark.parametrize("rhs", METHOD_OF_LINES)
def test_views_of_an_output_filled_in_place(rhs, n):
    y = np.linspace(0.5, 1.5, n)
    np.testing.assert_allclose(dj.jacobian(rhs, y), method_of_lines_jacobian(y), rtol=1e-15)
    value, J = dj.value_and_jacobian(rhs, y)
    np.testing.assert_allclose(J, method_of_lines_jacobian(y), rtol=1e-15)
    np.testing.assert_allclose(value, rhs(y), rtol=1e-15)


@pytest.mark.parametrize("rhs", METHOD_OF_LINES)
def test_views_of_an_output_filled_in_place_sparse(rhs):
    """The sparsity tracer follows the same views: pattern and colored Jacobian."""
    y = np.linspace(0.5, 1.5, 100)
    want = method_of_lines_jacobian(y)
    np.testing.assert_array_equal(dj.jacobian_sparsity(rhs, y).toarray(), want != 0)
    np.testing.assert_allclose(dj.sparse_jacobian(rhs, y).toarray(), want, rtol=1e-15)


def einsum_views(x):
    """np.einsum of one operand without a sum is a view in NumPy: the diagonal, the
    transpose. A[i, i] = x_i ** 2, then A[j, 0] += sin(x_j) through the transpose."""
    A = np.zeros(x.shape + x.shape[-1:], like=x)
    np.einsum("...ii->...i", A)[...] = x * x
    np.einsum("...ij->...ji", A)[..., 0, :] += np.sin(x)
    return A


@pytest.mark.parametrize("n", [3, 70])
def test_writes_through_einsum_views(n):
    x = np.linspace(0.3, 1.2, n)
    value, J = dj.value_and_jacobian(einsum_views, x)
    np.testing.assert_allclose(value, einsum_views(x), rtol=1e-15)
    want = np.zeros((n, n, n))
    want[np.arange(n), np.arange(n), np.arange(n)] = 2 * x
    want[np.arange(n), 0, np.arange(n)] += np.cos(x)
    np.testing.assert_allclose(J, want, rtol=1e-15)
    flat = lambda z: einsum_views(z).ravel()   # noqa: E731
    np.testing.assert_allclose(dj.sparse_jacobian(flat, x).toarray(), want.reshape(n * n, n),
                               rtol=1e-15)


@pytest.mark.parametrize("rows", [4, 2000])
def test_writes_through_split_and_einsum_views_batch(rows):
    def f(x):
        out = einsum_views(x)
        first, rest = np.split(out, [1], axis=1)
        first *= 2.0
        return out
    x = np.random.default_rng(5).uniform(-1, 1, (rows, 3))
    want = np.zeros((rows, 3, 3, 3))
    r = np.arange(rows)
    for i in range(3):
        want[r, i, i, i] = 2 * x[:, i]
        want[r, i, 0, i] += np.cos(x[:, i])
    want[:, 0] *= 2.0
    np.testing.assert_allclose(dj.batch_jacobian(f, x), want, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("n", [5, 100])
def test_in_place_update_through_a_view_connects_the_base(n):
    def f(z):
        out = np.zeros_like(z)
        tail = out[1:]
        tail += z[:-1] ** 2
        return out

    z = np.linspace(1.0, 2.0, n)
    expected = np.zeros((n, n))
    expected[np.arange(1, n), np.arange(n - 1)] = 2 * z[:-1]
    np.testing.assert_allclose(dj.jacobian(f, z), expected, rtol=1e-15)


def accumulate(buffer, value):
    buffer += value


def squares_through_a_function(z):
    out = np.zeros_like(z)
    accumulate(out, z ** 2)
    return out


@pytest.mark.parametrize("n", [5, 64, 130])
def test_in_place_operator_on_an_argument_jacobian(n):
    z = np.linspace(1.0, 2.0, n)
    np.testing.assert_allclose(dj.jacobian(squares_through_a_function, z), np.diag(2 * z),
                               rtol=1e-15)


@pytest.mark.parametrize("n", [4, 12, 20])
def test_in_place_operator_on_an_argument_hessian(n):
    z = np.linspace(1.0, 2.0, n)
    H = dj.hessian(lambda v: np.sum(squares_through_a_function(v) ** 2), z)
    np.testing.assert_allclose(H, np.diag(12 * z ** 2), rtol=1e-14)


@pytest.mark.parametrize("rows", [4, 400, 5000])
def test_in_place_operator_on_an_argument_batch(rows):
    x = np.random.default_rng(0).random((rows, 3)) + 1.0
    expected = np.einsum("bi,ij->bij", 2 * x, np.eye(3))
    np.testing.assert_allclose(dj.batch_jacobian(squares_through_a_function, x), expected,
                               rtol=1e-15)
    H = dj.batch_hessian(lambda v: np.sum(squares_through_a_function(v), axis=-1), x)
    np.testing.assert_allclose(H, np.broadcast_to(2 * np.eye(3), (rows, 3, 3)), rtol=1e-15)


@pytest.mark.parametrize("n", [5, 100])
def test_in_place_on_a_view_after_a_full_copy(n):
    def f(y):
        out = np.zeros_like(y)
        out[:] = y
        tail = out[1:]
        tail += 2 * y[1:]
        return out

    y = np.linspace(1.0, 2.0, n)
    expected = np.diag(np.r_[1.0, 3.0 * np.ones(n - 1)])
    np.testing.assert_allclose(dj.jacobian(f, y), expected, rtol=1e-15)
    np.testing.assert_allclose(dj.value_and_jacobian(f, y)[1], expected, rtol=1e-15)


@pytest.mark.parametrize("n", [4, 80])
def test_a_view_taken_before_a_write_sees_it(n):
    def f(z):
        out = np.zeros_like(z)
        flat = out.reshape(-1)         # taken before any write
        columns = out.T
        out[::2] = np.sin(z[::2])
        columns[1::2] = np.exp(z[1::2])
        return flat

    z = np.linspace(0.1, 1.0, n)
    witness = complex_step_jacobian(f, z)
    np.testing.assert_allclose(dj.jacobian(f, z), witness, rtol=1e-14)


def test_out_argument_into_a_view():
    def f(z):
        out = np.zeros((2, z.size), z.dtype, like=z)
        np.multiply(z, z, out=out[1])
        np.sin(z, out=out[0])
        return out

    z = np.linspace(0.1, 1.0, 5)
    np.testing.assert_allclose(dj.jacobian(f, z), complex_step_jacobian(f, z), rtol=1e-14)


def test_connectivity_belongs_to_the_memory():
    """An array written through one view is connected as a whole, as a TF tensor
    built by concatenation is: a slice of the untouched part has derivative zero,
    not None."""
    def f(z):
        out = np.zeros_like(z)
        out[1:] = z[1:]
        return out[:1]

    np.testing.assert_array_equal(dj.jacobian(f, np.ones(3)), np.zeros((1, 3)))
    assert dj.jacobian(lambda z: np.zeros_like(z)[:1], np.ones(3)) is None


def test_read_only_views_refuse_writes_as_numpy_does():
    def write_into(view_of):
        def f(z):
            view_of(z)[...] = 1.0
            return z
        return f

    for view_of in (lambda z: np.broadcast_to(z, (2, 3)), lambda z: np.diagonal(z.reshape(1, 3)),
                    lambda z: z.imag, np.imag):
        with pytest.raises(ValueError, match="read-only"):
            view_of(np.ones(3))[...] = 1.0
        with pytest.raises(ValueError, match="read-only"):
            dj.jacobian(write_into(view_of), np.ones(3))


def test_in_place_operator_never_rebinds():
    class Foreign:
        def __radd__(self, other):
            return "rebound"

    def f(z):
        out = np.zeros_like(z)
        out += Foreign()
        return out

    with pytest.raises(TypeError, match="in place|cannot combine"):
        dj.jacobian(f, np.ones(3))


def test_storing_an_outer_value_into_a_view_raises():
    """A write that needs a wider buffer (seeds of an outer transform) cannot
    reach the other views of the memory: refused, never dropped."""
    def inner(x, p):
        out = np.zeros_like(x)
        out[0] = p[0] * x[0]           # no views: the array grows in place
        return out

    def inner_through_a_view(x, p):
        out = np.zeros_like(x)
        head = out[:1]
        head[...] = p[0] * x[:1]
        return out

    x0, p0 = np.array([2.0, 3.0]), np.array([5.0])
    nested = dj.jacobian(lambda p: dj.jacobian(lambda x: inner(x, p), x0), p0)
    np.testing.assert_allclose(nested[0, 0], [1.0])
    with pytest.raises(ValueError, match="shares its memory"):
        dj.jacobian(lambda p: dj.jacobian(lambda x: inner_through_a_view(x, p), x0), p0)


@pytest.mark.parametrize("n", [4, 70])
def test_every_in_place_operator_updates_the_memory(n):
    def f(z):
        out = np.zeros_like(z) + 3.0
        alias = out
        alias += z
        alias -= 0.5 * z
        alias *= z
        alias /= 2.0 + z
        alias **= 2
        alias %= 7.0                 # values below 7 here: the identity
        steps = np.zeros_like(z) + z
        alias = steps
        alias //= 0.25               # a step: derivative 0
        return out + steps

    z = np.linspace(0.1, 1.0, n)
    witness = complex_step_jacobian(lambda v: ((3.0 + v - 0.5 * v) * v / (2.0 + v)) ** 2, z)
    np.testing.assert_allclose(dj.jacobian(f, z), witness, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(dj.value_and_jacobian(f, z)[0], f(z))


def test_in_place_matmul_updates_the_memory():
    W = np.array([[1.0, 2.0], [3.0, 4.0]])

    def f(z):
        out = np.zeros((2, 2), like=z) + z
        alias = out
        alias @= W
        return out

    z = np.array([0.5, 2.0])
    np.testing.assert_allclose(dj.jacobian(f, z), complex_step_jacobian(lambda v: (np.zeros((2, 2)) + v) @ W, z),
                               rtol=1e-15)


@pytest.mark.parametrize("n", [1, 3])
def test_broadcast_views_as_operands(n):
    """A broadcast view repeats its elements with stride 0; the kernels read a
    stride of 0 as "one operand for all", so such a view must be read as the array
    it stands for, in every operand position and derivative order."""
    def f(x):
        wide = np.broadcast_to(x, (2, n))
        return np.sum(wide * x[0]) + np.sum(x[0] * wide) + np.sum(1.5 + wide)

    x = np.linspace(0.3, 0.9, n)
    witness = complex_step_jacobian(f, x)
    np.testing.assert_allclose(dj.jacobian(f, x), witness, rtol=1e-14)
    expected_hessian = np.zeros((n, n))
    expected_hessian[0] += 4.0
    expected_hessian[:, 0] += 4.0
    np.testing.assert_allclose(dj.hessian(f, x), expected_hessian, rtol=1e-14)

    def per_row(z):        # 2 z0 sum(z) for each row
        wide = np.broadcast_to(z[:, None, :], (len(z), 2, n))
        return np.sum(wide * z[:, None, :1], axis=(1, 2))

    rows = np.tile(x, (3, 1))
    np.testing.assert_allclose(dj.batch_hessian(per_row, rows),
                               np.broadcast_to(expected_hessian / 2, (3, n, n)), rtol=1e-14)


C = 1.25
# op -> (value of `view op= C`, d/dz of (view op= C) * z), with view = z
IN_PLACE = {
    "+=": (operator.iadd, lambda z: 2 * z + C),
    "-=": (operator.isub, lambda z: 2 * z - C),
    "*=": (operator.imul, lambda z: 2 * C * z),
    "/=": (operator.itruediv, lambda z: 2 * z / C),
    "**=": (operator.ipow, lambda z: (C + 1) * z ** C),
    "//=": (operator.ifloordiv, lambda z: np.floor(z / C)),        # a step: 0 * z
    "%=": (operator.imod, lambda z: np.mod(z, C) + z),             # d(z mod C) = dz
}


@pytest.mark.parametrize("op", list(IN_PLACE))
@pytest.mark.parametrize("n", [4, 80])   # 80: f runs on banded jets first (64 and more)
def test_in_place_operators_through_a_view_of_a_computed_array(op, n):
    """`view op= C` on a view of an array f computed (a banded jet, at n = 80) updates
    the array: it never rebinds the name to a new array, leaving the array as it was."""
    update, derivative = IN_PLACE[op]

    def f(z):
        out = z * 1.0
        view = out[:]
        update(view, C)
        return out * z

    x = np.linspace(1.6, 2.4, n)          # away from the steps of // and %
    np.testing.assert_allclose(dj.jacobian(f, x), np.diag(derivative(x)), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(dj.value_and_jacobian(f, x)[0], f(x), rtol=1e-15)


def windows_before_a_write(x):
    """sliding_window_view is NumPy's read-only view: windows taken before a write into
    their array show it."""
    out = np.zeros_like(x)
    windows = np.lib.stride_tricks.sliding_window_view(out, 3, axis=-1)
    out[...] = np.sin(x)
    return windows * 1.0


def windows_jacobian(x):
    """d windows[..., i, k] / d x[..., j] = cos(x_j) where j = i + k."""
    n = x.shape[-1]
    i, k, j = np.meshgrid(np.arange(n - 2), np.arange(3), np.arange(n), indexing="ij")
    return np.where(j == i + k, np.cos(x)[..., None, None, :], 0.0)


@pytest.mark.parametrize("n", [6, 80])
def test_sliding_windows_see_a_later_write(n):
    x = np.linspace(0.5, 1.5, n)
    value, J = dj.value_and_jacobian(windows_before_a_write, x)
    np.testing.assert_allclose(value, np.lib.stride_tricks.sliding_window_view(np.sin(x), 3),
                               rtol=1e-15)
    np.testing.assert_allclose(J, windows_jacobian(x), rtol=1e-15)
    pattern = dj.jacobian_sparsity(windows_before_a_write, x).toarray()
    np.testing.assert_array_equal(pattern, windows_jacobian(x).reshape(-1, n) != 0)
    g = lambda z: np.sum(windows_before_a_write(z) ** 2)   # noqa: E731
    np.testing.assert_allclose(np.diag(dj.hessian(g, x)),
                               2 * np.array([1, 2, 3] + [3] * (n - 6) + [3, 2, 1])
                               * np.cos(2 * x), rtol=1e-13)


def test_sliding_windows_see_a_later_write_batch():
    x = np.random.default_rng(4).uniform(0.5, 1.5, (600, 6))
    np.testing.assert_allclose(dj.batch_jacobian(windows_before_a_write, x),
                               windows_jacobian(x), rtol=1e-15)


def test_sliding_windows_refuse_writes_in_the_tracer():
    def f(x):
        out = x * 1.0
        np.lib.stride_tricks.sliding_window_view(out, 2)[...] = 0.0
        return out
    with pytest.raises(ValueError, match="read-only"):
        dj.jacobian_sparsity(f, np.ones(5))


def test_astype_without_a_copy_is_the_array_in_the_tracer():
    def f(x):
        out = np.zeros_like(x)
        same = out.astype(out.dtype, copy=False)     # NumPy: out itself
        same[...] = np.sin(x)
        return out
    x = np.linspace(0.5, 1.5, 80)
    np.testing.assert_array_equal(dj.jacobian_sparsity(f, x).toarray(), np.eye(80, dtype=bool))
    np.testing.assert_allclose(dj.sparse_jacobian(f, x).toarray(), np.diag(np.cos(x)))
