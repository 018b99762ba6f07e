"""Matrix decompositions on jets: eigh, eigvalsh, eig, eigvals, svd, svdvals, qr, and what
is built on them (lstsq, pinv, norm of order 2 / -2 / "nuc", cond, matrix_rank), plus the
matrix chains matrix_power and multi_dot.

The method is linalg.py's (read its docstring): the value is LAPACK's on the plain value A0;
the derivatives come from a fixed-point iteration on the nilpotent derivative part dA, one
more order of dA per step, ``a.degree`` steps (1 dual, 2 hyper-dual). Each decomposition is
written in the frame of A0's own factors, where the unknowns are small:

* eigen:  M = V0^-1 dA V0; find W = I + X, dl with (diag(l0) + M) W = W diag(l0 + dl).
  Off the diagonal X_ij = (E_ij - X_ij dl_j) / (l0_j - l0_i) with E = M + M X, and
  dl = diag(E); the eigenvectors V0 W are then scaled to unit columns (NumPy's norm).
* svd (m >= n): P = U0^T dA V0 and the part of dA V0 outside U0's columns; find V = V0 (I + X),
  U = U0 (I + Y) + Z, s = s0 + D from A V = U S, A^T U = V S: a 2 x 2 system per pair (i, j)
  with determinant s0_i^2 - s0_j^2; diagonals of X, Y from orthonormality.
* qr (m >= n): Q = Q0 (I + Y) + Z, R = R0 + dR from A = Q R with dR upper triangular: the
  strictly lower part of Y is read off (P - Y dR) R0^-1, the rest from orthonormality.

Conventions (docs/semantics.md): the value is NumPy's (its signs and order); derivatives keep
that gauge (U^T dU antisymmetric, eigenvector columns keep their unit norm). Where an output
has no derivative (repeated eigenvalues or singular values for vectors, a rank-deficient
matrix for qr, lstsq, pinv; a value-only result whose repeated values the perturbation splits)
a ValueError names the function, the values and a way out: never a NaN.
"""

import operator

import numpy as np

from .jets import is_jet, normalize_axes, reject_out, value_of, with_values
from .linalg import _plain_solve, _split
from .reductions import norm as _norm_without_spectrum
from .reductions import sum_
from .registry import implements, implements_composite
from .structural import where_

SVDResult = type(np.linalg.svd(np.eye(1)))
EighResult = type(np.linalg.eigh(np.eye(1)))
EigResult = type(np.linalg.eig(np.eye(1)))
QRResult = type(np.linalg.qr(np.eye(1)))


# ---------------------------------------------------------------- helpers

def _t(x):
    return np.swapaxes(x, -1, -2)


def _diag_of(x):
    return np.diagonal(x, 0, -2, -1)


def _as_diag(v, n, dtype):
    """A (..., n) jet as (..., n, n) diagonal matrices."""
    return v[..., None, :] * np.eye(n, dtype=dtype)


def _relative_tolerance(dtype):
    """Gaps (and singular values) below this fraction of the largest magnitude count as zero:
    there a first derivative has a relative error of about eps / gap or worse."""
    return np.sqrt(np.finfo(dtype).eps)


def _same_values(values):
    """same[..., i, j]: values i and j count as one repeated value (i == j included)."""
    scale = np.max(np.abs(values), axis=-1, keepdims=True)[..., None]
    gap = np.abs(values[..., :, None] - values[..., None, :])
    return gap <= _relative_tolerance(values.dtype) * scale


def _repeated_error(name, values, same, what, fix):
    where = np.argwhere((same & ~np.eye(same.shape[-1], dtype=bool)).any(-1))[0]
    row = tuple(where[:-1])
    shown = values[row][same[row][where[-1]]]
    at = f" (matrix {row})" if row else ""
    return ValueError(
        f"dualjac: {name}: {what} {np.array2string(shown, precision=6)}{at} are repeated "
        f"(closer than {_relative_tolerance(values.dtype):.1e} times the largest), where they "
        f"have no derivative. {fix}")


def _unit_columns(v, v0):
    """v scaled to unit columns, with v0 (NumPy's values) as its value."""
    return with_values(v / np.sqrt(sum_(v * v, axis=-2, keepdims=True)), v0)


