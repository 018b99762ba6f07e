"""NumPy functions on dual arrays (dualjac/dispatch/) against outside witnesses.

Every case is a function g written once in plain NumPy. dualjac's
``dj.jacobian(g, x)`` is compared with the complex-step Jacobian of the same g
evaluated by NumPy on complex128 input (``complex_step_jacobian``); where g is
not complex-analytic (max, min, clip, abs-based norms) the witness is central
finite differences away from kinks, or g's holomorphic formula (norm, var, std).
Second derivatives (nested ``dj.jacobian``) are compared with central finite
differences of the complex-step Jacobian.
"""

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import pytest

import dualjac as dj
import witness
from witness import central_difference_jacobian, complex_step_jacobian

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "banded")

H_CS = 1e-20
H_FD = 1e-6

RNG = np.random.default_rng(20240611)


def randn(*shape):
    return RNG.standard_normal(shape)


def spread(*shape, lo=-2.0, hi=2.0):
    """Distinct values at least (hi - lo) / size apart (no ties for max / min)."""
    n = int(np.prod(shape))
    return RNG.permutation(np.linspace(lo, hi, n)).reshape(shape) + 1e-3 * RNG.random(shape)


# ------------------------------------------------------------------ witnesses

def finite_difference_jacobian(g, x, h=H_FD):
    """Central differences (for functions that are not complex-analytic)."""
    return central_difference_jacobian(g, x, h)


def witness_jacobian(case, x):
    return witness.witness_jacobian(case.ref or case.g, x, case.method, H_FD)


def witness_hessian(case, x):
    return witness.witness_hessian(case.ref or case.g, x, case.method, H_FD)


def assert_close(got, want, rtol, atol, what=""):
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale, err_msg=what)


TOL = {
    ("cs", 1): (1e-10, 1e-12),
    ("fd", 1): (1e-7, 1e-8),
    ("cs", 2): (1e-6, 1e-7),
    ("fd", 2): (1e-5, 1e-5),
}


# ------------------------------------------------------------------ the cases

@dataclass
class Case:
    id: str
    g: Callable
    x: np.ndarray
    method: str = "cs"                 # "cs" complex step, "fd" finite differences
    ref: Optional[Callable] = None     # witness formula when g itself is not analytic
    second: bool = False               # a nonlinear case singled out for second derivatives


CASES = []


def case(id, x, method="cs", ref=None, second=False):
    def register(g):
        CASES.append(Case(id, g, np.asarray(x, np.float64), method, ref, second))
        return g
    return register


def add(id, g, x, method="cs", ref=None, second=False):
    CASES.append(Case(id, g, np.asarray(x, np.float64), method, ref, second))


# constants mixed with dual arrays
C34 = randn(3, 4)
C45 = randn(4, 5)
C4 = randn(4)
C3 = randn(3)
MASK34 = RNG.random((3, 4)) > 0.5
MASK34[0, 0], MASK34[0, 1] = True, False

