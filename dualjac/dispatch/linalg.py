"""Linear algebra on jets: det, slogdet, inv, solve, cholesky, cross.

The idea (exact at first and second order)
------------------------------------------
Split a jet matrix A = A0 + dA into its plain value A0 and its derivative part
dA (a jet with value 0). dA is nilpotent: a product of two derivative parts
vanishes for a DualArray (eps^2 = 0) and of three for a HyperDualArray (the
e1 e2 cross term survives one product). So:

* the value is NumPy's own result on A0 (LU, SVD, Cholesky in LAPACK);
* the derivatives come from a fixed-point iteration on the nilpotent part whose
  error gains one order of dA per step: ``a.degree`` steps (1 dual, 2 hyper-dual)
  make it exact, with jet matmuls (product rule) and plain solves with A0;
* a plain solve with A0 is linear, so it acts on every component of a jet at
  once: one np.linalg.solve with the components as extra right-hand sides.
"""

import warnings

import numpy as np

from .. import _core
from .jets import computed, is_jet, is_stand_in, normalize_axis, on_buffer, value_of, with_values
from .registry import implements, serves_stand_ins
from .structural import where_

SlogdetResult = type(np.linalg.slogdet(np.eye(1)))


def _plain_solve(A0, r, vector):
    """A0^-1 r for every component of the jet r (or for a plain r).

    vector: r is (..., n) (NumPy's b.ndim == 1 case, broadcast over A0's stack);
    otherwise r is (..., n, k). The components ride along as extra columns."""
    if not is_jet(r):
        return np.linalg.solve(A0, r)
    buf = r.buf
    if vector:                                   # (..., n, K): K right-hand sides
        return on_buffer(r, np.linalg.solve(A0, buf))
    cols = buf.reshape(buf.shape[:-2] + (-1,))   # (..., n, k*K)
    return on_buffer(r, np.linalg.solve(A0, cols).reshape(
        np.broadcast_shapes(A0.shape[:-2], buf.shape[:-3]) + buf.shape[-3:]))


def _split(a):
    """(A0, dA): plain value and the derivative part (a jet of value 0)."""
    A0 = value_of(a)
    return A0, a - A0


@implements(np.linalg.inv)
def inv(a):
    """X = X0 - X0 dA X (from A X = I), iterated from X0 = inv(A0): the error
    e_k = X - X_k obeys e_{k+1} = -X0 dA e_k, one more order of dA per step.
    Matrices of up to 3 x 3 with finite entries: the adjugate over det (_small_inv)."""
    small = _small_inv(a)
    if small is not None:
        return small
    A0, dA = _split(a)
    X0 = np.linalg.inv(A0)
    X = X0
    for _ in range(a.degree):
        X = X0 - np.matmul(X0, np.matmul(dA, X))
    return X


@implements(np.linalg.solve)
def solve(a, b):
    """x = A0^-1 (b - dA x), iterated from A0^-1 b: exact after a.degree steps
    (error e_{k+1} = -A0^-1 dA e_k). b's derivatives enter linearly."""
    vector = np.ndim(value_of(b)) == 1           # NumPy 2: only a 1-D b is a vector
    if not is_jet(a):
        return _plain_solve(np.asarray(a), b, vector)
    small = _small_solve(a, b, vector)
    if small is not None:
        return small
    A0, dA = _split(a)
    x = _plain_solve(A0, b, vector)
    for _ in range(a.degree):
        dAx = np.einsum("...ij,...j->...i", dA, x) if vector else np.matmul(dA, x)
        x = _plain_solve(A0, b - dAx, vector)
    return x


def _small_solve(a, b, vector):
    """solve for 1 x 1 to 3 x 3 jets a with finite values: the adjugate over det times b
    (exact derivatives at every order, as _small_inv), with NumPy's solve of the values as
    the value; None for larger or non-finite matrices."""
    A0 = _small_matrix_values(a)
    if A0 is None:
        return None
    x0 = np.linalg.solve(A0, value_of(b))
    n = A0.shape[-1]
    C, det = _cofactors(a, n)
    if vector:
        parts = [b[..., j] for j in range(n)]
        terms = lambda i: [C[j][i] / det * parts[j] for j in range(n)]           # noqa: E731
        axis = -1
    else:
        parts = [b[..., j, :] for j in range(n)]
        terms = lambda i: [(C[j][i] / det)[..., None] * parts[j] for j in range(n)]  # noqa: E731
        axis = -2
    rows = []
    for i in range(n):
        row_terms = terms(i)
        total = row_terms[0]
        for term in row_terms[1:]:
            total = total + term
        rows.append(total)
    return with_values(np.stack(rows, axis=axis), x0)


