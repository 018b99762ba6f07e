"""Sparsity patterns (dj.jacobian_sparsity, dj.hessian_sparsity) against outside witnesses.

Two properties. Superset: a pattern never misses a dependency, i.e. it holds every nonzero of
the Jacobian / Hessian computed numerically (dj.jacobian / dj.hessian, themselves checked
against complex step and TensorFlow elsewhere; complex step directly where f is analytic).
Exactness: where the rule is exact (elementwise maps, structural moves, stencils), the pattern
equals the analytic one, built here independently (scipy.sparse.diags, index arithmetic).

Every NumPy function with a derivative rule (dualjac.dispatch.registry.HANDLED) and every rules-table
ufunc is iterated: a function added to HANDLED without a case here fails the coverage test.
"""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.special  # noqa: F401  (registers the scipy.special rows)

import dualjac as dj
from dualjac import _pattern_rules, rules
from dualjac.dispatch import registry
from witness import complex_step_jacobian

RNG = np.random.default_rng(20261205)


def pattern(f, x):
    return dj.jacobian_sparsity(f, x).toarray()


def hpattern(f, x):
    return dj.hessian_sparsity(f, x).toarray()


def numeric_jacobian(f, x):
    y = np.asarray(f(x))
    return np.asarray(dj.jacobian(f, x)).reshape(y.size, x.size)


def assert_superset(P, J, what=""):
    missed = np.argwhere((J != 0) & ~P)
    assert missed.size == 0, f"{what}: the pattern misses dependencies at {missed[:5].tolist()}"


def band(n, offsets):
    return sp.diags([np.ones(n - abs(k)) for k in offsets], offsets, shape=(n, n)).toarray() != 0


# ---------------------------------------------------------------- every rules-table ufunc

def ufunc_of(row):
    return getattr(__import__(row.module, fromlist=[row.name]), row.name)


def inside(lo, hi, size):
    """Random points in (lo, hi), away from its ends and from the integers and half-integers
    (the kinks of floor, rint, abs ...)."""
    x = RNG.uniform(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo), size)
    return np.where(np.abs(x * 2 - np.round(x * 2)) < 0.05, x + 0.11, x)


@pytest.mark.parametrize("row", rules.UNARY, ids=lambda r: r.name)
def test_unary_ufunc_is_diagonal_or_empty(row):
    u = ufunc_of(row)
    x = inside(*row.domain, 5)
    f = lambda z: u(z[::-1])                      # an anti-diagonal, to catch a lost permutation
    P = pattern(f, x)
    expected = np.eye(5, dtype=bool)[::-1] if row.df != "0" else np.zeros((5, 5), bool)
    J = numeric_jacobian(f, x)
    assert_superset(P, J, row.name)
    np.testing.assert_array_equal(P, expected)
    np.testing.assert_array_equal(J != 0, expected)   # the analytic structure, numerically


SELECTING = ("maximum", "minimum", "fmax", "fmin")


@pytest.mark.parametrize("row", rules.BINARY, ids=lambda r: r.name)
def test_binary_ufunc_broadcast_pattern(row):
    u = ufunc_of(row)
    x = np.concatenate([inside(*row.domain_x, 3), inside(*row.domain_y, 4)])
    f = lambda z: u(z[:3, None], z[None, 3:])     # out[i, j] = u(z[i], z[3 + j])
    P = pattern(f, x)
    i, j = np.divmod(np.arange(12), 4)
    expected = np.zeros((12, 7), bool)
    expected[np.arange(12), i] = row.dfx != "0"
    expected[np.arange(12), 3 + j] |= row.dfy != "0"
    J = numeric_jacobian(f, x)
    assert_superset(P, J, row.name)
    np.testing.assert_array_equal(P, expected)
    if row.name in SELECTING:       # the global pattern: either operand, one chosen per x
        np.testing.assert_array_equal(np.count_nonzero(J, axis=1), 1)
    else:
        np.testing.assert_array_equal(J != 0, expected)


@pytest.mark.parametrize("row", rules.BINARY, ids=lambda r: r.name)
def test_binary_ufunc_hessian_pattern(row):
    u = ufunc_of(row)
    x = np.concatenate([inside(*row.domain_x, 3), inside(*row.domain_y, 4)])
    f = lambda z: np.sum(u(z[:3, None], z[None, 3:]))
    P = hpattern(f, x)
    H = np.asarray(dj.hessian(f, x))
    assert_superset(P, H, row.name)
    cross = np.zeros((7, 7), bool)
    cross[:3, 3:] = cross[3:, :3] = row.d2fxy != "0"
    np.testing.assert_array_equal(P, cross | np.eye(7, dtype=bool))


@pytest.mark.parametrize("row", rules.UNARY, ids=lambda r: r.name)
def test_unary_ufunc_of_a_sum_hessian_pattern(row):
    """u(x_i + x_j): all pairs of {i, j} interact when u'' is not identically 0."""
    u = ufunc_of(row)
    lo, hi = row.domain
    x = inside(lo / 2, hi / 2, 4)
    f = lambda z: np.sum(u(z[:2] + z[2:]))
    P = hpattern(f, x)
    assert_superset(P, np.asarray(dj.hessian(f, x)), row.name)
    pairs = np.eye(4, dtype=bool)
    if row.d2f != "0":
        pairs |= np.eye(4, k=2, dtype=bool) | np.eye(4, k=-2, dtype=bool)
    np.testing.assert_array_equal(P, pairs)


def evaluated_call(row, differentiable):
    """(f, x): the evaluated row's ufunc as a function of the given arguments, stacked in x
    (3 points each; the other arguments are constants inside their domains)."""
    u = ufunc_of(row)
    points = {name: np.round(inside(lo, hi, 3)) if name in row.integers else inside(lo, hi, 3)
              for name, (lo, hi) in zip(row.args, row.domains)}
    x = np.concatenate([points[name] for name in differentiable])

    def f(z):
        args = dict(points, **{name: z[3 * k:3 * k + 3] for k, name in enumerate(differentiable)})
        return u(*[args[name] for name in row.args])
    return f, x


@pytest.mark.parametrize("row", rules.EVALUATED, ids=lambda r: r.name)
def test_evaluated_ufunc_patterns(row):
    """scipy.special rows evaluated with SciPy (rules.EVALUATED): the Jacobian in each
    differentiable argument is diagonal, and the Hessian in all of them pairs the arguments
    whose second partial the row lists."""
    for arg in row.differentiable:
        f, x = evaluated_call(row, (arg,))
        P = pattern(f, x)
        assert_superset(P, numeric_jacobian(f, x), row.name)
        np.testing.assert_array_equal(P, np.eye(3, dtype=bool))
    f, x = evaluated_call(row, row.differentiable)
    P = hpattern(lambda z: np.sum(f(z)), x)
    assert_superset(P, np.asarray(dj.hessian(lambda z: np.sum(f(z)), x)), row.name)
    pairs = {(i, j) for i, j, _ in row.second} | {(j, i) for i, j, _ in row.second}
    n = len(row.differentiable)
    expected = np.kron([[(a, b) in pairs for b in row.differentiable] for a in row.differentiable],
                       np.eye(3, dtype=bool)).astype(bool)
    assert expected.shape == (3 * n, 3 * n)
    np.testing.assert_array_equal(P, expected | np.eye(3 * n, dtype=bool))   # (a diagonal always)