def _symmetric_from(a, uplo, name):
    """The symmetric matrix LAPACK reads from one triangle of a (UPLO 'L' or 'U')."""
    if uplo not in ("L", "U", "l", "u"):
        raise ValueError(f"{name}: UPLO argument must be 'L' or 'U'")
    n = a.shape[-1]
    outside = np.tri(n, k=-1, dtype=bool).T if uplo in ("L", "l") else np.tri(n, k=-1, dtype=bool)
    return where_(outside, _t(a), a)


def _require_square(a, name):
    if np.ndim(value_of(a)) < 2 or a.shape[-1] != a.shape[-2]:
        raise np.linalg.LinAlgError("Last 2 dimensions of the array must be square")


def _check_splitting(name, values, same, off_diagonal, diagonal, what, fix):
    """A value-only result at repeated values: exact when, within every cluster, the
    effective perturbation (off_diagonal, a jet (..., n, n), and diagonal, (..., n)) is a
    multiple of the identity in every derivative component; otherwise the perturbation
    splits the cluster, the sorted values have a kink, and a ValueError says so."""
    cluster = same & ~np.eye(same.shape[-1], dtype=bool)
    if not cluster.any():
        return
    off, diag = off_diagonal.buf[..., 1:], diagonal.buf[..., 1:]
    scale = np.maximum(np.max(np.abs(off), axis=(-3, -2), keepdims=True), np.finfo(off.dtype).tiny)
    tolerance = _relative_tolerance(off.dtype) * scale
    coupled = np.abs(off) > tolerance
    uneven = np.abs(diag[..., :, None, :] - diag[..., None, :, :]) > tolerance
    if ((coupled | uneven) & cluster[..., None]).any():
        raise _repeated_error(name, values, same, what, fix)


# ---------------------------------------------------------------- eigenvalues

def _eigen_iteration(M, l0, degree, same):
    """X (zero diagonal, zero within clusters), dl and E = M + M X, exact to `degree`."""
    dtype = l0.dtype
    with np.errstate(divide="ignore"):
        F = np.where(same, 0, 1 / (l0[..., None, :] - l0[..., :, None])).astype(dtype)
    X, E = None, M
    for _ in range(degree):
        E = M if X is None else M + np.matmul(M, X)
        dl = _diag_of(E)
        X = F * (E if X is None else E - X * dl[..., None, :])
    return X, dl, E


EIG_FIX = ("Differentiate a function of the whole cluster (its sum: np.trace), or "
           "perturb the matrix so that they differ.")


def _eigen(name, l0, V0, M, degree, vectors):
    same = _same_values(l0)
    if vectors and (same & ~np.eye(l0.shape[-1], dtype=bool)).any():
        raise _repeated_error(name, l0, same, "eigenvalues",
                              "Eigenvectors are not unique there. " + EIG_FIX)
    X, dl, E = _eigen_iteration(M, l0, degree, same)
    if not vectors:
        _check_splitting(name, l0, same, E, dl, "eigenvalues", "The perturbation splits them. " + EIG_FIX)
        return l0 + dl, None
    V = V0 + np.matmul(V0.astype(l0.dtype), X)
    return l0 + dl, _unit_columns(V, V0)


def _eigh_frame(a, uplo, name):
    _require_square(a, name)
    S0, dS = _split(_symmetric_from(a, uplo, name))
    l0, V0 = np.linalg.eigh(S0)
    return l0, V0, np.matmul(_t(V0), np.matmul(dS, V0))


@implements(np.linalg.eigh)
def eigh(a, UPLO="L"):
    """Symmetric eigendecomposition (one triangle of a, as LAPACK reads it)."""
    l0, V0, M = _eigh_frame(a, UPLO, "np.linalg.eigh")
    l, V = _eigen("np.linalg.eigh", l0, V0, M, a.degree, vectors=True)
    return EighResult(l, V)


@implements(np.linalg.eigvalsh)
def eigvalsh(a, UPLO="L"):
    l0, V0, M = _eigh_frame(a, UPLO, "np.linalg.eigvalsh")
    return _eigen("np.linalg.eigvalsh", l0, V0, M, a.degree, vectors=False)[0]


def _eig_frame(a, name):
    _require_square(a, name)
    A0, dA = _split(a)
    w0, V0 = np.linalg.eig(A0)
    if np.iscomplexobj(w0):
        raise ValueError(
            f"dualjac: {name}: the matrix has complex eigenvalues; dual arrays hold real "
            "numbers, so only a real spectrum is supported. For a symmetric matrix use "
            "np.linalg.eigh / eigvalsh; or apply it to x.value to differentiate nothing.")
    try:
        M = _plain_solve(V0, np.matmul(dA, V0), False)   # V0^-1 dA V0
    except np.linalg.LinAlgError:
        raise ValueError(f"dualjac: {name}: the matrix is defective (its eigenvectors do "
                         "not span the space); its eigenvalues have no derivative there.") from None
    return w0, V0, M