@serves_stand_ins(np.linalg.solve)
def _solve_of_stand_ins(a, b):
    """np.linalg.solve with a deferred jet: a small matrix of jets recorded as the adjugate
    over det times b, NumPy's solve of the values as the value (as eagerly); otherwise (a
    plain matrix, a larger one) on the computed jets."""
    if is_stand_in(a):
        small = _small_solve(a, b, np.ndim(b) == 1)
        if small is not None:
            return small
    return np.linalg.solve(computed(a), computed(b))


def _svd_frame(a):
    """A0 = U diag(s) Vt and N = U^T dA V: dA in the singular bases, where det is
    a polynomial in N with products of singular values as coefficients."""
    A0, dA = _split(a)
    # LAPACK's SVD does not converge on a matrix with a NaN or an infinity, where
    # NumPy's det is nan or inf: decompose the identity there instead, and give
    # it NaN derivative parts (the value still comes from NumPy's det of A0).
    finite = np.isfinite(A0).all(axis=(-2, -1))
    U, s, Vt = np.linalg.svd(np.where(finite[..., None, None], A0, np.eye(A0.shape[-1], dtype=A0.dtype)))
    N = np.matmul(np.matmul(np.swapaxes(U, -1, -2), dA), np.swapaxes(Vt, -1, -2))
    if not finite.all():
        # value 0 (A - A0 was inf - inf there); NaN along the seeds the matrix
        # depends on, 0 along the others (another matrix's entries, say)
        touched = (dA.buf[..., 1:] != 0).any(axis=(-3, -2))[..., None, None, :]
        buf = N.buf.copy()
        keep = finite[..., None, None, None]
        buf[..., :1] = np.where(keep, buf[..., :1], 0.0)
        buf[..., 1:] = np.where(keep, buf[..., 1:], np.where(touched, np.nan, 0.0))
        N = on_buffer(N, buf)
    sign = np.sign(np.linalg.det(U) * np.linalg.det(Vt))   # det(U Vt): exactly +-1
    return A0, s, N, sign


def _leave_out_products(s):
    """P1[i] = prod_{k != i} s_k and P2[i, j] = prod_{k != i, j} s_k (i != j),
    without dividing: singular matrices (zero s_k) keep exact derivatives."""
    one = np.ones_like(s[..., :1])
    before = np.cumprod(np.concatenate([one, s[..., :-1]], -1), -1)           # prod_{k<i}
    after = np.cumprod(np.concatenate([one, s[..., :0:-1]], -1), -1)[..., ::-1]  # prod_{k>i}
    n = s.shape[-1]
    upper = np.arange(n)[:, None] < np.arange(n)                             # k > i
    between = np.cumprod(np.where(upper, s[..., None, :], 1), -1)            # prod_{i<k<=j}
    between = np.concatenate([np.ones_like(between[..., :1]), between[..., :-1]], -1)
    P2 = np.triu(before[..., :, None] * between * after[..., None, :], 1)    # prod_{i<k<j}
    return before * after, P2 + np.swapaxes(P2, -1, -2)


@implements(np.linalg.det)
def det(a):
    """det(A) = det(U Vt) det(diag(s) + N), and by Leibniz's expansion, cut where
    products of three derivative parts vanish,
    det(diag(s) + N) = prod(s) + sum_i P1_i N_ii + sum_{i<j} P2_ij (N_ii N_jj - N_ij N_ji).
    No inverse of A0 appears, so a singular A0 (NumPy's det is 0 there) still gets
    its exact derivatives (the adjugate at rank n-1). Matrices of up to 3 x 3 with
    finite entries take the cofactor expansion instead (_small_det)."""
    small = _small_det(a)
    if small is not None:
        return small
    A0, s, N, sign = _svd_frame(a)
    P1, P2 = _leave_out_products(s)
    d = np.diagonal(N, 0, -2, -1)
    change = np.einsum("...i,...i->...", P1, d)
    if a.degree == 2:   # second-order part: a product of two derivative parts
        change = change + 0.5 * (np.einsum("...ij,...i,...j->...", P2, d, d)
                                 - np.einsum("...ij,...ij,...ji->...", P2, N, N))
    return np.linalg.det(A0) + sign * change