# ---------------------------------------------------------------- every HANDLED function

def spd(z):
    a = z.reshape(3, 3)
    return a @ a.T + 3 * np.eye(3)


W = RNG.standard_normal((4, 6))
IDX = np.array([5, 0, 3, 3])

# func -> [(f, source shape)]: several shapes and axes where the rule depends on them.
CASES = {
    np.all: [(lambda x: x * 2 if np.all(x > -10) else x, (5,))],
    np.any: [(lambda x: x * 2 if np.any(x > 10) else x[::-1], (5,))],
    np.allclose: [(lambda x: x if np.allclose(x, 0) else x ** 2, (4,))],
    np.array_equal: [(lambda x: x if np.array_equal(x, x[::-1]) else x * x[::-1], (4,))],
    np.isclose: [(lambda x: np.where(np.isclose(x, 0.0), 0.0, x), (4,))],
    np.amax: [(lambda x: np.amax(x, axis=0), (3, 4)), (lambda x: np.amax(x), (5,))],
    np.amin: [(lambda x: np.amin(x, axis=1, keepdims=True) * x, (3, 4))],
    np.max: [(lambda x: np.max(x, axis=-1), (3, 4)), (lambda x: x.max() * x, (4,))],
    np.min: [(lambda x: np.min(x, axis=(0, 2)), (2, 3, 2))],
    np.argmax: [(lambda x: x[np.argmax(x)] * x, (5,))],
    np.argmin: [(lambda x: np.take_along_axis(x, np.argmin(x, axis=1)[:, None], 1), (3, 4))],
    np.argpartition: [(lambda x: x[np.argpartition(x, 2)[:3]], (6,))],
    np.argsort: [(lambda x: x[np.argsort(x)] ** 2, (5,))],
    np.lexsort: [(lambda x: x[np.lexsort((x,))], (5,))],
    np.searchsorted: [(lambda x: x[np.minimum(np.searchsorted(np.sort(x), x), 4)], (5,))],
    np.digitize: [(lambda x: x[np.digitize(x, [-0.5, 0.5])], (5,))],
    np.nonzero: [(lambda x: x[np.nonzero(x > 0)] ** 2, (6,))],
    np.flatnonzero: [(lambda x: x[np.flatnonzero(x < 0)], (6,))],
    np.count_nonzero: [(lambda x: x * np.count_nonzero(x > 0), (4,))],
    np.isneginf: [(lambda x: np.where(np.isneginf(x), 0.0, x * x[0]), (4,))],
    np.isposinf: [(lambda x: np.where(np.isposinf(x), 0.0, np.sin(x)), (4,))],
    np.iscomplex: [(lambda x: np.where(np.iscomplex(x), 0.0, x), (3,))],
    np.isreal: [(lambda x: np.where(np.isreal(x), x, 0.0), (3,))],
    np.iscomplexobj: [(lambda x: x if np.iscomplexobj(x) else 2 * x, (3,))],
    np.isrealobj: [(lambda x: 2 * x if np.isrealobj(x) else x, (3,))],
    np.isscalar: [(lambda x: x if np.isscalar(x) else x[:2] * 3, (3,))],
    np.shape: [(lambda x: x * np.ones(np.shape(x)), (2, 3))],
    np.ndim: [(lambda x: x * np.ndim(x), (2, 3))],
    np.size: [(lambda x: np.sum(x) / np.size(x), (2, 3))],
    np.result_type: [(lambda x: x.astype(np.result_type(x, 1.0)) * 2, (3,))],
    np.array: [(lambda x: np.array(x[::-1], like=x) * x[0], (3,)),
               (lambda x: np.array([1.0, 2.0], like=x) * x[1:], (3,))],
    np.asarray: [(lambda x: np.asarray(x, like=x)[::-1] * x[1], (4,))],
    np.asanyarray: [(lambda x: np.asanyarray(x[::-1], like=x) + 1, (4,))],
    np.ascontiguousarray: [(lambda x: np.ascontiguousarray(x.T, like=x), (2, 3))],
    np.astype: [(lambda x: np.astype(x, np.float32) * 2, (3,))],
    np.atleast_1d: [(lambda x: np.atleast_1d(x[1]) * x, (3,))],
    np.atleast_2d: [(lambda x: np.atleast_2d(x).T * x, (3,))],
    np.atleast_3d: [(lambda x: np.atleast_3d(x)[0, :, 0], (3,))],
    np.broadcast_to: [(lambda x: np.broadcast_to(x, (2, 3)) * x[:, None][:2], (3,))],
    np.clip: [(lambda x: np.clip(x, -0.5, 0.5), (5,)),
              (lambda x: np.clip(x[:3], x[3:], 1.0), (6,)),
              (lambda x: x.clip(min=x[::-1]), (4,))],
    np.column_stack: [(lambda x: np.column_stack([x[:3], x[3:] ** 2]), (6,))],
    np.concatenate: [(lambda x: np.concatenate([x[2:], x[:2]]), (5,)),
                     (lambda x: np.concatenate([x, x[:1] * x], axis=1), (2, 3)),
                     (lambda x: np.concatenate([x, x], axis=None), (2, 2))],
    np.copy: [(lambda x: np.copy(x)[::-1], (4,))],
    np.cross: [(lambda x: np.cross(x[:3], x[3:]), (6,))],
    np.cumprod: [(lambda x: np.cumprod(x), (4,)), (lambda x: np.cumprod(x, axis=0), (3, 2))],
    np.cumsum: [(lambda x: np.cumsum(x), (2, 3)), (lambda x: np.cumsum(x, axis=1), (2, 3)),
                (lambda x: x.cumsum(axis=0), (3, 2))],
    np.diag: [(lambda x: np.diag(x), (3,)), (lambda x: np.diag(x, 1), (3, 3))],
    np.diagonal: [(lambda x: np.diagonal(x, -1), (3, 4))],
    np.diff: [(lambda x: np.diff(x), (5,)), (lambda x: np.diff(x, n=2, axis=0), (4, 2)),
              (lambda x: np.diff(x, prepend=0.0), (4,))],
    np.dot: [(lambda x: np.dot(W, x), (6,)), (lambda x: np.dot(x, x), (3,)),
             (lambda x: np.dot(x.reshape(2, 3), x.reshape(3, 2)), (6,)),
             (lambda x: np.dot(2.0, x), (3,))],
    np.einsum: [(lambda x: np.einsum("ij->i", x), (3, 4)),
                (lambda x: np.einsum("ij,j->i", W, x), (6,)),
                (lambda x: np.einsum("ij,kj->ik", x, x), (2, 3)),
                (lambda x: np.einsum("ii->i", x), (3, 3)),
                (lambda x: np.einsum("i,i", x, x), (4,)),
                (lambda x: np.einsum("...i->...", x), (2, 3))],
    np.empty: [(lambda x: np.concatenate([np.empty(0), x]) ** 2, (3,))],
    np.empty_like: [(lambda x: np.where(x > 9, np.empty_like(x), x), (3,))],
    np.expand_dims: [(lambda x: np.expand_dims(x, 0) * x[:, None], (3,))],
    np.flip: [(lambda x: np.flip(x, axis=1), (2, 3)), (lambda x: np.flip(x), (2, 3))],
    np.full: [(lambda x: np.full(3, x[1], like=x) * x, (3,)), (lambda x: np.full(2, 2.0) * x[:2], (3,))],
    np.full_like: [(lambda x: np.full_like(x, x[0]) + x[::-1], (3,))],
    np.hsplit: [(lambda x: np.hsplit(x, 2)[1], (2, 4))],
    np.vsplit: [(lambda x: np.vsplit(x, 2)[0] * 2, (4, 2))],
    np.dsplit: [(lambda x: np.dsplit(x, 2)[1], (1, 2, 4))],
    np.split: [(lambda x: np.split(x, [1, 3])[1], (5,))],
    np.array_split: [(lambda x: np.array_split(x, 2)[0], (5,))],
    np.hstack: [(lambda x: np.hstack([x[3:], x[:3] ** 2]), (5,))],
    np.vstack: [(lambda x: np.vstack([x, x[::-1]]), (3,))],
    np.stack: [(lambda x: np.stack([x[:2], x[2:]], axis=1), (4,))],
    np.inner: [(lambda x: np.inner(x[:3], x[3:]), (6,)),
               (lambda x: np.inner(x.reshape(2, 3), W[:, :3]), (6,))],
    np.interp: [(lambda x: np.interp(x, [-1.0, 0.2, 1.0], [3.0, -1.0, 2.0]), (4,))],
    np.linalg.cholesky: [(lambda x: np.linalg.cholesky(spd(x)), (9,))],
    np.linalg.cross: [(lambda x: np.linalg.cross(x[:3], x[3:]), (6,))],
    np.linalg.det: [(lambda x: np.linalg.det(x.reshape(3, 3)), (9,))],
    np.linalg.inv: [(lambda x: np.linalg.inv(spd(x)), (9,))],
    np.linalg.slogdet: [(lambda x: np.linalg.slogdet(spd(x))[1], (9,))],
    np.linalg.solve: [(lambda x: np.linalg.solve(spd(x), np.ones(3)), (9,))],
    np.linalg.eigh: [(lambda x: np.linalg.eigh(spd(x)).eigenvectors, (9,))],
    np.linalg.eigvalsh: [(lambda x: np.linalg.eigvalsh(spd(x)), (9,))],
    np.linalg.eig: [(lambda x: np.linalg.eig(spd(x))[0], (9,))],
    np.linalg.eigvals: [(lambda x: np.linalg.eigvals(spd(x)), (9,))],
    np.linalg.svd: [(lambda x: np.linalg.svd(x.reshape(3, 2))[0], (6,))],
    np.linalg.svdvals: [(lambda x: np.linalg.svdvals(x.reshape(2, 3)), (6,))],
    np.linalg.qr: [(lambda x: np.linalg.qr(spd(x))[1], (9,))],
    np.linalg.pinv: [(lambda x: np.linalg.pinv(spd(x)), (9,))],
    np.linalg.lstsq: [(lambda x: np.linalg.lstsq(spd(x), np.ones(3))[0], (9,))],
    np.linalg.cond: [(lambda x: np.linalg.cond(spd(x)), (9,))],
    np.linalg.matrix_rank: [(lambda x: np.linalg.matrix_rank(spd(x)) * np.sum(x), (9,))],
    np.linalg.matrix_power: [(lambda x: np.linalg.matrix_power(x.reshape(2, 2), 3), (4,)),
                             (lambda x: np.linalg.matrix_power(spd(x), -1), (9,))],
    np.linalg.multi_dot: [(lambda x: np.linalg.multi_dot([x[:2], x.reshape(2, 2), x[2:]]), (4,))],
    np.linalg.norm: [(lambda x: np.linalg.norm(x), (4,)),
                     (lambda x: np.linalg.norm(x.reshape(2, 3), "nuc"), (6,)),
                     (lambda x: np.linalg.norm(x, axis=1), (2, 3)),
                     (lambda x: np.linalg.norm(x, 1, axis=0), (2, 3)),
                     (lambda x: np.linalg.norm(x, np.inf), (4,)),
                     (lambda x: np.linalg.norm(x, 3), (4,)),
                     (lambda x: np.linalg.norm(x, axis=(0, 1)), (2, 3))],
    np.matmul: [(lambda x: W @ x, (6,)), (lambda x: x.reshape(2, 3) @ W[:3, :2], (6,)),
                (lambda x: x[:3] @ x[3:], (6,)),
                (lambda x: np.matmul(x.reshape(2, 1, 3), x.reshape(2, 3, 1)), (6,))],
    np.mean: [(lambda x: np.mean(x, axis=0), (2, 3)), (lambda x: x.mean(), (4,))],
    np.median: [(lambda x: np.median(x, axis=1), (2, 3))],
    np.moveaxis: [(lambda x: np.moveaxis(x, 0, -1), (2, 3, 2))],
    np.ones: [(lambda x: np.ones(3) * x, (3,))],
    np.ones_like: [(lambda x: np.ones_like(x) + x[::-1], (3,))],
    np.zeros: [(lambda x: np.concatenate([np.zeros(2), x]), (3,))],
    np.zeros_like: [(lambda x: np.zeros_like(x) * x, (3,))],
    np.outer: [(lambda x: np.outer(x[:2], x[2:]), (5,))],
    np.pad: [(lambda x: np.pad(x, (1, 2)), (4,)),
             (lambda x: np.pad(x, 2, mode="edge"), (4,)),
             (lambda x: np.pad(x, 2, mode="reflect"), (4,)),
             (lambda x: np.pad(x, 2, mode="symmetric"), (4,)),
             (lambda x: np.pad(x, 2, mode="wrap"), (4,)),
             (lambda x: np.pad(x, ((1, 0), (0, 2)), constant_values=1.5), (2, 3)),
             (lambda x: np.pad(x, 1, mode="mean"), (4,))],
    np.polyval: [(lambda x: np.polyval(x[:3], x[3:]), (5,))],
    np.prod: [(lambda x: np.prod(x, axis=1), (2, 3)), (lambda x: x.prod(), (3,))],
    np.ravel: [(lambda x: np.ravel(x.T), (2, 3))],
    np.repeat: [(lambda x: np.repeat(x, 2), (3,)), (lambda x: np.repeat(x, [1, 3], axis=0), (2, 2))],
    np.reshape: [(lambda x: np.reshape(x, (3, 2)).T, (6,))],
    np.roll: [(lambda x: np.roll(x, 2), (5,)), (lambda x: np.roll(x, -1, axis=1), (2, 3)),
              (lambda x: np.roll(x, 1), (2, 3))],
    np.select: [(lambda x: np.select([x > 0, x < -1], [x, x[::-1]], x[0]), (4,))],
    np.sort: [(lambda x: np.sort(x), (4,)), (lambda x: np.sort(x, axis=0), (3, 2)),
              (lambda x: np.sort(x, axis=None), (2, 2))],
    np.squeeze: [(lambda x: np.squeeze(x[:, None]) * 2, (3,))],
    np.std: [(lambda x: np.std(x, axis=0), (3, 2))],
    np.var: [(lambda x: np.var(x, axis=1, ddof=1), (2, 3))],
    np.sum: [(lambda x: np.sum(x, axis=0), (3, 4)), (lambda x: np.sum(x, axis=(0, 2)), (2, 2, 3)),
             (lambda x: np.sum(x, axis=-1, keepdims=True) * x, (2, 3)), (lambda x: x.sum(), (3,))],
    np.swapaxes: [(lambda x: np.swapaxes(x, 0, 1), (2, 3))],
    np.take: [(lambda x: np.take(x, IDX), (6,)), (lambda x: np.take(x, [2, 0], axis=1), (2, 3)),
              (lambda x: x.take([1, 1, 4]), (2, 3))],
    np.take_along_axis: [(lambda x: np.take_along_axis(x, np.array([[2, 0], [1, 1]]), 1), (2, 3))],
    np.tensordot: [(lambda x: np.tensordot(x.reshape(2, 3), W[:3, :2], 1), (6,))],
    np.tile: [(lambda x: np.tile(x, 2), (3,)), (lambda x: np.tile(x, (2, 1)), (2, 2))],
    np.trace: [(lambda x: np.trace(x) * x[0, 1], (3, 3))],
    np.transpose: [(lambda x: np.transpose(x, (2, 0, 1)), (2, 3, 2)), (lambda x: x.T, (2, 3))],
    np.vdot: [(lambda x: np.vdot(x[:2], x[2:]), (4,))],
    np.where: [(lambda x: np.where(x > 0, x, x[::-1] ** 2), (5,)),
               (lambda x: np.where(x[:, :1] > 0, x, 1.0), (3, 2))],
}
CASES.update({
    np.flipud: [(lambda x: np.flipud(x), (3, 2))],
    np.fliplr: [(lambda x: np.fliplr(x) * x[:, :1], (2, 3))],
    np.rot90: [(lambda x: np.rot90(x, 3), (2, 3))],
    np.rollaxis: [(lambda x: np.rollaxis(x, 2, 0), (2, 3, 2))],
    np.append: [(lambda x: np.append(x[1:], x[0] ** 2), (4,))],
    np.tril: [(lambda x: np.tril(x, -1), (3, 3))],
    np.triu: [(lambda x: np.triu(x * x[0, 0]), (3, 3))],
})
CASES.update({getattr(np.emath, name): [(lambda x, f=getattr(np.emath, name): f(x * x * 0.2 + 0.05), (3,))]
              for name in ("sqrt", "log", "log2", "log10", "arccos", "arcsin", "arctanh")})
