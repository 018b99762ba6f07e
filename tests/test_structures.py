"""Structures of sources (list / tuple / dict nestings of arrays) for every transform,
and several tangent directions at once (jvp / hvp with batched=True).

The witness of a structure's derivatives is the flattened concatenation: f on one
vector z holding every leaf, differentiated by complex step (tests/witness.py); each
block of dualjac's result must be the matching block of that witness.
"""

import numpy as np
import pytest

import dualjac as dj
from witness import witness_hessian, witness_jacobian

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "banded", "deferred")

RNG = np.random.default_rng(19)
A = RNG.uniform(0.2, 0.9, (2,))
B = RNG.uniform(0.2, 0.9, (2, 3))
C = np.array(0.7)


def structure():
    """A nesting with a dict, a tuple and a list, leaves of ranks 0, 1 and 2."""
    return {"a": A.copy(), "rest": (B.copy(), [C.copy()])}


def leaves_of(s):
    """Leaves in dualjac's (and TF's) order: dict keys sorted, then positions."""
    return [s["a"], s["rest"][0], s["rest"][1][0]]


SHAPES = [A.shape, B.shape, C.shape]
SIZES = [int(np.prod(shape)) for shape in SHAPES]
OFFSETS = np.cumsum([0] + SIZES)


def from_flat(z):
    """The structure whose leaves are the consecutive blocks of z."""
    parts = [z[OFFSETS[i]:OFFSETS[i + 1]].reshape(SHAPES[i]) for i in range(3)]
    return {"a": parts[0], "rest": (parts[1], [parts[2]])}


def flat(s):
    return np.concatenate([np.ravel(leaf) for leaf in leaves_of(s)])


def vector_f(s):
    """(3,) output mixing every leaf (analytic: complex step applies)."""
    a, b, c = s["a"], s["rest"][0], s["rest"][1][0]
    return np.stack([np.sum(np.sin(b) * a[:, None]) * c,
                     np.exp(a[0] * b[1, 2]) + c * c * a[1],
                     np.sum(b * b) / (1 + c * a[0])])


def scalar_f(s):
    return np.sum(vector_f(s) * np.array([1.0, -0.5, 2.0]))


def block(H, i, j, lead=()):
    """Block (i, j) of a Hessian witness over the flattened leaves."""
    rows, cols = slice(OFFSETS[i], OFFSETS[i + 1]), slice(OFFSETS[j], OFFSETS[j + 1])
    return H[..., rows, cols].reshape(lead + SHAPES[i] + SHAPES[j])


def blocks_of(result):
    """dualjac's nested Hessian result as a 3 x 3 list of blocks, in leaf order."""
    return [leaves_of(row) for row in leaves_of(result)]


# ---------------------------------------------------------------- hessian of a structure

@pytest.mark.parametrize("f", [scalar_f, vector_f], ids=["scalar", "vector"])
def test_hessian_of_a_structure_is_the_blocks_of_the_flattened_hessian(f):
    H = dj.hessian(f, structure())
    assert set(H) == {"a", "rest"} and set(H["a"]) == {"a", "rest"}
    assert isinstance(H["rest"], tuple) and isinstance(H["rest"][1], list)
    witness = witness_hessian(lambda z: f(from_flat(z)), flat(structure()))
    lead = np.shape(f(structure()))
    got = blocks_of(H)
    for i in range(3):
        for j in range(3):
            assert got[i][j].shape == lead + SHAPES[i] + SHAPES[j]
            np.testing.assert_allclose(got[i][j], block(witness, i, j, lead), rtol=1e-6, atol=1e-8)


def test_hessian_of_a_tuple_is_a_tuple_of_tuples_as_in_jax():
    """f(x, y) = x^2 y^3 summed: the analytic blocks."""
    x, y = np.array([1.5, -0.5]), np.array([0.8, 2.0])
    H = dj.hessian(lambda t: np.sum(t[0] ** 2 * t[1] ** 3), (x, y))
    assert isinstance(H, tuple) and all(isinstance(row, tuple) for row in H)
    np.testing.assert_allclose(H[0][0], np.diag(2 * y ** 3))
    np.testing.assert_allclose(H[0][1], np.diag(6 * x * y ** 2))
    np.testing.assert_allclose(H[1][0], np.diag(6 * x * y ** 2))
    np.testing.assert_allclose(H[1][1], np.diag(6 * x ** 2 * y))