@implements(np.linalg.eig)
def eig(a):
    """Real spectra only; eigenvectors keep NumPy's unit columns."""
    w0, V0, M = _eig_frame(a, "np.linalg.eig")
    w, V = _eigen("np.linalg.eig", w0, V0, M, a.degree, vectors=True)
    return EigResult(w, V)


@implements(np.linalg.eigvals)
def eigvals(a):
    w0, V0, M = _eig_frame(a, "np.linalg.eigvals")
    return _eigen("np.linalg.eigvals", w0, V0, M, a.degree, vectors=False)[0]


# ---------------------------------------------------------------- singular values

SVD_FIX = ("Differentiate a function of the whole cluster (np.linalg.norm(a, 'nuc'), "
           "np.sum(s ** 2)), or perturb the matrix so that they differ.")


def _svd_pair_solve(G, H, s, same, zero):
    """X_ij, Y_ij from s_i X - s_j Y = G, s_i Y - s_j X = H (i != j). Within a cluster of
    equal nonzero s only X - Y is fixed: the gauge X + Y = 0 is taken; zero clusters: 0."""
    dtype = s.dtype
    si, sj = s[..., :, None], s[..., None, :]
    cluster = same & ~np.eye(s.shape[-1], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_det = np.where(same, 0, 1 / (si * si - sj * sj)).astype(dtype)
        in_cluster = np.where(cluster & ~zero[..., :, None], 1 / (4 * si), 0).astype(dtype)
    X = (G * si + H * sj) * inv_det + (G - H) * in_cluster
    Y = (G * sj + H * si) * inv_det - (G - H) * in_cluster
    return X, Y


def _svd_tall(a, degree, name, vectors, summed=False):
    """(U0, s0, V0, U, s, V) for m >= n; U, V None unless vectors. summed: only the sum of
    the values is wanted, which is smooth at repeated nonzero values (the trace of the
    cluster's effective block), so only zero clusters are checked."""
    A0, dA = _split(a)
    U0, s0, Vt0 = np.linalg.svd(A0, full_matrices=False)
    V0 = _t(Vt0)
    m, n = A0.shape[-2:]
    dtype = s0.dtype
    dAV = np.matmul(dA, V0)
    P = np.matmul(_t(U0), dAV)
    outside = dAV - np.matmul(U0, P) if m > n else None     # (I - U0 U0^T) dA V0
    same = _same_values(s0)
    zero = s0 <= _relative_tolerance(dtype) * np.max(s0, axis=-1, keepdims=True)
    if vectors and (same & ~np.eye(n, dtype=bool)).any():
        raise _repeated_error(name, s0, same, "singular values",
                              "Singular vectors are not unique there. " + SVD_FIX)
    if outside is not None and zero.any() and (vectors or degree > 1):
        raise ValueError(
            f"dualjac: {name}: the {m} x {n} matrix has a zero singular value (rank "
            f"deficient); its {'singular vectors have' if vectors else 'singular values have no second derivative and'} "
            "no derivative there. Use a square matrix, or full-rank input.")
    X = Y = Z = None
    D = _diag_of(P)
    for _ in range(degree):
        PX = P if X is None else P + np.matmul(P, X)
        PtY = _t(P) if Y is None else _t(P) + np.matmul(_t(P), Y)
        if Z is not None:
            PtY = PtY + np.matmul(_t(outside), Z)
        G, H = -PX, -PtY
        if X is not None:
            G, H = G + Y * D[..., None, :], H + X * D[..., None, :]
        D_next = 0.5 * _diag_of(PX + PtY)
        X_next, Y_next = _svd_pair_solve(G, H, s0, same, zero)
        if X is not None:   # diagonals from orthonormality (second order)
            X_next = X_next - 0.5 * _as_diag(_diag_of(np.matmul(_t(X), X)), n, dtype)
            YY = np.matmul(_t(Y), Y) + (0 if Z is None else np.matmul(_t(Z), Z))
            Y_next = Y_next - 0.5 * _as_diag(_diag_of(YY), n, dtype)
        if outside is not None and not zero.any():
            Zn = outside if X is None else outside + np.matmul(outside, X)
            if Z is not None:
                Zn = Zn - Z * D[..., None, :]
            Z = Zn / s0[..., None, :]
        X, Y, D = X_next, Y_next, D_next
    if not vectors:
        fix = "The perturbation splits them. " + SVD_FIX
        if not summed:
            _check_splitting(name, s0, same, G + H, D, "singular values", fix)
        # at a zero cluster both equations are homogeneous: G and H must vanish apart
        _check_splitting(name, s0, same & zero[..., :, None], G - H, D, "singular values", fix)
        return U0, s0, V0, None, s0 + D, None
    U = U0 + np.matmul(U0, Y) + (0 if Z is None else Z)
    V = V0 + np.matmul(V0, X)
    return U0, s0, V0, with_values(U, U0), s0 + D, with_values(V, V0)


def _complete_basis(Q, Q0_rest):
    """Columns orthonormal to Q's and to each other, nearest to Q0_rest (NumPy's completion
    at the value): (I - Q Q^T) Q0_rest (I + N / 2), N = T^T T, T = Q^T Q0_rest. N is a
    product of two derivative parts, so (I - N)^(-1/2) = I + N / 2 exactly."""
    T = np.matmul(_t(Q), Q0_rest)
    B = Q0_rest - np.matmul(Q, T)
    return with_values(B + 0.5 * np.matmul(B, np.matmul(_t(T), T)), Q0_rest)


@implements(np.linalg.svd)
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    name = "np.linalg.svd"
    if hermitian:
        raise TypeError("dualjac: np.linalg.svd(..., hermitian=True) has no derivative rule; "
                        "use hermitian=False (the same singular values) or np.linalg.eigh.")
    if np.ndim(value_of(a)) < 2:
        raise np.linalg.LinAlgError(f"{np.ndim(value_of(a))}-dimensional array given. "
                                    "Array must be at least two-dimensional")
    m, n = a.shape[-2:]
    wide = m < n
    tall = _t(a) if wide else a
    U0, s0, V0, U, s, V = _svd_tall(tall, a.degree, name, compute_uv)
    if not compute_uv:
        return s
    if full_matrices and U.shape[-2] != U.shape[-1]:
        U_rest = np.linalg.svd(value_of(tall))[0][..., U.shape[-1]:]
        U = np.concatenate([U, _complete_basis(U, U_rest)], axis=-1)
    if wide:
        U, V = V, U
    return SVDResult(U, s, _t(V))


def _singular_values(a, name, summed=False):
    if np.ndim(value_of(a)) < 2:
        raise np.linalg.LinAlgError(f"{np.ndim(value_of(a))}-dimensional array given. "
                                    "Array must be at least two-dimensional")
    tall = _t(a) if a.shape[-2] < a.shape[-1] else a
    return _svd_tall(tall, a.degree, name, False, summed)[4]


@implements(np.linalg.svdvals)
def svdvals(x, /):
    return _singular_values(x, "np.linalg.svdvals")


@implements(np.linalg.matrix_rank)
def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """An integer: no derivative (NumPy's count on the values)."""
    return np.linalg.matrix_rank(value_of(A), value_of(tol), hermitian, rtol=value_of(rtol))


@implements(np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims=False):
    """Matrix norms of order 2 (largest singular value), -2 (smallest) and "nuc" (their
    sum); every other norm is reductions.norm's composition."""
    if ord not in (2, -2, "nuc") or not _is_matrix_norm(x, axis):
        return _norm_without_spectrum(x, ord, axis, keepdims)
    axes = normalize_axes((-2, -1) if axis is None else axis, x.ndim)
    if len(set(axes)) != 2:
        raise ValueError("Duplicate axes given.")
    moved = np.moveaxis(x, axes, (-2, -1))
    s = _singular_values(moved, f"np.linalg.norm(ord={ord!r})", summed=ord == "nuc")
    result = {2: lambda: s[..., 0], -2: lambda: s[..., -1], "nuc": lambda: sum_(s, axis=-1)}[ord]()
    if keepdims:
        for axis_ in sorted(axes):
            result = np.expand_dims(result, axis_)
    return result


def _is_matrix_norm(x, axis):
    if axis is None:
        return x.ndim == 2
    return isinstance(axis, (tuple, list)) and len(axis) == 2


@implements(np.linalg.cond)
def cond(x, p=None):
    """p None / 2 / -2: a ratio of singular values; other p: norm(x, p) norm(inv(x), p)."""
    if p in (None, 2, -2):
        s = _singular_values(x, "np.linalg.cond")
        return s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    _require_square(x, "np.linalg.cond")
    return (np.linalg.norm(x, p, axis=(-2, -1))
            * np.linalg.norm(np.linalg.inv(x), p, axis=(-2, -1)))


# ---------------------------------------------------------------- qr

def _qr_tall(a, degree, name):
    """Q (m x n), R (n x n) for m >= n with independent columns."""
    A0, dA = _split(a)
    Q0, R0 = np.linalg.qr(A0)
    m, n = A0.shape[-2:]
    dtype = R0.dtype
    pivots = np.abs(_diag_of(R0))
    if (pivots <= _relative_tolerance(dtype) * np.max(pivots, axis=-1, keepdims=True)).any() \
            or not pivots.all():
        raise ValueError(
            f"dualjac: {name}: the matrix's columns are (numerically) dependent: QR's "
            "factors have no derivative at a rank-deficient matrix. Use full-rank input (for "
            "a wide matrix its first square block must be invertible).")

    def right_solve(J):          # J R0^-1, for every component of the jet J
        return _t(_plain_solve(_t(R0), _t(J), False))

    P = np.matmul(_t(Q0), dA)
    outside = dA - np.matmul(Q0, P) if m > n else None      # (I - Q0 Q0^T) dA
    below = np.tri(n, k=-1, dtype=bool)
    upper = ~below
    Y = Z = dR = None
    for _ in range(degree):
        C = right_solve(P if Y is None else P - np.matmul(Y, dR))
        lower = where_(below, C, 0.0)
        Y_next = lower - _t(lower)
        if Y is not None:   # the rest of Y from Y + Y^T + Y^T Y + Z^T Z = 0
            N = np.matmul(_t(Y), Y) + (0 if Z is None else np.matmul(_t(Z), Z))
            Y_next = Y_next - where_(upper, N, 0.0) + 0.5 * _as_diag(_diag_of(N), n, dtype)
        if outside is not None:
            Z = right_solve(outside if Z is None else outside - np.matmul(Z, dR))
        dR = where_(upper, np.matmul(C - Y_next, R0), 0.0)
        Y = Y_next
    Q = Q0 + np.matmul(Q0, Y) + (0 if Z is None else Z)
    return with_values(Q, Q0), with_values(R0 + dR, R0)


@implements(np.linalg.qr)
def qr(a, mode="reduced"):
    """modes 'reduced', 'complete', 'r'; a wide matrix factors its first square block."""
    name = "np.linalg.qr"
    if mode == "raw":
        raise TypeError("dualjac: np.linalg.qr(mode='raw') (Householder reflectors) has no "
                        "derivative rule; use mode='reduced' or 'complete'.")
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"Unrecognized mode '{mode}'")
    if np.ndim(value_of(a)) < 2:
        raise np.linalg.LinAlgError(f"{np.ndim(value_of(a))}-dimensional array given. "
                                    "Array must be at least two-dimensional")
    m, n = a.shape[-2:]
    if m >= n:
        Q, R = _qr_tall(a, a.degree, name)
    else:
        Q, R = _qr_tall(a[..., :m], a.degree, name)
        R = np.concatenate([R, np.matmul(_t(Q), a[..., m:])], axis=-1)
    if mode == "complete" and m > n:
        Q_rest = np.linalg.qr(value_of(a), mode="complete")[0][..., n:]
        Q = np.concatenate([Q, _complete_basis(Q, Q_rest)], axis=-1)
        R = np.concatenate([R, np.zeros(R.shape[:-2] + (m - n, n), R.dtype)], axis=-2)
    if mode == "r":
        return R
    return QRResult(Q, R)