CASES.update({
    np.emath.logn: [(lambda x: np.emath.logn(x[0] + 2.0, x[1:] ** 2), (3,))],
    np.emath.power: [(lambda x: np.emath.power(x * x, x[::-1]), (3,))],
})


def _after(store):
    """f(x): a copy of x written by store(copy, x), for the in-place writers."""
    def f(x):
        a = np.zeros_like(x) + x[::-1]
        store(a, x)
        return a
    return f


CASES.update({   # statistics, polynomials, floats, writes
    np.quantile: [(lambda x: np.quantile(x, [0.2, 0.9], axis=1), (3, 4))],
    np.percentile: [(lambda x: np.percentile(x, 40, axis=0, method="nearest"), (3, 2))],
    np.nanquantile: [(lambda x: np.nanquantile(x, 0.3), (5,))],
    np.nanpercentile: [(lambda x: np.nanpercentile(x, 70, axis=1), (2, 3))],
    np.nanmedian: [(lambda x: np.nanmedian(x, axis=0), (3, 2))],
    np.nansum: [(lambda x: np.nansum(x, axis=1), (2, 3))],
    np.nanprod: [(lambda x: np.nanprod(x), (4,))],
    np.nancumsum: [(lambda x: np.nancumsum(x), (4,))],
    np.nancumprod: [(lambda x: np.nancumprod(x, axis=1), (2, 3))],
    np.nanmean: [(lambda x: np.nanmean(x, axis=0), (2, 3))],
    np.nanmax: [(lambda x: np.nanmax(x, axis=1), (2, 3))],
    np.nanmin: [(lambda x: np.nanmin(x), (4,))],
    np.nanargmax: [(lambda x: x[np.nanargmax(x)] * x, (4,))],
    np.nanargmin: [(lambda x: x[np.nanargmin(x)] + x, (4,))],
    np.nanvar: [(lambda x: np.nanvar(x, axis=1), (2, 3))],
    np.nanstd: [(lambda x: np.nanstd(x), (4,))],
    np.bincount: [(lambda x: np.bincount([0, 2, 2, 1], weights=x), (4,))],
    np.histogram: [(lambda x: np.histogram(x, 3)[1], (5,)),
                   (lambda x: np.histogram(np.arange(4.0), 2, weights=x)[0], (4,))],
    np.unique: [(lambda x: np.unique(np.concatenate([x, x[:1]])), (4,))],
    np.i0: [(lambda x: np.i0(x), (3,))],
    np.polyder: [(lambda x: np.polyder(x), (4,))],
    np.polyint: [(lambda x: np.polyint(x, 2), (3,))],
    np.polyadd: [(lambda x: np.polyadd(x[:2], x[2:]), (5,))],
    np.polysub: [(lambda x: np.polysub(x[:3], x[3:]), (4,))],
    np.polymul: [(lambda x: np.polymul(x[:2], x[2:]), (5,))],
    np.polydiv: [(lambda x: np.polydiv(x, x[:2] + 3.0)[0], (5,))],
    np.poly: [(lambda x: np.poly(x), (3,))],
    np.roots: [(lambda x: np.roots(np.poly(x)), (3,))],
    np.polyfit: [(lambda x: np.polyfit(np.arange(5.0), x, 1), (5,))],
    np.put: [(_after(lambda a, x: np.put(a, [0, 2], x[:2] ** 2)), (4,))],
    np.place: [(_after(lambda a, x: np.place(a, np.array([1, 0, 1, 0], bool), x[2:])), (4,))],
    np.copyto: [(_after(lambda a, x: np.copyto(a, x * x, where=np.array([1, 0, 0, 1], bool))), (4,))],
    np.putmask: [(_after(lambda a, x: np.putmask(a, np.array([0, 1, 1, 0], bool), x)), (4,))],
    np.fill_diagonal: [(lambda x: (lambda m: (np.fill_diagonal(m, x[0]), m)[1])(
        np.reshape(x * 1.0, (2, 2))), (4,))],
    np.put_along_axis: [(lambda x: (lambda m: (np.put_along_axis(m, np.array([[1], [0]]), x[:2, None], 1),
                                                m)[1])(np.reshape(x * 2.0, (2, 3))), (6,))],
    np.ediff1d: [(lambda x: np.ediff1d(x, to_begin=x[0]), (4,))],
    np.diagflat: [(lambda x: np.diagflat(x, 1), (3,))],
    np.unwrap: [(lambda x: np.unwrap(x * 4.0), (5,))],
})