# -- structural
X34 = randn(3, 4)
X234 = randn(2, 3, 4)
X5 = randn(5)
add("reshape", lambda x: np.reshape(x, (6, 2)), X34)
add("reshape_minus1", lambda x: np.reshape(x, (2, -1)), X34)
add("reshape_method", lambda x: x.reshape(4, 3), X34)
add("reshape_to_3d", lambda x: np.reshape(x, (2, 2, 3)) * np.arange(12.0).reshape(2, 2, 3), X34)
add("ravel", lambda x: np.ravel(x), X234)
add("ravel_method", lambda x: x.ravel() * x.ravel()[::-1], X34)
add("transpose", lambda x: np.transpose(x), X234)
add("transpose_axes", lambda x: np.transpose(x, (1, 2, 0)), X234)
add("transpose_negative_axes", lambda x: np.transpose(x, (-1, 0, 1)), X234)
add("T", lambda x: x.T @ C3, X34)
add("swapaxes", lambda x: np.swapaxes(x, 0, -1), X234)
add("moveaxis", lambda x: np.moveaxis(x, 0, -1), X234)
add("moveaxis_tuple", lambda x: np.moveaxis(x, (0, 1), (-1, 0)), X234)
add("squeeze", lambda x: np.squeeze(x), randn(3, 1, 4, 1))
add("squeeze_axis", lambda x: np.squeeze(x, axis=1), randn(3, 1, 4, 1))
add("squeeze_negative_axis", lambda x: np.squeeze(x, axis=-1), randn(3, 1, 4, 1))
add("expand_dims", lambda x: np.expand_dims(x, 1), X34)
add("expand_dims_tuple", lambda x: np.expand_dims(x, (0, -1)), X34)
add("broadcast_to", lambda x: np.broadcast_to(x, (2, 3, 4)), X34)
add("broadcast_to_column", lambda x: np.broadcast_to(x, (3, 4)) * C34, randn(3, 1))
add("copy", lambda x: np.copy(x), X34)
add("copy_method", lambda x: x.copy() * 2.0, X34)
add("flip", lambda x: np.flip(x), X34)
add("flip_axis", lambda x: np.flip(x, 1), X34)
add("flip_tuple", lambda x: np.flip(x, (0, -1)), X234)
add("roll", lambda x: np.roll(x, 2), X34)
add("roll_axis", lambda x: np.roll(x, -1, axis=1), X34)
add("roll_tuple", lambda x: np.roll(x, (1, 2), axis=(0, 1)), X34)
add("atleast_1d_0d", lambda x: np.atleast_1d(x), np.array(0.7))
add("atleast_1d_1d", lambda x: np.atleast_1d(x), X5)
add("atleast_2d_1d", lambda x: np.atleast_2d(x), X5)
add("atleast_2d_0d", lambda x: np.atleast_2d(x), np.array(0.7))
add("atleast_3d_2d", lambda x: np.atleast_3d(x), X34)
add("atleast_3d_1d", lambda x: np.atleast_3d(x), X5)
add("concatenate", lambda x: np.concatenate([x, x ** 2]), X34)
add("concatenate_axis1_constant", lambda x: np.concatenate([x, C34, np.sin(x)], axis=1), X34)
add("concatenate_axis_negative", lambda x: np.concatenate([x, x], axis=-1), X234)
add("concatenate_axis_none", lambda x: np.concatenate([x, C3], axis=None), X34)
add("stack", lambda x: np.stack([x, 2 * x, C34]), X34)
add("stack_axis1", lambda x: np.stack([x, x ** 3], axis=1), X34)
add("stack_axis_negative", lambda x: np.stack([x, C34], axis=-1), X34)
add("hstack_1d", lambda x: np.hstack([x, C3, x[:2]]), X5)
add("hstack_2d", lambda x: np.hstack([x, C34]), X34)
add("vstack_1d", lambda x: np.vstack([x, x * x]), X5)
add("vstack_2d", lambda x: np.vstack([x, C34[:1]]), X34)
add("column_stack", lambda x: np.column_stack([x, x[::-1] * 2]), X5)
add("column_stack_2d", lambda x: np.column_stack([x, C34]), X34)
add("where", lambda x: np.where(MASK34, x ** 2, C34), X34)
add("where_on_values", lambda x: np.where(x > 0, x, 0.5 * x), X34)
add("where_constant_branch", lambda x: np.where(MASK34, 1.5, x), X34)
add("where_both_dual_broadcast", lambda x: np.where(MASK34, x, x[0]), X34)
add("take", lambda x: np.take(x, [0, 2, 2, 5]), X34)
add("take_axis", lambda x: np.take(x, [1, 0, 1], axis=1), X34)
add("take_negative", lambda x: np.take(x, [-1, 0], axis=-1), X34)
# Index-valued functions run on the values; the gathers they drive carry derivatives.
add("argsort_gather", lambda x: x[np.argsort(x)] * x, spread(6))
add("lexsort_gather", lambda x: x[np.lexsort((np.sin(x), x ** 2))] * x, spread(6))
add("argpartition_gather", lambda x: np.take_along_axis(x, np.argpartition(x, 2, axis=1), axis=1),
    spread(3, 5))
add("take_along_axis", lambda x: np.take_along_axis(x, np.array([[0, 3], [1, 1], [2, 0]]), axis=1), X34)
add("take_along_axis_0", lambda x: np.take_along_axis(x, np.array([[2, 0, 1, 1]]), axis=0), X34)
add("repeat", lambda x: np.repeat(x, 2), X34)
add("repeat_axis", lambda x: np.repeat(x, [1, 2, 3], axis=0), X34)
add("tile", lambda x: np.tile(x, 2), X34)
add("tile_tuple", lambda x: np.tile(x, (2, 1, 2)), X34)
add("diagonal", lambda x: np.diagonal(x), randn(4, 4))
add("diagonal_offset", lambda x: np.diagonal(x, 1), X34)
add("diagonal_negative_offset", lambda x: np.diagonal(x, -1), X34)
add("diagonal_axes", lambda x: np.diagonal(x, 0, 1, 2), randn(2, 3, 3))
add("diagonal_axes_first_last", lambda x: np.diagonal(x, 0, 0, -1), randn(3, 2, 3))

# -- linear
add("sum", lambda x: np.sum(x), X234)
add("sum_method", lambda x: x.sum(axis=1), X34)
add("mean", lambda x: np.mean(x), X234)
add("mean_method", lambda x: x.mean(axis=0), X34)
add("sum_where", lambda x: np.sum(x, axis=1, where=MASK34), X34)
add("sum_initial", lambda x: np.sum(x, axis=0, initial=2.5), X34)
add("mean_where", lambda x: np.mean(x, axis=1, where=MASK34), X34)
add("cumsum", lambda x: np.cumsum(x), X34)
add("cumsum_axis", lambda x: np.cumsum(x, axis=1), X34)
add("cumsum_negative_axis", lambda x: np.cumsum(x, axis=-3), X234)
add("cumsum_method", lambda x: x.cumsum(axis=0), X34)
add("add_accumulate", lambda x: np.add.accumulate(x, axis=1), X34)
add("add_reduce", lambda x: np.add.reduce(x, axis=0), X34)
add("trace", lambda x: np.trace(x), randn(4, 4))
add("trace_offset", lambda x: np.trace(x, 1), X34)
add("trace_axes", lambda x: np.trace(x, 0, 1, 2), randn(2, 3, 3))