# ---------------------------------------------------------------- least squares

def _rank_deficiency(name, s0, rcond):
    """ValueError if NumPy's cutoff (s <= rcond * max s) drops a singular value."""
    cutoff = rcond * np.max(s0, axis=-1, keepdims=True)
    dropped = s0 <= cutoff
    if dropped.any():
        rank = np.sum(~dropped, axis=-1)
        return ValueError(
            f"dualjac: {name}: the matrix is rank deficient (rank {rank.min()} of "
            f"{s0.shape[-1]} by NumPy's cutoff {float(np.max(cutoff)):.2e}); its "
            "pseudo-inverse jumps with the rank there, so it has no derivative. Drop the "
            "dependent columns or rows, or regularize (solve (A^T A + lam I) x = A^T b).")
    return None


def _min_norm_solve(a, b):
    """pinv(a) @ b for a full-rank a, through QR (never the normal equations)."""
    m, n = np.shape(value_of(a))[-2:]
    if m >= n:
        Q, R = np.linalg.qr(a)
        return np.linalg.solve(R, np.matmul(_t(Q), b))
    Q, R = np.linalg.qr(_t(a))                     # a = R^T Q^T
    return np.matmul(Q, np.linalg.solve(_t(R), b))


@implements(np.linalg.pinv)
def pinv(a, rcond=None, hermitian=False, *, rtol=np._NoValue):
    """Full rank only: a tall a gives R^-1 Q^T, a wide one Q R^-T (a^T = Q R)."""
    A0 = value_of(a)
    if rcond is None:
        rcond = 1e-15 if rtol is np._NoValue else (
            max(A0.shape[-2:]) * np.finfo(A0.dtype).eps if rtol is None else rtol)
    elif rtol is not np._NoValue:
        raise ValueError("`rtol` and `rcond` can't be both set.")
    if hermitian:
        a = _symmetric_from(a, "L", "np.linalg.pinv")
        A0 = value_of(a)
    s0 = np.linalg.svd(A0, compute_uv=False)
    error = _rank_deficiency("np.linalg.pinv", s0, np.asarray(value_of(rcond))[..., None])
    if error is not None:
        raise error
    m, n = A0.shape[-2:]
    if m >= n:
        Q, R = np.linalg.qr(a)
        return np.linalg.solve(R, _t(Q))
    Q, R = np.linalg.qr(_t(a))                     # a = R^T Q^T: pinv(a) = Q R^-T
    eye = np.broadcast_to(np.eye(m, dtype=A0.dtype), A0.shape[:-2] + (m, m))
    return np.matmul(Q, _t(np.linalg.solve(R, eye)))