CASES.update({
    np.kron: [(lambda x: np.kron(x[:2], x[2:].reshape(2, 2)), (6,))],
    np.sinc: [(lambda x: np.sinc(x[::-1]), (4,))],
    np.round: [(lambda x: np.round(x, 1) * x, (4,))],
    np.around: [(lambda x: np.around(x[::-1]) + x, (4,))],
    np.real: [(lambda x: np.real(x[::-1]), (4,))],
    np.imag: [(lambda x: np.imag(x) + x, (4,))],
    np.angle: [(lambda x: np.angle(x) + x[::-1], (4,))],
    np.nan_to_num: [(lambda x: np.nan_to_num(x[::-1]), (4,))],
    np.linspace: [(lambda x: np.linspace(x[0], x[1:3], 4), (3,))],
    np.logspace: [(lambda x: np.logspace(x[0], x[2], 3), (3,))],
    np.geomspace: [(lambda x: np.geomspace(x[0] ** 2 + 1, 2.0, 3), (3,))],
    np.vander: [(lambda x: np.vander(x), (3,))],
    np.meshgrid: [(lambda x: np.meshgrid(x[:2], x[2:])[1], (5,))],
    np.gradient: [(lambda x: np.gradient(x), (5,)), (lambda x: np.gradient(x, 0.5, edge_order=2), (5,)),
                  (lambda x: np.gradient(x.reshape(2, 3), [0.0, 1.0, 3.0], axis=1), (6,))],
    np.trapezoid: [(lambda x: np.trapezoid(x.reshape(2, 3), axis=0), (6,))],
    np.convolve: [(lambda x: np.convolve(x[:4], x[4:]), (6,)),
                  (lambda x: np.convolve(x, [1.0, -1.0], "same"), (5,))],
    np.correlate: [(lambda x: np.correlate(x, x[:2]), (5,))],
    np.insert: [(lambda x: np.insert(x, 1, x[0] ** 2), (4,))],
    np.delete: [(lambda x: np.delete(x, [0, 2]), (4,))],
    np.resize: [(lambda x: np.resize(x, 7), (3,))],
    np.choose: [(lambda x: np.choose([1, 0, 1], [x[:3], x[3:]]), (6,))],
    np.partition: [(lambda x: np.partition(x, 2), (5,))],
    np.piecewise: [(lambda x: np.piecewise(x, [x > 0], [np.sin, lambda t: t * 2]), (5,))],
    np.apply_along_axis: [(lambda x: np.apply_along_axis(np.cumsum, 1, x.reshape(2, 3)), (6,))],
    np.apply_over_axes: [(lambda x: np.apply_over_axes(np.sum, x.reshape(2, 3), 1), (6,))],
    np.ptp: [(lambda x: np.ptp(x.reshape(2, 3), axis=1), (6,))],
    np.average: [(lambda x: np.average(x.reshape(2, 3), axis=1, weights=x[:3]), (6,))],
    np.cov: [(lambda x: np.cov(x.reshape(2, 3)), (6,))],
    np.corrcoef: [(lambda x: np.corrcoef(x.reshape(2, 3)), (6,))],
})
_P2 = np.polynomial.polynomial
CASES.update({   # the array API's linear algebra, sets, histograms, np.fft, joins, selections
    np.linalg.diagonal: [(lambda x: np.linalg.diagonal(x.reshape(2, 2, 2), offset=1), (8,))],
    np.linalg.matmul: [(lambda x: np.linalg.matmul(x.reshape(2, 3), x.reshape(3, 2)), (6,))],
    np.linalg.matrix_transpose: [(lambda x: np.linalg.matrix_transpose(x.reshape(2, 3)), (6,))],
    np.matrix_transpose: [(lambda x: np.matrix_transpose(x.reshape(3, 2)) * x[0], (6,))],
    np.linalg.outer: [(lambda x: np.linalg.outer(x[:2], x[2:]), (5,))],
    np.linalg.tensordot: [(lambda x: np.linalg.tensordot(x.reshape(2, 3), x[:3], axes=1), (6,))],
    np.linalg.trace: [(lambda x: np.linalg.trace(x.reshape(2, 2, 2)), (8,))],
    np.linalg.vecdot: [(lambda x: np.linalg.vecdot(x.reshape(2, 3), x[:2, None], axis=0), (6,))],
    np.linalg.vector_norm: [(lambda x: np.linalg.vector_norm(x.reshape(2, 3), axis=1), (6,))],
    np.linalg.matrix_norm: [(lambda x: np.linalg.matrix_norm(x.reshape(2, 1, 3)), (6,))],
    np.linalg.tensorinv: [(lambda x: np.linalg.tensorinv(spd(x).reshape(3, 1, 3), ind=2), (9,))],
    np.linalg.tensorsolve: [(lambda x: np.linalg.tensorsolve(spd(x[:9]), x[9:]), (12,))],
    np.union1d: [(lambda x: np.union1d(x[:2], x[1:]), (4,))],
    np.intersect1d: [(lambda x: np.intersect1d(x, x[::-1][:2]), (4,))],
    np.setdiff1d: [(lambda x: np.setdiff1d(x, x[2:]), (4,))],
    np.setxor1d: [(lambda x: np.setxor1d(x[:3], x[2:]), (5,))],
    np.unique_values: [(lambda x: np.unique_values(x), (4,))],
    np.unique_counts: [(lambda x: np.unique_counts(x).values, (4,))],
    np.unique_inverse: [(lambda x: np.unique_inverse(x).values, (4,))],
    np.unique_all: [(lambda x: np.unique_all(x.reshape(2, 2)).values, (4,))],
    np.histogram_bin_edges: [(lambda x: np.histogram_bin_edges(x, 3), (5,))],
    np.histogram2d: [(lambda x: np.histogram2d(x[:3], x[3:], 2)[1], (6,))],
    np.histogramdd: [(lambda x: np.histogramdd(x.reshape(3, 2), 2)[1][0], (6,))],
    np.fft.fftshift: [(lambda x: np.fft.fftshift(x.reshape(2, 3)), (6,))],
    np.fft.ifftshift: [(lambda x: np.fft.ifftshift(x, axes=0), (5,))],
    np.fft.irfft: [(lambda x: np.fft.irfft(x), (4,))],
    np.fft.irfft2: [(lambda x: np.fft.irfft2(x.reshape(2, 3)), (6,))],
    np.fft.irfftn: [(lambda x: np.fft.irfftn(x.reshape(2, 3)), (6,))],
    np.fft.hfft: [(lambda x: np.fft.hfft(x), (4,))],
    np.compress: [(lambda x: np.compress([True, False, True], x.reshape(2, 3), axis=1), (6,))],
    np.extract: [(lambda x: np.extract([1, 0, 1, 1], x), (4,))],
    np.trim_zeros: [(lambda x: np.trim_zeros(np.concatenate([[0.0], x, [0.0]])), (4,))],
    np.lib.stride_tricks.sliding_window_view: [
        (lambda x: np.lib.stride_tricks.sliding_window_view(x, 3), (5,))],
    np.unstack: [(lambda x: np.unstack(x.reshape(2, 3), axis=1)[2], (6,))],
    np.block: [(lambda x: np.block([[x[:2], x[2:3]], [x[3:5], x[5:]]]), (6,))],
    np.dstack: [(lambda x: np.dstack([x[:3], x[3:]]), (6,))],
    np.broadcast_arrays: [(lambda x: np.broadcast_arrays(x[:3], x[3:, None])[0], (5,))],
    np.fix: [(lambda x: np.fix(x) + x[::-1], (4,))],
    np.real_if_close: [(lambda x: np.real_if_close(x[::-1]), (4,))],
    _P2.polyval2d: [(lambda x: _P2.polyval2d(x[:2], x[2:4], [[1.0, 2.0], [3.0, 4.0]]), (4,))],
    _P2.polygrid2d: [(lambda x: _P2.polygrid2d(x[:2], x[2:], x.reshape(5, 1)[:2]), (5,))],
})
for _name in ("cumulative_sum", "cumulative_prod", "permute_dims"):
    if hasattr(np, _name):
        CASES[getattr(np, _name)] = {
            "cumulative_sum": [(lambda x: np.cumulative_sum(x, axis=1), (2, 3))],
            "cumulative_prod": [(lambda x: np.cumulative_prod(x), (4,))],
            "permute_dims": [(lambda x: np.permute_dims(x, (1, 0)), (2, 3))]}[_name]