def _small_det(a):
    """det of 1 x 1, 2 x 2 or 3 x 3 jets with finite values by cofactor expansion: a
    polynomial in the entries, so jet products give its derivatives exactly at every
    order (singular matrices included), with NumPy's det of the values as the value.
    A stack of 10^4 3 x 3 matrices takes a dozen jet products instead of a batched SVD
    and its frame (about 20x less time). None for larger or non-finite matrices."""
    A0 = _small_matrix_values(a)
    if A0 is None:
        return None
    expanded = _det_expansion(a, A0.shape[-1])
    return with_values(expanded, np.linalg.det(A0))   # NumPy's value (LU), not the expansion's


def _small_slogdet(a):
    """slogdet of nonsingular 1 x 1 to 3 x 3 jets with finite values: log |det| of the
    cofactor expansion (its derivatives exact at every order), NumPy's slogdet of the
    values as the values; None otherwise (a singular matrix's log |det| is -inf)."""
    A0 = _small_matrix_values(a)
    if A0 is None:
        return None
    sign0, logabs0 = np.linalg.slogdet(A0)
    if not np.all(sign0 != 0):
        return None
    logabs = with_values(np.log(np.abs(_det_expansion(a, A0.shape[-1]))), logabs0)
    return SlogdetResult(_constant_like(logabs, sign0), logabs)


def _constant_like(jet, values):
    """values as a jet of jet's kind with zero derivatives (a piecewise constant result)."""
    if is_stand_in(jet):
        constant = _core.deferred_constant_like(jet, values)
        if constant is not None:
            return constant
        jet = computed(jet)
    buf = np.zeros_like(jet.buf)
    buf[..., 0] = values
    return on_buffer(jet, buf)


def _small_or_computed(function, small_rule):
    """The rule a deferred jet runs for function: small_rule on itself (the cofactor
    expressions recorded, NumPy's results on the values as the values, as eagerly), else
    function on its computed jet."""
    def rule(a):
        small = small_rule(a)
        return small if small is not None else function(computed(a))
    return rule


def _small_matrix_values(a):
    """a's values when a is a stack of finite n x n matrices with n <= 3, else None."""
    A0 = value_of(a)
    n = A0.shape[-1] if A0.ndim >= 2 else 0
    if n == 0 or n > 3 or A0.shape[-2] != n or not np.isfinite(A0).all():
        return None
    return A0


def _det_expansion(a, n):
    """det of the n x n jets a (n <= 3) expanded along the first row."""
    e = lambda i, j: a[..., i, j]                                        # noqa: E731
    if n == 1:
        return e(0, 0) * 1.0
    if n == 2:
        return e(0, 0) * e(1, 1) - e(0, 1) * e(1, 0)
    return (e(0, 0) * (e(1, 1) * e(2, 2) - e(1, 2) * e(2, 1))
            - e(0, 1) * (e(1, 0) * e(2, 2) - e(1, 2) * e(2, 0))
            + e(0, 2) * (e(1, 0) * e(2, 1) - e(1, 1) * e(2, 0)))


def _cofactors(a, n):
    """(C, det): the cofactor jets C[i][j] of the n x n jets a (n <= 3) and det."""
    e = lambda i, j: a[..., i, j]                                        # noqa: E731
    if n == 1:
        C = [[e(0, 0) * 0.0 + 1.0]]
    elif n == 2:
        C = [[e(1, 1), -e(1, 0)], [-e(0, 1), e(0, 0)]]
    else:           # cyclic minors carry the cofactor's sign
        minor = lambda i, j: (e((i + 1) % 3, (j + 1) % 3) * e((i + 2) % 3, (j + 2) % 3)  # noqa: E731
                              - e((i + 1) % 3, (j + 2) % 3) * e((i + 2) % 3, (j + 1) % 3))
        C = [[minor(i, j) for j in range(3)] for i in range(3)]
        # det along the first row from the cofactors themselves (x + e01 C01 is
        # x - e01 m01 of _det_expansion but for the sign of an exact zero), not
        # from the minors again: a solve of 3 x 3 jets records 14 operations fewer
        return C, (e(0, 0) * C[0][0] + e(0, 1) * C[0][1]) + e(0, 2) * C[0][2]
    return C, _det_expansion(a, n)


def _small_inv(a):
    """inv of 1 x 1 to 3 x 3 jets with finite values as the adjugate over the determinant
    (a rational function of the entries: jets give its derivatives exactly at every order),
    with NumPy's inverse of the values as the value (which raises for a singular matrix,
    as NumPy does). 10^4 2 x 2 matrices: one jet division per entry instead of the batched
    matrix products of the iteration."""
    A0 = _small_matrix_values(a)
    if A0 is None:
        return None
    X0 = np.linalg.inv(A0)
    n = A0.shape[-1]
    C, det = _cofactors(a, n)
    rows = [np.stack([C[j][i] / det for j in range(n)], axis=-1) for i in range(n)]
    return with_values(np.stack(rows, axis=-2), X0)