def test_a_list_of_numbers_is_a_structure_of_scalars():
    """As in dj.jacobian and JAX: a list is a structure; each block is 0-d."""
    H = dj.hessian(lambda s: s[0] ** 2 * s[1], [2.0, 3.0])
    np.testing.assert_allclose(np.array(H, dtype=float), [[6.0, 4.0], [4.0, 0.0]])
    assert np.shape(H[0][1]) == ()


def test_value_gradient_hessian_of_a_structure():
    value, g, H = dj.value_gradient_hessian(scalar_f, structure())
    z = flat(structure())
    np.testing.assert_allclose(value, scalar_f(structure()), rtol=1e-14)
    gradient = witness_jacobian(lambda w: scalar_f(from_flat(w)), z)
    for i, leaf in enumerate(leaves_of(g)):
        assert leaf.shape == SHAPES[i]
        np.testing.assert_allclose(leaf, gradient[OFFSETS[i]:OFFSETS[i + 1]].reshape(SHAPES[i]),
                                   rtol=1e-12)
    witness = witness_hessian(lambda w: scalar_f(from_flat(w)), z)
    for i, row in enumerate(blocks_of(H)):
        for j, got in enumerate(row):
            np.testing.assert_allclose(got, block(witness, i, j), rtol=1e-6, atol=1e-8)


def test_hessian_blocks_of_mixed_dtypes_follow_numpy_promotion():
    x32, x64 = np.array([0.5, 1.5], np.float32), np.array([2.0])
    H = dj.hessian(lambda s: np.sum(s["p"] ** 2) * s["q"][0] ** 2, {"p": x32, "q": x64})
    assert H["p"]["p"].dtype == np.float32
    assert H["p"]["q"].dtype == H["q"]["q"].dtype == np.float64
    np.testing.assert_allclose(H["p"]["q"], (4 * x32 * x64[0])[:, None], rtol=1e-6)
    np.testing.assert_allclose(H["p"]["p"], np.diag([2 * 4.0] * 2), rtol=1e-6)


def test_unconnected_leaves_of_second_order_transforms_are_zeros():
    """As dj.hessian of one array (and jax.hessian): zeros, never None."""
    s = {"used": np.array([1.0, 2.0]), "unused": np.array([3.0])}
    H = dj.hessian(lambda d: np.sum(d["used"] ** 3), s)
    np.testing.assert_array_equal(H["unused"]["unused"], np.zeros((1, 1)))
    np.testing.assert_array_equal(H["used"]["unused"], np.zeros((2, 1)))
    np.testing.assert_allclose(H["used"]["used"], np.diag(6 * s["used"]))
    products = dj.hvp(lambda d: np.sum(d["used"] ** 3), s,
                      {"used": np.ones(2), "unused": np.ones(1)})
    np.testing.assert_array_equal(products["unused"], [0.0])
    constant = dj.hessian(lambda d: np.float64(1.0), s)
    assert constant["used"]["unused"].shape == (2, 1) and not np.any(constant["used"]["used"])


# ---------------------------------------------------------------- hvp

def test_hvp_of_a_structure_is_the_flattened_hessian_times_the_flattened_direction():
    v = {"a": np.array([1.0, -2.0]), "rest": (RNG.standard_normal((2, 3)), [np.array(0.5)])}
    got = dj.hvp(scalar_f, structure(), v)
    witness = witness_hessian(lambda z: scalar_f(from_flat(z)), flat(structure())) @ flat(v)
    for i, leaf in enumerate(leaves_of(got)):
        np.testing.assert_allclose(leaf, witness[OFFSETS[i]:OFFSETS[i + 1]].reshape(SHAPES[i]),
                                   rtol=1e-6, atol=1e-8)


def quartic(x):
    """sum(x^4) / 4 + x . W x / 2 + sum(sin x): H = diag(3 x^2) + (W + W^T) / 2 - diag(sin x)."""
    return np.sum(x ** 4) / 4 + x @ W @ x / 2 + np.sum(np.sin(x))