def case_params():
    for func, cases in CASES.items():
        for k, (f, shape) in enumerate(cases):
            yield pytest.param(f, shape, id=f"{registry.func_name(func)}-{k}")


def test_every_handled_function_has_cases():
    """A NumPy function given a derivative rule later must get pattern cases here too."""
    missing = sorted(registry.func_name(f) for f in registry.HANDLED if f not in CASES)
    assert not missing, f"no pattern cases for {missing}"


@pytest.mark.parametrize("f, shape", list(case_params()))
def test_pattern_contains_every_dependency(f, shape):
    for point in range(2):
        x = RNG.uniform(-1.5, 1.5, shape)
        P = pattern(f, x)
        assert P.shape == (np.size(f(x)), x.size)
        assert_superset(P, numeric_jacobian(f, x))


@pytest.mark.parametrize("func", sorted(
    (f for f in registry.HANDLED if f not in _pattern_rules.RULES
     and f not in _pattern_rules.VALUE_FUNCTIONS and f not in registry.COMPOSITES),
    key=registry.func_name), ids=registry.func_name)
def test_functions_without_an_exact_rule_are_conservative(func):
    f, shape = CASES[func][0]
    x = RNG.uniform(-1.5, 1.5, shape)
    assert pattern(f, x).all()


def test_a_new_function_is_covered_by_the_conservative_rule(monkeypatch):
    """Without a derivative rule (np.linalg.tensorinv's taken out of the tables here) the
    tracer refuses a function by name; a rule that is not a composition and has no pattern
    rule is covered by the conservative rule."""
    f = lambda z: np.linalg.tensorinv(z[:4].reshape(2, 2) + z[4] + 3.0 * np.eye(2), ind=1)
    x = RNG.uniform(-1, 1, 5)
    monkeypatch.delitem(registry.HANDLED, np.linalg.tensorinv)
    monkeypatch.setattr(registry, "COMPOSITES", registry.COMPOSITES - {np.linalg.tensorinv})
    with pytest.raises(TypeError, match="tensorinv"):
        dj.jacobian_sparsity(f, x)
    monkeypatch.setitem(registry.HANDLED, np.linalg.tensorinv, lambda a, ind=2: None)
    P = pattern(f, x)
    assert P.shape == (4, 5) and P.all()
    assert_superset(P, complex_step_jacobian(f, x).reshape(4, 5))