@implements(np.linalg.lstsq)
def lstsq(a, b, rcond=None):
    """(x, residuals, rank, s) as NumPy, full-rank a only; s's derivatives are svdvals'."""
    A0, B0 = value_of(a), value_of(b)
    if np.ndim(A0) != 2 or np.ndim(B0) not in (1, 2) or A0.shape[0] != B0.shape[0]:
        np.linalg.lstsq(np.zeros(np.shape(A0)), np.zeros(np.shape(B0)))   # NumPy's error
    m, n = A0.shape
    rcond = np.finfo(A0.dtype).eps * max(m, n) if rcond is None else rcond
    s0 = np.linalg.svd(A0, compute_uv=False)
    error = _rank_deficiency("np.linalg.lstsq", s0, rcond)
    if error is not None:
        raise error
    x = _min_norm_solve(a, b)
    if m > n:
        r = b - (np.matmul(a, x))
        residuals = sum_(r * r, axis=0, keepdims=np.ndim(B0) == 1)
    else:
        residuals = np.ravel(x)[:0]
    s = _singular_values(a, "np.linalg.lstsq") if is_jet(a) else s0
    return x, residuals, np.int32(min(m, n)), s     # LAPACK's integer, as NumPy


# ---------------------------------------------------------------- matrix chains