# -- nonlinear, by composition
XP = spread(3, 4, lo=0.4, hi=1.6) * np.sign(randn(3, 4))
add("prod", lambda x: np.prod(x), XP, second=True)
add("prod_axis", lambda x: np.prod(x, axis=1), XP, second=True)
add("prod_method", lambda x: x.prod(axis=0), XP)
add("prod_where", lambda x: np.prod(x, axis=1, where=MASK34), XP, second=True)
add("prod_initial", lambda x: np.prod(x, axis=0, initial=1.5), XP)
add("prod_with_zero", lambda x: np.prod(x), np.array([1.5, 0.0, 2.0, -0.7, 1.1]), second=True)
add("prod_with_two_zeros", lambda x: np.prod(x), np.array([1.5, 0.0, 2.0, 0.0]), second=True)
add("prod_odd_length", lambda x: np.prod(x, axis=0), spread(7, 2, lo=0.3, hi=1.7))
add("multiply_reduce", lambda x: np.multiply.reduce(x, axis=1), XP)
XS = spread(3, 4)
for _name, _f in [("max", np.max), ("min", np.min), ("amax", np.amax), ("amin", np.amin)]:
    add(_name, (lambda f: lambda x: f(x))(_f), XS, method="fd")
    add(f"{_name}_axis", (lambda f: lambda x: f(x, axis=1))(_f), XS, method="fd")
    add(f"{_name}_keepdims", (lambda f: lambda x: f(x, axis=0, keepdims=True))(_f), XS, method="fd")
add("max_method", lambda x: x.max(axis=-1), XS, method="fd")
add("min_method", lambda x: x.min(), XS, method="fd")
add("maximum_reduce", lambda x: np.maximum.reduce(x, axis=0), XS, method="fd")
add("minimum_reduce", lambda x: np.minimum.reduce(x, axis=1), XS, method="fd")
add("clip", lambda x: np.clip(x, -0.55, 0.45), XS, method="fd")
add("clip_only_min", lambda x: np.clip(x, -0.55, None), XS, method="fd")
add("clip_only_max", lambda x: np.clip(x, None, 0.45), XS, method="fd")
add("clip_keywords", lambda x: np.clip(x, min=-0.55, max=0.45), XS, method="fd")
add("clip_array_bounds", lambda x: np.clip(x, -np.linspace(0.11, 0.99, 4), np.linspace(0.17, 1.13, 4)),
    XS, method="fd")
add("clip_method", lambda x: x.clip(-0.55, 0.45), XS, method="fd")


def _norm_ref(x, axis=None, keepdims=False):
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))


XN = randn(3, 4)
# distinct absolute values, away from 0 (no ties, no kink of abs)
XA = spread(3, 4, lo=0.2, hi=2.0) * np.where(RNG.random((3, 4)) > 0.5, 1, -1)
add("norm_vector", lambda x: np.linalg.norm(x), randn(5), ref=_norm_ref, second=True)
add("norm_ord2_vector", lambda x: np.linalg.norm(x, 2), randn(5), ref=_norm_ref)
add("norm_frobenius", lambda x: np.linalg.norm(x), XN, ref=_norm_ref, second=True)
add("norm_fro", lambda x: np.linalg.norm(x, "fro"), XN, ref=_norm_ref)
add("norm_axis", lambda x: np.linalg.norm(x, axis=1), XN, ref=lambda x: _norm_ref(x, 1), second=True)
add("norm_axis_keepdims", lambda x: np.linalg.norm(x, axis=0, keepdims=True), XN,
    ref=lambda x: _norm_ref(x, 0, True))
add("norm_axis_ord2", lambda x: np.linalg.norm(x, 2, axis=-1), XN, ref=lambda x: _norm_ref(x, -1))
add("norm_ord1_axis", lambda x: np.linalg.norm(x, 1, axis=1), XA, method="fd")
add("norm_ord1_vector", lambda x: np.linalg.norm(x, 1), XA[2], method="fd")
add("norm_inf_axis", lambda x: np.linalg.norm(x, np.inf, axis=0), XA, method="fd")
add("norm_inf_vector", lambda x: np.linalg.norm(x, np.inf), XA[0], method="fd")
add("norm_minus_inf_vector", lambda x: np.linalg.norm(x, -np.inf), XA[1], method="fd")
add("norm_minus_inf_axis", lambda x: np.linalg.norm(x, -np.inf, axis=1), XA, method="fd")