# ---------------------------------------------------------------- exact structural rules

def test_sum_over_an_axis_is_exact():
    x = RNG.standard_normal((3, 4))
    expected = np.kron(np.eye(3), np.ones((1, 4))) != 0   # row i depends on x[i, :]
    np.testing.assert_array_equal(pattern(lambda z: np.sum(z, axis=1), x), expected)
    np.testing.assert_array_equal(pattern(lambda z: np.sum(z, axis=0), x),
                                  np.kron(np.ones((1, 3)), np.eye(4)) != 0)


@pytest.mark.parametrize("mode, index", [
    ("edge", [0, 0, 0, 1, 2, 2, 2]), ("reflect", [2, 1, 0, 1, 2, 1, 0]),
    ("symmetric", [1, 0, 0, 1, 2, 2, 1]), ("wrap", [1, 2, 0, 1, 2, 0, 1]),
    ("constant", [-1, -1, 0, 1, 2, -1, -1])])
def test_pad_modes_gather_the_padded_elements(mode, index):
    x = RNG.standard_normal(3)
    expected = np.zeros((7, 3), bool)
    for row, j in enumerate(index):
        if j >= 0:
            expected[row, j] = True
    np.testing.assert_array_equal(pattern(lambda z: np.pad(z, 2, mode=mode), x), expected)


def test_roll_take_and_concatenate_are_permutations():
    x = RNG.standard_normal(5)
    np.testing.assert_array_equal(pattern(lambda z: np.roll(z, 2), x),
                                  np.roll(np.eye(5, dtype=bool), 2, axis=0))
    np.testing.assert_array_equal(pattern(lambda z: np.take(z, IDX[IDX < 5]), x),
                                  np.eye(5, dtype=bool)[IDX[IDX < 5]])
    np.testing.assert_array_equal(pattern(lambda z: np.concatenate([z[3:], z[:3]]), x),
                                  np.roll(np.eye(5, dtype=bool), -3, axis=0))


def test_matmul_with_a_dense_constant_and_einsum_row_sums_are_exact():
    x = RNG.standard_normal(6)
    assert pattern(lambda z: W @ z, x).all()
    np.testing.assert_array_equal(pattern(lambda z: np.einsum("ij->i", z.reshape(2, 3)), x),
                                  np.kron(np.eye(2), np.ones((1, 3))) != 0)
    np.testing.assert_array_equal(pattern(lambda z: z.reshape(3, 2) @ np.ones((2, 1)), x),
                                  np.kron(np.eye(3), np.ones((1, 2))) != 0)


def test_cumsum_and_diff_are_triangular_and_banded():
    x = RNG.standard_normal(5)
    np.testing.assert_array_equal(pattern(np.cumsum, x), np.tril(np.ones((5, 5))) != 0)
    np.testing.assert_array_equal(pattern(np.diff, x), band(5, [0, 1])[:4])


def test_elementwise_maps_are_diagonal():
    x = RNG.uniform(0.5, 1.5, (2, 3))
    f = lambda z: np.exp(np.sin(z) * z ** 2 + 1.0 / z) - np.sqrt(z)
    np.testing.assert_array_equal(pattern(f, x), np.eye(6, dtype=bool))
    assert_superset(pattern(f, x), complex_step_jacobian(f, x).reshape(6, 6))