@implements_composite(np.linalg.matrix_power)
def matrix_power(a, n):
    """Repeated squaring with matmul (NumPy's order); negative n through inv."""
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError("exponent must be an integer") from None
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise np.linalg.LinAlgError("Last 2 dimensions of the array must be square")
    if n < 0:
        a, n = np.linalg.inv(a), -n
    if n == 0:
        return np.zeros_like(a) + np.eye(a.shape[-1], dtype=a.dtype)
    result, power = None, a
    while True:
        if n & 1:
            result = power if result is None else np.matmul(result, power)
        n >>= 1
        if not n:
            return result
        power = np.matmul(power, power)


@implements_composite(np.linalg.multi_dot)
def multi_dot(arrays, *, out=None):
    """np.dot left to right (NumPy reorders for speed only; the product is the same)."""
    reject_out(out, "np.linalg.multi_dot")
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    for k, array in enumerate(arrays):
        edge = k in (0, len(arrays) - 1)
        if np.ndim(array) != 2 and not (edge and np.ndim(array) == 1):
            raise np.linalg.LinAlgError(f"{np.ndim(array)}-dimensional array given. "
                                        "Array must be two-dimensional")
    result = arrays[0]
    for array in arrays[1:]:
        result = np.dot(result, array)
    return result