def _var_ref(x, axis=None, ddof=0, keepdims=False):
    n = x.size if axis is None else np.prod([x.shape[a] for a in np.atleast_1d(axis)])
    centered = x - np.mean(x, axis=axis, keepdims=True)
    return np.sum(centered * centered, axis=axis, keepdims=keepdims) / (n - ddof)


add("var", lambda x: np.var(x), XN, ref=_var_ref, second=True)
add("var_axis", lambda x: np.var(x, axis=1), XN, ref=lambda x: _var_ref(x, 1), second=True)
add("var_axis_tuple", lambda x: np.var(x, axis=(0, 2)), X234, ref=lambda x: _var_ref(x, (0, 2)))
add("var_ddof", lambda x: np.var(x, axis=0, ddof=1), XN, ref=lambda x: _var_ref(x, 0, 1))
add("var_keepdims", lambda x: np.var(x, axis=-1, keepdims=True), XN,
    ref=lambda x: _var_ref(x, -1, 0, True))
add("std", lambda x: np.std(x), XN, ref=lambda x: np.sqrt(_var_ref(x)), second=True)
add("std_axis_ddof", lambda x: np.std(x, axis=1, ddof=1), XN, ref=lambda x: np.sqrt(_var_ref(x, 1, 1)))

# -- multilinear
X33 = randn(3, 3)
add("einsum_matmul_dual_const", lambda x: np.einsum("ij,jk->ik", x, C45), X34)
add("einsum_matmul_const_dual", lambda x: np.einsum("ij,jk->ik", C34, x), randn(4, 5))
add("einsum_matmul_dual_dual", lambda x: np.einsum("ij,jk->ik", x[:, :3], x[:, 1:]), X34, second=True)
add("einsum_same_dual_twice", lambda x: np.einsum("i,i->", x, x), X5, second=True)
add("einsum_outer_same_dual", lambda x: np.einsum("i,j->ij", x, x), randn(4), second=True)
add("einsum_hadamard_sum", lambda x: np.einsum("ij,ij->i", x, x), X34, second=True)
add("einsum_trace", lambda x: np.einsum("ii->", x), X33)
add("einsum_diag", lambda x: np.einsum("ii->i", x), X33)
add("einsum_transpose", lambda x: np.einsum("ij->ji", x), X34)
add("einsum_sum_axis", lambda x: np.einsum("ij->j", x), X34)
add("einsum_implicit", lambda x: np.einsum("ij,jk", x, C45), X34)
add("einsum_ellipsis", lambda x: np.einsum("...ij,...jk->...ik", x, x), randn(2, 3, 3), second=True)
add("einsum_ellipsis_broadcast", lambda x: np.einsum("...ij,jk->...ik", x, C45), randn(2, 3, 4))
add("einsum_three_operands", lambda x: np.einsum("ij,jk,k->i", x[:, :3], x[:, 1:], C3), X34,
    second=True)
add("einsum_spaces", lambda x: np.einsum("i j , j -> i", x, C4), X34)

MATMUL_SHAPES = [
    ((3, 4), (4,)),
    ((4,), (4, 5)),
    ((4,), (4,)),
    ((3, 4), (4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 4, 5)),
    ((2, 1, 3, 4), (3, 4, 2)),
]
MATMUL_CONSTANTS = {shape: randn(*shape) for pair in MATMUL_SHAPES for shape in pair}


def _matmul_case(sa, sb, kind, form):
    op = np.matmul if form == "np.matmul" else (lambda a, b: a @ b)
    A, B = MATMUL_CONSTANTS[sa], MATMUL_CONSTANTS[sb]
    na = int(np.prod(sa))
    if kind == "dual@const":
        return (lambda x: op(x, B)), randn(*sa)
    if kind == "const@dual":
        return (lambda x: op(A, x)), randn(*sb)
    return (lambda x: op(x[:na].reshape(sa), x[na:].reshape(sb))), randn(na + int(np.prod(sb)))


for _sa, _sb in MATMUL_SHAPES:
    for _kind in ("dual@const", "const@dual", "dual@dual"):
        for _form in ("np.matmul", "@"):
            _g, _x = _matmul_case(_sa, _sb, _kind, _form)
            add(f"matmul[{_kind}-{_form}-{_sa}x{_sb}]", _g, _x,
                second=(_kind == "dual@dual" and _form == "@" and len(_sa) + len(_sb) <= 4))
add("matmul_square_self", lambda x: x @ x, X33, second=True)
add("matmul_method_T", lambda x: x.T @ x, X34, second=True)