def test_structural_dependence_zero_factors_and_steps():
    x = RNG.standard_normal(4)
    np.testing.assert_array_equal(pattern(lambda z: z * 0.0, x), np.eye(4, dtype=bool))
    assert not pattern(lambda z: np.floor(z) + np.sign(z) + z // 2, x).any()
    np.testing.assert_array_equal(pattern(lambda z: np.where(z > 0, z, z[::-1]), x),
                                  np.eye(4, dtype=bool) | np.eye(4, dtype=bool)[::-1])


# ---------------------------------------------------------------- stencils, many spellings

def laplacian_1d_spellings():
    def concat_times_zero(x):
        inner = x[:-2] - 2 * x[1:-1] + x[2:]
        return np.concatenate([x[:1] * 0, inner, x[:1] * 0])

    def concat_zeros_like(x):
        inner = x[:-2] - 2 * x[1:-1] + x[2:]
        return np.concatenate([np.zeros(1, like=x), inner, np.zeros(1, like=x)])

    def concat_plain_zeros(x):
        return np.concatenate([np.zeros(1), x[:-2] - 2 * x[1:-1] + x[2:], np.zeros(1)])

    def padded(x):
        p = np.pad(x, 1)
        return p[:-2] - 2 * p[1:-1] + p[2:]

    def rolled(x):
        return np.roll(x, 1) - 2 * x + np.roll(x, -1)

    def slice_assigned(x):
        y = np.zeros_like(x)
        y[1:-1] = x[:-2] - 2 * x[1:-1] + x[2:]
        return y

    def view_filled(x):
        y = np.zeros(x.shape, x.dtype, like=x)
        middle = y[1:-1]
        middle[...] = x[:-2] + x[2:]
        middle -= 2 * x[1:-1]
        return y

    def through_alias(x):
        y = -2 * x
        alias = y
        alias[1:] += x[:-1]
        alias[:-1] += x[1:]
        return y

    n = 7
    tridiagonal = band(n, [-1, 0, 1])
    interior = tridiagonal.copy()
    interior[[0, -1]] = False
    first_zero = interior.copy()
    first_zero[0, 0] = first_zero[-1, 0] = True       # x[:1] * 0 still depends on x[0]
    periodic = tridiagonal | band(n, [n - 1, -(n - 1)])
    return n, [("concat_times_zero", concat_times_zero, first_zero),
               ("concat_zeros_like", concat_zeros_like, interior),
               ("concat_plain_zeros", concat_plain_zeros, interior),
               ("pad", padded, tridiagonal), ("roll", rolled, periodic),
               ("slice_assigned", slice_assigned, interior),
               ("view_filled", view_filled, interior), ("alias", through_alias, tridiagonal)]


@pytest.mark.parametrize("name", [s[0] for s in laplacian_1d_spellings()[1]])
def test_1d_stencil_spellings_have_the_band(name):
    n, spellings = laplacian_1d_spellings()
    _, f, expected = next(s for s in spellings if s[0] == name)
    x = RNG.standard_normal(n)
    P = pattern(f, x)
    np.testing.assert_array_equal(P, expected)
    assert_superset(P, complex_step_jacobian(f, x))


def five_point(shape, periodic=False):
    """The 5-point stencil on a grid (C order), built from 1-D bands by Kronecker sums."""
    rows, cols = shape
    a = sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(rows, rows)).tolil()
    b = sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(cols, cols)).tolil()
    if periodic:
        a[0, -1] = a[-1, 0] = b[0, -1] = b[-1, 0] = 1
    return (sp.kron(a, sp.eye(cols)) + sp.kron(sp.eye(rows), b)).toarray() != 0


def grid_spellings():
    def padded(u):
        p = np.pad(u, 1)
        return p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * u

    def rolled(u):
        return sum(np.roll(u, s, axis=a) for s in (1, -1) for a in (0, 1)) - 4 * u

    def slice_assigned(u):
        out = -4 * u
        out[1:] += u[:-1]
        out[:-1] += u[1:]
        out[:, 1:] += u[:, :-1]
        out[:, :-1] += u[:, 1:]
        return out

    def concatenated(u):
        zr, zc = np.zeros((1, u.shape[1])), np.zeros((u.shape[0], 1))
        return (np.concatenate([zr, u[:-1]]) + np.concatenate([u[1:], zr])
                + np.concatenate([zc, u[:, :-1]], axis=1)
                + np.concatenate([u[:, 1:], zc], axis=1) - 4 * u)

    def flat_reshaped(x):
        u = x.reshape(4, 5)
        out = np.zeros_like(u)
        view = out.reshape(-1)                 # a view: writes through it reach out
        view[...] = -4 * x
        out[1:] += u[:-1]
        out[:-1] += u[1:]
        out[:, 1:] += u[:, :-1]
        out[:, :-1] += u[:, 1:]
        return out.ravel()

    return [("pad", padded, False), ("roll", rolled, True), ("slice_assigned", slice_assigned,
            False), ("concatenate", concatenated, False), ("flat_reshaped", flat_reshaped, False)]


@pytest.mark.parametrize("name", [s[0] for s in grid_spellings()])
def test_2d_five_point_stencil_spellings(name):
    _, f, periodic = next(s for s in grid_spellings() if s[0] == name)
    x = RNG.standard_normal((4, 5))
    if name == "flat_reshaped":
        x = x.ravel()
    P = pattern(f, x)
    np.testing.assert_array_equal(P, five_point((4, 5), periodic))
    assert_superset(P, complex_step_jacobian(f, x).reshape(20, 20))


# ---------------------------------------------------------------- Hessian patterns

def test_hessian_of_products_has_only_the_cross_pairs():
    x = RNG.standard_normal(6)
    P = hpattern(lambda z: np.sum(z[:3] * z[3:]), x)
    expected = np.eye(6, dtype=bool) | np.eye(6, k=3, dtype=bool) | np.eye(6, k=-3, dtype=bool)
    np.testing.assert_array_equal(P, expected)


def test_hessian_of_exp_of_pair_sums_has_all_pairs():
    x = RNG.standard_normal(5) * 0.3
    f = lambda z: np.sum(np.exp(z[:, None] + z[None, :]))
    P = hpattern(f, x)
    assert P.all()
    H = np.asarray(dj.hessian(f, x))
    np.testing.assert_array_equal(H != 0, P)


@pytest.mark.parametrize("f", [lambda z: np.sum(3 * z - z[::-1]), lambda z: z @ W[0, :5],
                               lambda z: np.mean(np.cumsum(z)) + np.sum(np.floor(z) * z)],
                         ids=["sum", "matvec", "cumsum"])
def test_hessian_of_linear_functions_is_the_diagonal(f):
    x = RNG.standard_normal(5)
    np.testing.assert_array_equal(hpattern(f, x), np.eye(5, dtype=bool))
    assert not np.any(np.asarray(dj.hessian(f, x)))


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_rosenbrock_hessian_is_tridiagonal():
    x = RNG.standard_normal(8)
    P = hpattern(rosenbrock, x)
    np.testing.assert_array_equal(P, band(8, [-1, 0, 1]))
    np.testing.assert_array_equal(np.asarray(dj.hessian(rosenbrock, x)) != 0, P)