for _function, _small_rule in [(np.linalg.det, _small_det), (np.linalg.inv, _small_inv),
                               (np.linalg.slogdet, _small_slogdet)]:
    serves_stand_ins(_function)(_small_or_computed(_function, _small_rule))


@implements(np.linalg.slogdet)
def slogdet(a):
    """log|det(A0 + dA)| = log|det A0| + tr M - tr(M M) / 2 with M = S^-1 N
    (similar to A0^-1 dA): log det(I + M) cut at second order. The sign is
    piecewise constant: a jet with zero derivatives. Nonsingular matrices of up to 3 x 3
    with finite entries: log|det| of the cofactor expansion on the jets (_small_slogdet)."""
    small = _small_slogdet(a)
    if small is not None:
        return small
    A0, s, N, _ = _svd_frame(a)
    sign0, logabs0 = np.linalg.slogdet(A0)
    with np.errstate(divide="ignore", invalid="ignore"):   # singular: -inf, as NumPy
        M = N / s[..., :, None]
    logabs = logabs0 + np.einsum("...ii->...", M)
    if a.degree == 2:
        logabs = logabs - 0.5 * np.einsum("...ij,...ji->...", M, M)
    # NumPy's log |det| as the value: at a singular matrix M's value parts are 0 / 0
    logabs = with_values(logabs, logabs0)
    buf = np.zeros_like(logabs.buf)
    buf[..., 0] = sign0
    return SlogdetResult(on_buffer(logabs, buf), logabs)


@implements(np.linalg.cholesky)
def cholesky(a, /, *, upper=False):
    """LAPACK reads one triangle of a: S = tril(a) + tril(a, -1)^T (or triu).
    With L = L0 (I + X), X lower triangular, L L^T = S becomes
    X + X^T + X X^T = W := L0^-1 dS L0^-T, solved by X = Phi(W - X X^T) with
    Phi(Y) = strict lower part of Y + diag(Y) / 2, from X = 0: exact after
    a.degree steps (the error gains one order of dS per step)."""
    if upper:
        return np.swapaxes(cholesky(np.swapaxes(a, -1, -2)), -1, -2)
    n = a.shape[-1]
    strictly_lower = np.tri(n, k=-1, dtype=bool)
    S = where_(strictly_lower.T, np.swapaxes(a, -1, -2), a)   # the lower triangle, mirrored
    S0, dS = _split(S)
    L0 = np.linalg.cholesky(S0)
    W = _plain_solve(L0, np.swapaxes(_plain_solve(L0, dS, False), -1, -2), False)
    phi = (np.tri(n, k=-1) + 0.5 * np.eye(n)).astype(L0.dtype)
    X = W * phi
    if a.degree == 2:
        X = (W - np.matmul(X, np.swapaxes(X, -1, -2))) * phi
    return L0 + np.matmul(L0, X)


def _take_component(v, i):
    return v[..., i] if i < v.shape[-1] else 0.0


@implements(np.cross)
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Componentwise products (the product rule does the rest). 2-vectors have
    z = 0; two 2-vectors give the z component only, as NumPy."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a = np.moveaxis(a, normalize_axis(axisa, np.ndim(value_of(a))), -1)
    b = np.moveaxis(b, normalize_axis(axisb, np.ndim(value_of(b))), -1)
    na, nb = np.shape(value_of(a))[-1], np.shape(value_of(b))[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n"
                         "(dimension must be 2 or 3)")
    if na == 2 or nb == 2:
        warnings.warn("Arrays of 2-dimensional vectors are deprecated. Use arrays of "
                      "3-dimensional vectors instead. (deprecated in NumPy 2.0)",
                      DeprecationWarning, stacklevel=3)
    a0, a1, a2 = (_take_component(a, i) for i in range(3))
    b0, b1, b2 = (_take_component(b, i) for i in range(3))
    z = a0 * b1 - a1 * b0
    if na == nb == 2:
        return z
    c = np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, z], axis=-1)
    return np.moveaxis(c, -1, normalize_axis(axisc, c.ndim))


@implements(np.linalg.cross)
def linalg_cross(x1, x2, /, *, axis=-1):
    if np.shape(value_of(x1))[axis] != 3 or np.shape(value_of(x2))[axis] != 3:
        raise ValueError("Both input arrays must be (arrays of) 3-dimensional vectors, "
                         f"but they are {np.shape(value_of(x1))[axis]} and "
                         f"{np.shape(value_of(x2))[axis]} dimensional instead.")
    return cross(x1, x2, axis=axis)