add("dot_1d", lambda x: np.dot(x, C4), randn(4))
add("dot_1d_dual_dual", lambda x: np.dot(x, x[::-1]), randn(4), second=True)
add("dot_2d_1d", lambda x: np.dot(x, C4), X34)
add("dot_1d_2d", lambda x: np.dot(C3, x), X34)
add("dot_2d_2d", lambda x: np.dot(x, C45), X34)
add("dot_const_dual", lambda x: np.dot(C34, x), randn(4, 5))
CASES.append(Case("dot_scalar", lambda x: np.dot(x, 2.5), X34))
add("dot_0d_dual", lambda x: np.dot(x[0, 0], x), X34)
add("dot_3d_2d", lambda x: np.dot(x, C45), randn(2, 3, 4))
add("dot_3d_3d", lambda x: np.dot(x, x.transpose(0, 2, 1)[:, :, :2]), randn(2, 3, 4), second=True)
add("dot_method", lambda x: x.dot(C4), X34)
# np.vdot conjugates its first argument on complex input: the witness is the
# same real function written without conjugation.
add("vdot", lambda x: np.vdot(x, C34), X34, ref=lambda x: np.dot(np.ravel(x), np.ravel(C34)))
add("vdot_const_dual", lambda x: np.vdot(C34, x), X34, ref=lambda x: np.dot(np.ravel(C34), np.ravel(x)))
add("vdot_dual_dual", lambda x: np.vdot(x, x), X34, ref=lambda x: np.dot(np.ravel(x), np.ravel(x)),
    second=True)
add("inner_1d", lambda x: np.inner(x, C4), randn(4))
add("inner_2d", lambda x: np.inner(x, C34), X34)
add("inner_dual_dual", lambda x: np.inner(x, x), X34, second=True)
CASES.append(Case("inner_scalar", lambda x: np.inner(x, 3.0), X34))
add("outer", lambda x: np.outer(x, C3), X5)
add("outer_dual_dual", lambda x: np.outer(x, x[:3]), X5)
add("outer_2d_raveled", lambda x: np.outer(C3, x), X34)
add("tensordot_2", lambda x: np.tensordot(x, C34), X34)
add("tensordot_1", lambda x: np.tensordot(x, C45, axes=1), X34)
add("tensordot_0", lambda x: np.tensordot(x, C3, axes=0), X34)
add("tensordot_pairs", lambda x: np.tensordot(x, C34, axes=([0], [0])), X234[0])
add("tensordot_pairs_3d", lambda x: np.tensordot(x, C34, axes=([1, 2], [0, 1])), X234)
add("tensordot_dual_dual", lambda x: np.tensordot(x, x, axes=([1], [1])), X34)

# -- creation and item assignment


def _scatter(x):
    out = np.zeros_like(x)
    out[0] = x[1] ** 2
    out[1:] += x[:-1]
    return out


add("zeros_like_assign", _scatter, X5, second=True)


def _zeros_like_2d(x):
    out = np.zeros_like(x)
    out[MASK34] = 3 * x[MASK34]
    out[~MASK34] = np.sin(x[~MASK34])
    return out


add("zeros_like_mask_assign", _zeros_like_2d, X34)
add("ones_like", lambda x: np.ones_like(x) * x + np.ones_like(x), X34)
add("full_like", lambda x: np.full_like(x, 2.5) * x, X34)


def _empty_like(x):
    out = np.empty_like(x)
    out[...] = x[::-1] * 2
    return out


add("empty_like", _empty_like, X34)


def _zeros_like_shape(x):
    out = np.zeros_like(x, shape=(2, 5))
    out[0] = x
    out[1, ::2] = x[:3] * x[2:]
    return out


add("zeros_like_shape", _zeros_like_shape, X5)


def _like_zeros(x, creator):
    out = creator(4)
    out[:3] = x[::2] ** 2
    out[3] = x[1]
    out[1:] *= x[:3]
    return out


add("zeros_like_keyword",
    lambda x: _like_zeros(x, lambda n: np.zeros(n, like=x)), X5,
    ref=lambda x: _like_zeros(x, lambda n: np.zeros(n, dtype=x.dtype)))
add("ones_like_keyword",
    lambda x: np.ones(3, like=x) + x[:3], X5,
    ref=lambda x: np.ones(3, dtype=x.dtype) + x[:3])
add("full_like_keyword",
    lambda x: np.full((2, 3), 0.5, like=x) * x[:3], X5,
    ref=lambda x: np.full((2, 3), 0.5, dtype=x.dtype) * x[:3])
add("empty_like_keyword",
    lambda x: _like_zeros(x, lambda n: np.empty(n, like=x)), X5,
    ref=lambda x: _like_zeros(x, lambda n: np.zeros(n, dtype=x.dtype)))


def _inplace(x):
    y = x * 1.0
    y[1:] *= 2.0
    y[:2] += x[2:4]
    y -= x[::-1]
    y[3] /= x[0]
    y[4] **= 2
    return y


add("inplace_ops_on_slices", _inplace, X5, second=True)


def _inplace_overlap(x):
    y = x * 1.0
    y[1:] += y[:-1]        # overlapping operands: NumPy computes from a copy
    y[:-1] *= y[1:]
    return y


add("inplace_overlap", _inplace_overlap, X5, second=True)


def _ufunc_out(x):
    out = np.zeros_like(x)
    np.sin(x, out=out)
    np.multiply(out, x, out=out)
    return out


add("ufunc_out", _ufunc_out, X34)