def grid_energy(x):
    u = x.reshape(4, 5)
    return (np.sum((u[1:] - u[:-1]) ** 2) + np.sum((u[:, 1:] - u[:, :-1]) ** 2)
            + np.sum(u ** 4))


def test_2d_energy_hessian_is_the_five_point_pattern():
    x = RNG.standard_normal(20)
    P = hpattern(grid_energy, x)
    np.testing.assert_array_equal(P, five_point((4, 5)))
    assert_superset(P, np.asarray(dj.hessian(grid_energy, x)))


HESSIAN_FUNCTIONS = {
    "rosenbrock": rosenbrock, "grid_energy": grid_energy,
    "norm": lambda z: np.linalg.norm(z[:3]) + np.sum(z[3:] ** 3),
    "max": lambda z: np.max(z[:4] * z[4:8]),
    "sort": lambda z: np.sum(np.sort(z)[:3] ** 2),
    "matmul": lambda z: np.ones(2) @ (z[:10].reshape(2, 5) @ z[10:15]),
    "where": lambda z: np.sum(np.where(z > 0, z ** 2, z[::-1] * z)),
    "prod": lambda z: np.prod(z[:4]) + np.sum(np.tanh(z[4:] * z[:-4])),
    "einsum": lambda z: np.einsum("i,i->", z[:5] ** 2, z[5:10]),
    "pad_roll": lambda z: np.sum(np.pad(z, 1, mode="wrap")[2:] * np.roll(z, 3) ** 2),
}


@pytest.mark.parametrize("name", HESSIAN_FUNCTIONS)
def test_hessian_pattern_contains_every_nonzero(name):
    f = HESSIAN_FUNCTIONS[name]
    for point in range(2):
        x = RNG.uniform(-1.5, 1.5, 20)
        P = hpattern(f, x)
        assert_superset(P, np.asarray(dj.hessian(f, x)), name)
        np.testing.assert_array_equal(P, P.T)
        assert P.diagonal().all()


# ---------------------------------------------------------------- value-dependent traces

@pytest.mark.parametrize("f, why", [
    (lambda z: z[::-1] if z[0] > 0 else z * 2, "greater"),
    (lambda z: z * 2 if bool(np.sum(z) > 0) else z, "greater"),
    (lambda z: z[np.argmax(z)] * z, "argmax"),
    (lambda z: z if np.any(z > 5) else -z, "greater"),
    (lambda z: z[np.nonzero(z)] * 2, "nonzero")])
def test_looking_at_values_is_recorded(f, why):
    x = RNG.standard_normal(4)
    S = dj.SparseJacobian(f, x)
    assert S.value_dependent and any(why in reason for reason in S.value_dependent)


def test_no_look_at_values_no_flag():
    S = dj.SparseJacobian(lambda z: np.where(z[:2] > 0, z[:2], z[2:]), np.ones(4))
    assert S.value_dependent      # np.greater looked at the values: the flag is honest
    assert not dj.SparseJacobian(lambda z: np.roll(z, 1) * z, np.ones(4)).value_dependent


def test_prepared_jacobian_follows_a_branch_that_flips():
    f = lambda z: z[::-1] if z[0] > 0 else z * 2
    x = RNG.uniform(0.5, 1.5, 5)
    S = dj.SparseJacobian(f, x)
    for sign in (1, -1, 1):
        x[0] = sign * abs(x[0])
        J = S(x).toarray()
        np.testing.assert_array_equal(J, complex_step_jacobian(f, x))
        np.testing.assert_array_equal(S.sparsity.toarray(), J != 0)


# ---------------------------------------------------------------- large and dense patterns

def counting(f):
    def counted(z):
        counted.runs += 1
        return f(z)
    counted.runs = 0
    return counted


def test_a_large_stencil_traces_in_one_run_with_the_exact_band():
    n = 50_000
    f = counting(lambda z: (lambda u: u[:-2] - 2 * u[1:-1] + u[2:])(np.pad(z, 1)) * z ** 2)
    P = dj.jacobian_sparsity(f, np.linspace(0.1, 1.0, n))
    assert f.runs == 1
    expected = sp.diags([np.ones(n - 1), np.ones(n), np.ones(n - 1)], [-1, 0, 1], format="csr")
    assert P.nnz == expected.nnz == 3 * n - 2
    assert (P != (expected != 0)).nnz == 0


def test_fancy_indexing_residuals_depend_on_their_index_sets():
    """Bundle-adjustment-like residuals: each row depends on the parameters it indexes
    (repeats included once), with products and sums along the fan-in."""
    idx = RNG.integers(0, 300, (700, 5))
    idx[:, 1] = idx[:, 0]                      # a repeated parameter within a residual
    w = RNG.standard_normal((700, 5))
    f = lambda z: np.sum(np.sin(z[idx]) * w, axis=1) * z[idx[:, 2]]
    x = RNG.uniform(0.2, 1.0, 300)
    P = pattern(f, x)
    expected = np.zeros((700, 300), bool)
    expected[np.arange(700)[:, None], idx] = True
    np.testing.assert_array_equal(P, expected)
    np.testing.assert_array_equal(numeric_jacobian(f, x) != 0, expected)


def test_a_cumulative_sum_of_a_gathered_array_is_a_staircase():
    """Running unions of rows with several sources: element k depends on the first k + 1
    rows' sources."""
    perm = RNG.permutation(12)
    f = lambda z: np.cumsum(z[perm].reshape(6, 2).sum(axis=1) * z[:6] ** 2)
    x = RNG.uniform(0.5, 1.5, 12)
    J = complex_step_jacobian(f, x).reshape(6, 12)
    np.testing.assert_array_equal(pattern(f, x), J != 0)


def test_dense_patterns_raise_a_clear_error():
    x = np.linspace(0.1, 1.0, 5_000)
    assert issubclass(dj.PatternTooDense, ValueError)
    with pytest.raises(dj.PatternTooDense, match=r"\(nearly\) dense.*dj.jacobian / dj.hessian"):
        dj.jacobian_sparsity(lambda z: z * np.sum(z), x)
    with pytest.raises(dj.PatternTooDense, match=r"\(nearly\) dense.*Hessian entries"):
        dj.hessian_sparsity(lambda z: np.exp(np.sum(z)), x)


def test_dense_transforms_fall_back_past_a_dense_pattern(monkeypatch):
    """The dense transforms try a traced pattern first; a (nearly) dense one sends them the
    ordinary way, with the same answer."""
    from dualjac import _rowstore
    monkeypatch.setattr(_rowstore, "MAX_ENTRIES", 1_000)
    n = 300                                      # past the banded jets' densify limit
    f = lambda z: z * np.sum(z) + z[::-1]        # J = sum(z) I + 1 z' + the anti-diagonal
    x = np.linspace(0.1, 1.0, n)
    with pytest.raises(dj.PatternTooDense):
        dj.jacobian_sparsity(f, x)
    expected = x.sum() * np.eye(n) + x[:, None] + np.eye(n)[::-1]
    np.testing.assert_allclose(dj.jacobian(f, x), expected, rtol=1e-13)