W = RNG.standard_normal((4, 4))


def quartic_hessian(x):
    return np.diag(3 * x ** 2 - np.sin(x)) + (W + W.T) / 2


def test_hvp_with_k_directions_is_the_analytic_hessian_times_each():
    x, V = RNG.standard_normal(4), RNG.standard_normal((3, 4))
    got = dj.hvp(quartic, x, V, batched=True)
    assert got.shape == (3, 4)
    np.testing.assert_allclose(got, V @ quartic_hessian(x).T, rtol=1e-12)
    np.testing.assert_allclose(dj.hvp(quartic, x, V[1]), quartic_hessian(x) @ V[1], rtol=1e-12)


def test_hvp_with_k_directions_of_a_structure():
    k = 3
    V = {"a": RNG.standard_normal((k, 2)),
         "rest": (RNG.standard_normal((k, 2, 3)), [RNG.standard_normal(k)])}
    got = dj.hvp(scalar_f, structure(), V, batched=True)
    witness = witness_hessian(lambda z: scalar_f(from_flat(z)), flat(structure()))
    directions = np.concatenate([np.reshape(leaf, (k, -1)) for leaf in leaves_of(V)], axis=1)
    expected = directions @ witness.T
    for i, leaf in enumerate(leaves_of(got)):
        assert leaf.shape == (k,) + SHAPES[i]
        np.testing.assert_allclose(leaf, expected[:, OFFSETS[i]:OFFSETS[i + 1]].reshape((k,) + SHAPES[i]),
                                   rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------- jvp with k directions

def counting(f):
    def counted(x):
        counted.calls += 1
        return f(x)
    counted.calls = 0
    return counted


def row_mix(x):
    return np.sin(x) * x[::-1] + np.cumsum(x) ** 2


def test_jvp_with_k_directions_is_j_times_each_direction_in_one_sweep():
    x, V = RNG.standard_normal(5), RNG.standard_normal((3, 5))
    f = counting(row_mix)
    value, JV = dj.jvp(f, x, V, batched=True)
    assert f.calls == 1
    np.testing.assert_allclose(value, row_mix(x), rtol=1e-15)
    assert JV.shape == (3, 5)
    np.testing.assert_allclose(JV, V @ witness_jacobian(row_mix, x).T, rtol=1e-12)


def test_jvp_with_k_directions_of_a_structure_and_a_matrix_output():
    k = 4
    V = {"a": RNG.standard_normal((k, 2)),
         "rest": (RNG.standard_normal((k, 2, 3)), [RNG.standard_normal(k)])}

    def f(s):
        return np.outer(vector_f(s), s["a"])          # (3, 2)

    value, JV = dj.jvp(f, structure(), V, batched=True)
    J = witness_jacobian(lambda z: f(from_flat(z)), flat(structure()))     # (3, 2, n)
    directions = np.concatenate([np.reshape(leaf, (k, -1)) for leaf in leaves_of(V)], axis=1)
    assert JV.shape == (k, 3, 2)
    np.testing.assert_allclose(JV, np.einsum("ijn,kn->kij", J, directions), rtol=1e-12)


def test_second_order_of_jvp_with_k_directions():
    """d/dx (J(x) V) = the Hessian contracted with each direction (analytic)."""
    x, V = RNG.standard_normal(4), RNG.standard_normal((2, 4))
    nested = dj.jacobian(lambda z: dj.jvp(quartic, z, V, batched=True)[1], x)
    np.testing.assert_allclose(nested, V @ quartic_hessian(x).T, rtol=1e-12)


def test_unconnected_jvp_with_k_directions_is_zeros():
    x = np.array([1.0, 2.0])
    value, JV = dj.jvp(lambda z: np.ones(3), x, np.ones((5, 2)), batched=True)
    np.testing.assert_array_equal(JV, np.zeros((5, 3)))


# ---------------------------------------------------------------- batch transforms of a structure

BATCH = 4
P = RNG.uniform(0.2, 0.9, (BATCH, 2))
Q = RNG.uniform(0.2, 0.9, (BATCH, 3, 2))


def rows_f(s):
    """[b, 2] -> [b, 2]: row i depends on row i of both leaves only."""
    p, q = s["p"], s["q"]
    return np.sin(p[:, :1] * q[:, 0, :]) + q[:, 1, :] ** 2 * p + np.exp(q[:, 2, :])


def row_witness(f, s, i):
    """Per-row Jacobians of row i from complex step on that row's flattened leaves."""
    def of_row(z):
        p = z[:2].reshape(1, 2)
        q = z[2:].reshape(1, 3, 2)
        return f({"p": p, "q": q})[0]
    return of_row, np.concatenate([s["p"][i], s["q"][i].ravel()])


@pytest.mark.parametrize("options", [{}, {"parallel_iterations": 3}, {"rows_per_chunk": 3},
                                     {"workers": 2}], ids=["one_sweep", "chunked_seeds",
                                                            "row_blocks", "workers"])
def test_batch_jacobian_of_a_structure_is_each_rows_jacobian(options):
    s = {"p": P.copy(), "q": Q.copy()}
    J = dj.batch_jacobian(rows_f, s, **options)
    assert J["p"].shape == (BATCH, 2, 2) and J["q"].shape == (BATCH, 2, 3, 2)
    for i in range(BATCH):
        of_row, z = row_witness(rows_f, s, i)
        witness = witness_jacobian(of_row, z)
        np.testing.assert_allclose(J["p"][i], witness[:, :2], rtol=1e-12)
        np.testing.assert_allclose(J["q"][i], witness[:, 2:].reshape(2, 3, 2), rtol=1e-12)


def test_second_order_of_batch_jacobian_of_a_structure():
    """A structure of jets (inside dj.jacobian): d/dp of batch_jacobian wrt q, against
    central differences of its complex-step witness."""
    def inner(p):
        return dj.batch_jacobian(rows_f, {"p": p, "q": Q.copy()})["q"]

    def witness_inner(p):
        return np.stack([witness_jacobian(lambda z: rows_f({"p": p[i:i + 1], "q": z.reshape(1, 3, 2)})[0],
                                          Q[i].ravel()).reshape(2, 3, 2) for i in range(BATCH)])

    nested = dj.jacobian(inner, P.copy())
    h = 1e-6
    witness = np.zeros(nested.shape)
    for index in np.ndindex(P.shape):
        step = np.zeros(P.shape)
        step[index] = h
        witness[(Ellipsis,) + index] = (witness_inner(P + step) - witness_inner(P - step)) / (2 * h)
    np.testing.assert_allclose(nested, witness, rtol=1e-6, atol=1e-8)


def test_batch_jacobian_of_a_structure_unconnected_as_in_jacobian():
    s = {"p": P.copy(), "q": Q.copy()}
    J = dj.batch_jacobian(lambda d: d["p"] * 2.0, s)
    assert J["q"] is None
    np.testing.assert_array_equal(J["p"], np.broadcast_to(2 * np.eye(2), (BATCH, 2, 2)))
    Z = dj.batch_jacobian(lambda d: d["p"] * 2.0, s, unconnected_gradients="zero")
    np.testing.assert_array_equal(Z["q"], np.zeros((BATCH, 2, 3, 2)))
    with pytest.warns(UserWarning, match="must be floating"):
        ints = dj.batch_jacobian(lambda d: d["p"] * d["n"], {"p": P.copy(), "n": np.ones((BATCH, 2), int)})
    assert ints["n"] is None
    np.testing.assert_array_equal(ints["p"], np.broadcast_to(np.eye(2), (BATCH, 2, 2)))


def scalar_rows(s):
    return np.sum(rows_f(s) * np.array([1.0, -0.5]), axis=1)


@pytest.mark.parametrize("options", [{}, {"rows_per_chunk": 3}], ids=["one_sweep", "row_blocks"])
def test_batch_hessian_of_a_structure_is_each_rows_hessian(options):
    s = {"p": P.copy(), "q": Q.copy()}
    H = dj.batch_hessian(scalar_rows, s, **options)
    assert H["p"]["q"].shape == (BATCH, 2, 3, 2) and H["q"]["p"].shape == (BATCH, 3, 2, 2)
    for i in range(BATCH):
        of_row, z = row_witness(scalar_rows, s, i)
        witness = witness_hessian(of_row, z)
        np.testing.assert_allclose(H["p"]["p"][i], witness[:2, :2], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(H["p"]["q"][i], witness[:2, 2:].reshape(2, 3, 2), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(H["q"]["q"][i], witness[2:, 2:].reshape(3, 2, 3, 2), rtol=1e-6,
                                   atol=1e-8)


def test_batch_hessian_of_a_tuple_with_row_outputs():
    """f(p, q)[i, :] = p[i] * q[i, 0]^2 (analytic): blocks [b, 2, ...]."""
    p, q = P.copy(), RNG.uniform(0.5, 1.0, (BATCH, 1))
    H = dj.batch_hessian(lambda t: t[0] * t[1][:, :1] ** 2, (p, q))
    assert H[0][1].shape == (BATCH, 2, 2, 1)
    expected = np.zeros((BATCH, 2, 2, 1))
    expected[:, [0, 1], [0, 1], 0] = 2 * q
    np.testing.assert_allclose(H[0][1], expected, rtol=1e-14)
    np.testing.assert_allclose(H[1][1][..., 0, 0], 2 * p, rtol=1e-14)
    np.testing.assert_array_equal(H[0][0], np.zeros((BATCH, 2, 2, 2)))


# ---------------------------------------------------------------- errors

def test_batched_directions_of_the_wrong_shape_name_the_expected_one():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"shape \(k, 2, 3\).*got \(2, 3\)"):
        dj.jvp(np.sin, x, np.ones((2, 3)), batched=True)
    with pytest.raises(ValueError, match=r"shape \(k,\) for x\['c'\]"):
        dj.hvp(lambda d: d["c"] ** 2, {"c": np.array(1.0)}, {"c": np.array(1.0)}, batched=True)
    with pytest.raises(ValueError, match=r"same number k of directions.*\[2, 3\]"):
        dj.jvp(lambda t: t[0] + t[1], (np.zeros(2), np.zeros(2)), (np.ones((2, 2)), np.ones((3, 2))),
               batched=True)
    with pytest.raises(ValueError, match=r"v must have x's shape \(2, 3\), got \(4, 2, 3\)"):
        dj.jvp(np.sin, x, np.ones((4, 2, 3)))       # k directions without batched=True
    with pytest.raises(TypeError, match="batched must be True or False"):
        dj.jvp(np.sin, x, np.ones((1, 2, 3)), batched="yes")


def test_structure_errors_of_batch_transforms():
    with pytest.raises(ValueError, match=r"share the batch axis.*x\['p'\]: 4, x\['r'\]: 3"):
        dj.batch_jacobian(lambda d: d["p"], {"p": P.copy(), "r": np.ones((3, 2))})
    with pytest.raises(ValueError, match=r"Shape \(2,\) of x\[1\] must have rank at least 2"):
        dj.batch_hessian(lambda t: np.sum(t[0], axis=1), (P.copy(), np.ones(2)))
    with pytest.raises(ValueError, match="check_independence checks one source array"):
        dj.batch_jacobian(rows_f, {"p": P.copy(), "q": Q.copy()}, check_independence=True)
    with pytest.raises(ValueError, match="Need first dimension of target shape"):
        dj.batch_jacobian(lambda d: d["p"][:2], {"p": P.copy(), "q": Q.copy()})


def test_structure_errors_of_second_order_transforms():
    with pytest.raises(TypeError, match="float32 or float64"), pytest.warns(UserWarning):
        dj.hessian(lambda d: np.sum(d["a"]), {"a": np.array([1.0]), "n": np.array([1])})
    with pytest.raises(ValueError, match="value_gradient_hessian: f must return a scalar"):
        dj.value_gradient_hessian(vector_f, structure())
    with pytest.raises(ValueError, match="hvp: f must return a scalar"):
        dj.hvp(vector_f, structure(), structure())
    with pytest.raises(ValueError, match=r"v must be a dict with x's keys \['a', 'rest'\]"):
        dj.hvp(scalar_f, structure(), {"a": A})
    with pytest.raises(NotImplementedError, match="third derivatives"):
        dj.jacobian(lambda z: dj.hessian(lambda d: np.sum(d["z"] ** 3), {"z": z}), A.copy())