def _fancy_assign(x):
    out = x.copy()
    out[[0, 2]] = 1.5
    out[1, [1, 3]] = x[2, :2] * x[0, :2]
    out[:, 0] = C3
    return out


add("fancy_assign", _fancy_assign, X34)


def _assign_broadcast(x):
    out = np.zeros((3, 4), like=x)
    out[:] = x[0]                     # a row broadcast over every row
    out[1:, 2] = x[1, 1]              # a 0-d dual broadcast
    return out


add("assign_broadcast", _assign_broadcast, X34,
    ref=lambda x: (lambda o: (o.__setitem__(slice(None), x[0]),
                              o.__setitem__((slice(1, None), 2), x[1, 1]), o)[-1])(
        np.zeros((3, 4), x.dtype)))

# -- indexing
add("index_int", lambda x: x[1], X34)
add("index_negative", lambda x: x[-1, -2], X34)
add("index_slice", lambda x: x[1:3], X34)
add("index_step", lambda x: x[::-1, ::2], X34)
add("index_tuple_mixed", lambda x: x[1, 2:], X34)
add("index_ellipsis", lambda x: x[..., 0], X234)
add("index_ellipsis_middle", lambda x: x[1, ..., ::2], X234)
add("index_newaxis", lambda x: x[None, :, 1], X34)
add("index_newaxis_np", lambda x: x[:, np.newaxis] * C4, X34)
add("index_ellipsis_newaxis", lambda x: x[..., None] * x[..., None, :], X34)
add("index_list", lambda x: x[[0, 2, 2]], X34)
add("index_array_pair", lambda x: x[[0, 1], [2, 3]], X34)
add("index_array_broadcast", lambda x: x[np.array([[0], [2]]), [1, 3]], X34)
add("index_array_slice", lambda x: x[1:, [3, 0]], X34)
add("index_bool_mask", lambda x: x[MASK34], X34)
add("index_bool_values", lambda x: x[x > 0], X34)
add("index_bool_rows", lambda x: x[np.array([True, False, True])], X34)
add("index_scalar_then_op", lambda x: x[0, 0] * x + x[2, 3], X34, second=True)

CASE_IDS = [c.id for c in CASES]
assert len(CASE_IDS) == len(set(CASE_IDS)), "duplicate case ids"
# Second derivatives (nested transforms, hyper-dual buffers) of every case; the
# ones flagged ``second`` are nonlinear ones (prod, norm, var, dual-by-dual
# contractions, in-place updates) that run in float32 as well.
SECOND = CASES
SECOND_F32 = [c for c in CASES if c.second]


# ------------------------------------------------------------------ tests

@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_jacobian(case):
    value, jac = dj.value_and_jacobian(case.g, case.x)
    want_value = case.g(case.x)
    assert np.shape(value) == np.shape(want_value)
    np.testing.assert_allclose(value, want_value, rtol=1e-13, atol=1e-14)
    want = witness_jacobian(case, case.x)
    assert jac is not None, "reported unconnected"
    assert jac.dtype == np.float64
    assert_close(jac, want, *TOL[(case.method, 1)])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_float32(case):
    """float32 inputs: the value has NumPy's dtype for the same call on plain float32
    (float32 unless a float64 constant promotes it), the Jacobian the source's
    (TF's rule), values close to the witness."""
    x = case.x.astype(np.float32)
    value, jac = dj.value_and_jacobian(case.g, x)
    want_dtype = np.asarray(case.g(x)).dtype
    assert value.dtype == want_dtype
    assert jac.dtype == np.float32
    want = witness_jacobian(case, x.astype(np.float64))
    assert_close(jac, want, 1e-4, 1e-5)


@pytest.mark.parametrize("case", SECOND, ids=[c.id for c in SECOND])
def test_second_derivative(case):
    hess = dj.jacobian(lambda z: dj.jacobian(case.g, z), case.x)
    want = witness_hessian(case, case.x)
    assert hess is not None or not np.any(want), "reported unconnected"
    if hess is None:   # g is linear: the inner jacobian does not depend on x (TF's None)
        return
    assert hess.dtype == np.float64
    assert_close(hess, want, *TOL[(case.method, 2)])


@pytest.mark.parametrize("case", SECOND_F32, ids=[c.id for c in SECOND_F32])
def test_second_derivative_float32(case):
    x = case.x.astype(np.float32)
    hess = dj.jacobian(lambda z: dj.jacobian(case.g, z), x)
    assert hess.dtype == np.float32     # the source's dtype (TF's rule)
    want = witness_hessian(case, x.astype(np.float64))
    assert_close(hess, want, 1e-3, 1e-4)


# -- reductions: every axis form, with and without keepdims

REDUCTIONS = {
    "sum": (np.sum, "cs"),
    "mean": (np.mean, "cs"),
    "prod": (np.prod, "cs"),
    "max": (np.max, "fd"),
    "min": (np.min, "fd"),
}
AXES = [None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2)]
XR = spread(2, 3, 4, lo=0.5, hi=1.5) * np.where(RNG.random((2, 3, 4)) > 0.5, 1, -1)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_axes(name, axis, keepdims):
    func, method = REDUCTIONS[name]
    c = Case(name, lambda x: func(x, axis=axis, keepdims=keepdims), XR, method)
    value, jac = dj.value_and_jacobian(c.g, XR)
    np.testing.assert_allclose(value, c.g(XR), rtol=1e-13)
    assert np.shape(value) == np.shape(c.g(XR))
    assert_close(jac, witness_jacobian(c, XR), *TOL[(method, 1)])


@pytest.mark.parametrize("axis", [None, 1, (0, 2)], ids=str)
@pytest.mark.parametrize("name", ["prod", "max"])
def test_reduction_axes_second_derivative(name, axis):
    func, method = REDUCTIONS[name]
    x = XR[:, :2, :3]
    c = Case(name, lambda x: func(x, axis=axis), x, method)
    hess = dj.jacobian(lambda z: dj.jacobian(c.g, z), x)
    assert_close(hess, witness_hessian(c, x), *TOL[(method, 2)])


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)], ids=str)
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_axes(name, axis):
    x = XR[0]
    func = getattr(np, name)
    ref = (lambda v: _var_ref(v, axis)) if name == "var" else (lambda v: np.sqrt(_var_ref(v, axis)))
    c = Case(name, lambda v: func(v, axis=axis), x, "cs", ref)
    value, jac = dj.value_and_jacobian(c.g, x)
    np.testing.assert_allclose(value, func(x, axis=axis), rtol=1e-13)
    assert_close(jac, witness_jacobian(c, x), *TOL[("cs", 1)])


# -- matmul: a dual of another shape on each side, list sources

@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=str)
def test_matmul_list_source(sa, sb):
    a, b = randn(*sa), randn(*sb)
    ja, jb = dj.jacobian(lambda s: s[0] @ s[1], [a, b])
    want_a = complex_step_jacobian(lambda v: v @ b, a)
    want_b = complex_step_jacobian(lambda v: a @ v, b)
    assert_close(ja, want_a, *TOL[("cs", 1)])
    assert_close(jb, want_b, *TOL[("cs", 1)])


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=str)
def test_matmul_list_source_hessian_cross_block(sa, sb):
    """d2 (a @ b) / da db through nested transforms over a list source."""
    a, b = randn(*sa), randn(*sb)
    # inner derivative wrt b, outer wrt a: d/da (d(a@b)/db)
    cross = dj.jacobian(lambda s: dj.jacobian(lambda t: t[0] @ t[1], [s[0], s[1]])[1], [a, b])
    want = complex_step_jacobian(lambda v: complex_step_jacobian_complex_safe(v, b), a)
    assert_close(cross[0], want, 1e-6, 1e-7)
    # d2/db2 of a bilinear map is zero
    np.testing.assert_array_equal(cross[1], 0)


def complex_step_jacobian_complex_safe(a, b):
    """d(a @ b)/db for a complex a: exact (a @ b is linear in b)."""
    eye = np.eye(b.size).reshape((b.size,) + b.shape)
    cols = [a @ e for e in eye]
    return np.stack(cols, axis=-1).reshape(np.shape(a @ b) + b.shape)


# -- creation and connectivity

def test_zeros_like_is_not_connected():
    x = randn(3)
    assert dj.jacobian(np.zeros_like, x) is None
    np.testing.assert_array_equal(
        dj.jacobian(np.zeros_like, x, unconnected_gradients="zero"), np.zeros((3, 3)))
    assert dj.jacobian(lambda z: np.zeros(4, like=z), x) is None


@pytest.mark.parametrize("creator", ["zeros_like", "ones_like", "empty_like"])
def test_like_creation_keeps_dtype(creator):
    for dtype in (np.float32, np.float64):
        x = randn(3).astype(dtype)
        seen = []
        dj.jacobian(lambda z: seen.append(getattr(np, creator)(z)) or z, x)
        assert seen[0].dtype == dtype and seen[0].shape == (3,)
        assert isinstance(seen[0], dj.DualArray)


def test_like_keyword_dtype():
    x = randn(3).astype(np.float32)
    seen = []
    dj.jacobian(lambda z: seen.extend([np.zeros(2, like=z), np.zeros(2, np.float32, like=z)]) or z, x)
    assert seen[0].dtype == np.zeros(2).dtype          # NumPy's default, float64
    assert seen[1].dtype == np.float32


# -- functions with arguments that change the math: either NumPy's result or an error

def _var_where_ref(x, mask, axis, ddof=0):
    count = np.sum(mask, axis=axis)
    mean = np.sum(np.where(mask, x, 0), axis=axis, keepdims=True) / np.sum(mask, axis=axis,
                                                                            keepdims=True)
    centered = np.where(mask, x - mean, 0)
    return np.sum(centered * centered, axis=axis) / (count - ddof)


@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_where(name):
    """np.var / np.std with where=: the statistics of the selected elements."""
    x = XN
    func = getattr(np, name)
    g = lambda v: func(v, axis=1, where=MASK34)
    if name == "var":
        ref = lambda v: _var_where_ref(v, MASK34, 1)
    else:
        ref = lambda v: np.sqrt(_var_where_ref(v, MASK34, 1))
    np.testing.assert_allclose(ref(x), g(x), rtol=1e-13)      # the witness is NumPy's function
    value, jac = dj.value_and_jacobian(g, x)
    np.testing.assert_allclose(value, g(x), rtol=1e-13)
    assert_close(jac, complex_step_jacobian(ref, x), *TOL[("cs", 1)])


MATRIX_NORM_ORDS = [None, "fro", 1, -1, 2, -2, np.inf, -np.inf, "nuc"]


@pytest.mark.parametrize("ord", MATRIX_NORM_ORDS, ids=str)
@pytest.mark.parametrize("axis", [None, (0, 1), (1, 0)], ids=str)
def test_matrix_norm(ord, axis):
    """np.linalg.norm of a matrix (2-D input, or an axis pair): NumPy's matrix norm
    of that order, or a TypeError naming the unsupported order; never another norm."""
    x = XA
    g = lambda v: np.linalg.norm(v, ord, axis=axis)
    try:
        value, jac = dj.value_and_jacobian(g, x)
    except TypeError as error:
        assert "norm" in str(error)
        return
    np.testing.assert_allclose(value, g(x), rtol=1e-13,
                               err_msg=f"np.linalg.norm(x, {ord!r}, axis={axis})")
    assert_close(jac, finite_difference_jacobian(g, x), *TOL[("fd", 1)])


def test_ufunc_where_with_out():
    """A ufunc with where= and out=: NumPy keeps out's entries where the mask is False."""
    x = X34

    def g(v):
        out = np.zeros_like(v) + 0.25 * v
        np.add(v * v, 1.0, where=MASK34, out=out)
        return out

    value, jac = dj.value_and_jacobian(g, x)
    np.testing.assert_allclose(value, g(x), rtol=1e-14)
    assert_close(jac, complex_step_jacobian(g, x), *TOL[("cs", 1)])


@pytest.mark.parametrize("call", [
    "np.full(3, 0.5, dtype=np.float32, like=z)",
    "np.full(3, 0.5, np.float32, like=z)",
    "np.full((2, 3), 2.0, like=z)",
    "np.zeros(3, np.float32, like=z)",
    "np.ones(3, dtype=np.float32, like=z)",
    "np.empty(3, dtype=np.float32, like=z)",
])
def test_creation_like_dtype_and_fill(call):
    """np.zeros / ones / full / empty with like= a dual: NumPy's dtype and fill."""
    x = randn(3)
    want = eval(call, {"np": np, "z": x})
    seen = []
    dj.jacobian(lambda z: seen.append(eval(call, {"np": np, "z": z})) or z, x)
    assert isinstance(seen[0], dj.DualArray)
    assert seen[0].dtype == want.dtype and seen[0].shape == want.shape
    if "empty" not in call:
        np.testing.assert_array_equal(seen[0].value, want)


# -- item assignment across nesting levels

def test_assign_outer_dependent_value_into_inner_container():
    """out = np.zeros_like(x) in an inner transform, filled with values that also
    depend on the outer transform's source p (two levels: supported). The mixed
    derivative d2 out / dx dp is checked against complex step."""
    x0, p0 = randn(3), randn(3)

    def g(x, p, make=np.zeros_like):
        out = make(x)
        out[0] = p[0] * x[1] ** 2
        out[1:] = np.sin(x[:2] * p[1:])
        return out

    # analytic mixed partials: g0 = p0 x1^2, g1 = sin(x0 p1), g2 = sin(x1 p2)
    want = np.zeros((3, 3, 3))
    want[0, 1, 0] = 2 * x0[1]
    for i, (xi, pi) in ((1, (x0[0], p0[1])), (2, (x0[1], p0[2]))):
        want[i, i - 1, i] = np.cos(xi * pi) - xi * pi * np.sin(xi * pi)
    # the formula is checked against complex step over p of central differences over x
    witness = complex_step_jacobian(lambda p: central_jacobian(
        lambda x: g(x, p, lambda v: np.zeros(v.shape, np.complex128)), x0), p0)
    np.testing.assert_allclose(witness, want, atol=1e-8)
    cross = dj.jacobian(lambda p: dj.jacobian(lambda x: g(x, p), x0), p0)   # (3, 3x, 3p)
    assert_close(cross, want, 1e-12, 1e-12)


def central_jacobian(g, x0, h=1e-5):
    """d g / d x by central differences, for g closing over a complex p (complex
    step is taken over p; differences over x keep p's imaginary part)."""
    cols = []
    for i in range(x0.size):
        e = np.zeros(x0.size)
        e[i] = h
        cols.append((g(x0 + e) - g(x0 - e)) / (2 * h))
    return np.stack(cols, axis=-1)
