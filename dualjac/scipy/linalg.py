"""Drop-ins for scipy.linalg: SciPy's signatures, SciPy itself on plain input, and exact
first and second derivatives on jets.

The rules split a jet matrix into its value A0 and its derivative part dA (a jet of value
0; see dualjac/dispatch/linalg.py): factorizations and solves of A0 are SciPy's, and the
derivative parts come from fixed-point iterations in which each step gains one order of dA
(``degree`` steps: 1 for duals, 2 for hyper-duals), with jet matmuls for the products of
derivative parts and plain solves with A0's factors applied to all components at once.
"""

import numpy as np
import scipy.linalg as _linalg

from ._common import (any_jet, degree_of, dense, on_components, refuse_jets, split,
                      traced_as_a_whole, value_of, with_scipy_values)

__all__ = ["solve_triangular", "lu", "lu_factor", "lu_solve", "cho_factor", "cho_solve",
           "cholesky", "solve", "solve_banded", "inv", "det", "expm", "sqrtm"]


def _square(a, name):
    if np.ndim(a) != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"dualjac.scipy.linalg.{name}: on jets the matrix must be square and "
                         f"2-D, got shape {np.shape(a)}; loop over a stack of matrices")


def _left_solve(factor, r, **flags):
    """solve_triangular(factor, r) (plain factor) for every component of r."""
    return on_components(lambda m: _linalg.solve_triangular(factor, m, **flags), r)


def _right_solve(r, factor, **flags):
    """r factor^-1 for every component of r: (factor^-T r^T)^T."""
    flags["trans"] = 1 - flags.get("trans", 0)
    return np.swapaxes(_left_solve(factor, np.swapaxes(r, 0, 1), **flags), 0, 1)


# ---------------------------------------------------------------- triangular solves

def _trans_code(trans):
    codes = {0: 0, 1: 1, 2: 1, "N": 0, "T": 1, "C": 1}   # real: conjugate transpose = transpose
    if trans not in codes:
        raise ValueError(f"dualjac.scipy.linalg: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")
    return codes[trans]


def _triangle(a, lower, unit_diagonal):
    """The part of a that LAPACK reads: one triangle, and no diagonal when it is taken as 1."""
    t = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        t = np.where(np.eye(a.shape[-1], dtype=bool), 0.0, t)
    return t


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     check_finite=True):
    """x with op(T) x = b, T the triangle of a that ``lower`` names (unit diagonal if asked).
    Jets: x = S(b - op(dT) x) from x = S(b), S SciPy's solve with a's value."""
    if not any_jet(a, b):
        return _linalg.solve_triangular(a, b, trans, lower, unit_diagonal, overwrite_b, check_finite)
    a, b = dense(a), dense(b)
    _square(a, "solve_triangular")
    trans = _trans_code(trans)
    A0, dA = split(a)
    flags = dict(trans=trans, lower=lower, unit_diagonal=unit_diagonal)
    x = _left_solve(A0, b, **flags)
    if degree_of(a):
        dT = _triangle(dA, lower, unit_diagonal)
        dT = dT.T if trans else dT
        for _ in range(degree_of(a)):
            x = _left_solve(A0, b - np.matmul(dT, x), **flags)
    return x


# ---------------------------------------------------------------- LU

def _permutation(piv):
    """perm with A[perm] = L U, from LAPACK's row swaps (row i swapped with piv[i], in turn)."""
    perm = np.arange(len(piv))
    for i, p in enumerate(piv):
        perm[i], perm[p] = perm[p], perm[i]
    return perm


def _lu_jets(a):
    """(perm, L, U) with a[perm] = L U, pivots from a's value: L = L0 (I + X),
    U = (I + Y) U0 turn L U = B into X + Y + X Y = W := L0^-1 dB U0^-1, X strictly lower,
    Y upper; iterated from X + Y = W, exact after ``degree`` steps."""
    _square(a, "lu")
    A0, dA = split(a)
    lu0, piv = _linalg.lu_factor(A0)
    perm = _permutation(piv)
    n = a.shape[0]
    L0 = np.tril(lu0, -1) + np.eye(n, dtype=lu0.dtype)
    U0 = np.triu(lu0)
    W = _right_solve(_left_solve(L0, dA[perm], lower=True, unit_diagonal=True), U0)
    strictly_lower = np.tri(n, k=-1, dtype=lu0.dtype)
    upper = 1 - strictly_lower
    X, Y = W * strictly_lower, W * upper
    for _ in range(degree_of(a) - 1):
        R = W - np.matmul(X, Y)
        X, Y = R * strictly_lower, R * upper
    return perm, L0 + np.matmul(L0, X), U0 + np.matmul(Y, U0), piv


def lu(a, permute_l=False, overwrite_a=False, check_finite=True, p_indices=False):
    """a = P L U (SciPy's p, l, u; permute_l returns P L and U). Jets: square matrices,
    pivots from a's value (piecewise constant)."""
    if not any_jet(a):
        return _linalg.lu(a, permute_l, overwrite_a, check_finite, p_indices)
    perm, L, U, _ = _lu_jets(dense(a))
    if permute_l:
        return L[np.argsort(perm)], U
    if p_indices:
        return np.argsort(perm), L, U       # a = L[p] @ U
    P = np.zeros((len(perm),) * 2, dtype=value_of(L).dtype)
    P[perm, np.arange(len(perm))] = 1.0
    return P, L, U


def lu_factor(a, overwrite_a=False, check_finite=True):
    """(lu, piv): L's strictly lower part and U in one matrix, and LAPACK's pivots."""
    if not any_jet(a):
        return _linalg.lu_factor(a, overwrite_a, check_finite)
    _, L, U, piv = _lu_jets(dense(a))
    return np.tril(L, -1) + U, piv


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """x with A x = b (trans 0) or A^T x = b (1, 2), A = P L U from lu_factor."""
    lu_, piv = lu_and_piv
    if not any_jet(lu_, b):
        return _linalg.lu_solve((lu_, piv), b, trans, overwrite_b, check_finite)
    lu_, b = dense(lu_), dense(b)
    perm = _permutation(piv)
    if _trans_code(trans) == 0:
        y = solve_triangular(lu_, b[perm], lower=True, unit_diagonal=True)
        return solve_triangular(lu_, y)
    y = solve_triangular(lu_, b, trans=1)
    y = solve_triangular(lu_, y, trans=1, lower=True, unit_diagonal=True)
    return y[np.argsort(perm)]


# ---------------------------------------------------------------- Cholesky

def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """SciPy's default is the upper factor (a = U^T U), read from a's upper triangle."""
    if not any_jet(a):
        return _linalg.cholesky(a, lower, overwrite_a, check_finite)
    return np.linalg.cholesky(dense(a), upper=not lower)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """(c, lower): the factor in one triangle of c, the other triangle a's own entries
    (as SciPy leaves them)."""
    if not any_jet(a):
        return _linalg.cho_factor(a, lower, overwrite_a, check_finite)
    a = dense(a)
    factor = cholesky(a, lower)
    n = a.shape[-1]
    factor_part = np.tri(n, dtype=bool) if lower else np.tri(n, dtype=bool).T
    return np.where(factor_part, factor, a), lower


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """x with A x = b, A = L L^T (lower) or U^T U from cho_factor."""
    c, lower = c_and_lower
    if not any_jet(c, b):
        return _linalg.cho_solve((c, lower), b, overwrite_b, check_finite)
    c, b = dense(c), dense(b)
    first, second = (0, 1) if lower else (1, 0)
    y = solve_triangular(c, b, trans=first, lower=lower)
    return solve_triangular(c, y, trans=second, lower=lower)


# ---------------------------------------------------------------- general solves

_STRUCTURES = {
    None: "general", "gen": "general", "general": "general",
    "sym": "symmetric", "symmetric": "symmetric", "her": "symmetric", "hermitian": "symmetric",
    "pos": "symmetric", "positive definite": "symmetric",
    "diagonal": "diagonal", "tridiagonal": "tridiagonal",
    "upper triangular": "upper", "lower triangular": "lower",
}


def _as_read(a, assume_a, lower):
    """The matrix SciPy's solver for assume_a sees: symmetric solvers read one triangle,
    diagonal and tridiagonal ones only those diagonals, triangular ones one triangle."""
    if assume_a not in _STRUCTURES:
        raise ValueError(f"dualjac.scipy.linalg.solve: assume_a={assume_a!r} is not one of "
                         f"{sorted(k for k in _STRUCTURES if k)}")
    structure = _STRUCTURES[assume_a]
    n = a.shape[-1]
    if structure == "symmetric":
        kept = np.tri(n, k=-1, dtype=bool)
        kept = kept if lower else kept.T
        return np.where(kept.T, np.swapaxes(a, -1, -2), a)
    if structure in ("diagonal", "tridiagonal"):
        width = 0 if structure == "diagonal" else 1
        offsets = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
        return np.where(offsets <= width, a, 0.0)
    if structure in ("upper", "lower"):
        return np.tril(a) if structure == "lower" else np.triu(a)
    return a


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True,
          assume_a=None, transposed=False):
    """x with A x = b (A^T x = b when transposed), A as the assume_a solver reads a."""
    if not any_jet(a, b):
        return _linalg.solve(a, b, lower, overwrite_a, overwrite_b, check_finite, assume_a, transposed)
    a, b = dense(a), dense(b)
    _square(a, "solve")
    A = _as_read(a, assume_a, lower)
    return np.linalg.solve(A.T if transposed else A, b)


def inv(a, overwrite_a=False, check_finite=True):
    if not any_jet(a):
        return _linalg.inv(a, overwrite_a, check_finite)
    return np.linalg.inv(dense(a))


def det(a, overwrite_a=False, check_finite=True):
    if not any_jet(a):
        return _linalg.det(a, overwrite_a, check_finite)
    return np.linalg.det(dense(a))


# ---------------------------------------------------------------- banded solves

def _band_product(ab, l, u, x):
    """A x for A in LAPACK's band storage (A[i, j] = ab[u + i - j, j]), jets or plain."""
    n = ab.shape[1]
    total = 0.0
    trailing = ((0, 0),) * (np.ndim(x) - 1)
    column = (slice(None),) + (None,) * (np.ndim(x) - 1)
    for offset in range(-u, l + 1):              # offset = i - j
        first, stop = max(0, -offset), min(n, n - offset)
        if stop <= first:
            continue
        term = ab[u + offset, first:stop][column] * x[first:stop]
        total = total + np.pad(term, ((first + offset, n - stop - offset),) + trailing)
    return total


def solve_banded(l_and_u, ab, b, overwrite_ab=False, overwrite_b=False, check_finite=True):
    """x with A x = b, A in LAPACK's band storage. Jets: x = S(b - dA x) from x = S(b)."""
    if not any_jet(ab, b):
        return _linalg.solve_banded(l_and_u, ab, b, overwrite_ab, overwrite_b, check_finite)
    ab, b = dense(ab), dense(b)
    l, u = l_and_u
    AB0, dAB = split(ab)

    def plain(r):
        return on_components(lambda m: _linalg.solve_banded((l, u), AB0, m), r)

    x = plain(b)
    for _ in range(degree_of(ab)):
        x = plain(b - _band_product(dAB, l, u, x))
    return x


# ---------------------------------------------------------------- matrix functions

_PADE = {
    3: (120., 60., 12., 1.),
    5: (30240., 15120., 3360., 420., 30., 1.),
    7: (17297280., 8648640., 1995840., 277200., 25200., 1512., 56., 1.),
    9: (17643225600., 8821612800., 2075673600., 302702400., 30270240., 2162160., 110880.,
        3960., 90., 1.),
    13: (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
         129060195264000., 10559470521600., 670442572800., 33522128640., 1323241920.,
         40840800., 960960., 16380., 182., 1.),
}
# Higham (2005): the largest 1-norm for which the [m/m] Pade approximant is exact to
# double precision; Al-Mohy and Higham (2009) show that the derivatives of the same
# approximant, at the same scaling, are as accurate (the Frechet derivative).
_THETA = {3: 1.495585217958292e-2, 5: 2.539398330063230e-1, 7: 9.504178996162932e-1,
          9: 2.097847961257068e0, 13: 5.371920351148152e0}


def _pade_parts(A, m):
    """U (odd part) and V (even part) of the [m/m] Pade approximant: r = (V - U)^-1 (V + U)."""
    b = _PADE[m]
    eye = np.eye(A.shape[-1])
    powers = [eye, np.matmul(A, A)]
    if m == 13:
        A2 = powers[1]
        A4 = np.matmul(A2, A2)
        A6 = np.matmul(A4, A2)
        U = np.matmul(A, np.matmul(A6, b[13] * A6 + b[11] * A4 + b[9] * A2)
                      + b[7] * A6 + b[5] * A4 + b[3] * A2 + b[1] * eye)
        V = (np.matmul(A6, b[12] * A6 + b[10] * A4 + b[8] * A2)
             + b[6] * A6 + b[4] * A4 + b[2] * A2 + b[0] * eye)
        return U, V
    while len(powers) <= m // 2:
        powers.append(np.matmul(powers[-1], powers[1]))
    odd = sum(b[2 * k + 1] * powers[k] for k in range(m // 2 + 1))
    even = sum(b[2 * k] * powers[k] for k in range(m // 2 + 1))
    return np.matmul(A, odd), even


def expm(A):
    """exp(A), SciPy's value; on jets the derivatives of scaling and squaring with the
    Pade approximant that Higham's (2005) choice gives for A's value (over a stack: for
    the largest norm), run on jets."""
    if not any_jet(A):
        return _linalg.expm(A)
    A = dense(A)
    A0 = value_of(A)
    if A0.ndim < 2 or A0.shape[-1] != A0.shape[-2]:
        raise ValueError(f"dualjac.scipy.linalg.expm: expected a square matrix or a stack of "
                         f"them, got shape {A0.shape}")
    norm = np.max(np.abs(A0).sum(axis=-2), initial=0.0)
    order = next((m for m in (3, 5, 7, 9) if norm <= _THETA[m]), 13)
    squarings = 0
    if order == 13 and norm > _THETA[13]:
        squarings = int(np.ceil(np.log2(norm / _THETA[13])))
    U, V = _pade_parts(A / 2.0 ** squarings, order)
    R = np.linalg.solve(V - U, V + U)
    for _ in range(squarings):
        R = np.matmul(R, R)
    return with_scipy_values(R, _linalg.expm(A0))


def _sylvester_on_components(X0, R):
    """Y with X0 Y + Y X0 = R for every component of the jet R, from the complex Schur
    form X0 = Q T Q^H: column j of Z = Q^H Y Q solves (T + T[j, j]) z_j = c_j - Z[:, :j] T[:j, j]."""
    T, Q = _linalg.schur(X0, output="complex")
    n = X0.shape[0]

    def solve_all(flat):                          # (n, n * K): the components as columns
        C = Q.conj().T @ flat.reshape(n, n, -1).transpose(2, 0, 1) @ Q     # (K, n, n)
        Z = np.zeros_like(C)
        for j in range(n):
            rhs = C[:, :, j] - Z[:, :, :j] @ T[:j, j]
            Z[:, :, j] = _linalg.solve_triangular(T + T[j, j] * np.eye(n), rhs.T).T
        Y = (Q @ Z @ Q.conj().T).real
        return Y.transpose(1, 2, 0).reshape(n, -1)

    return on_components(solve_all, R)


def sqrtm(A, **options):
    """The principal square root X (X @ X = A) of a real matrix with a real one. Jets:
    X = X0 + dX with X0 dX + dX X0 = dA - dX dX, iterated from dX = 0 (Sylvester
    equations solved on all components at once)."""
    if not any_jet(A):
        return _linalg.sqrtm(A, **options)
    if options:
        raise refuse_jets("linalg.sqrtm", f"takes no options on jets ({sorted(options)}); "
                          "call it as sqrtm(A)")
    A = dense(A)
    _square(A, "sqrtm")
    A0, dA = split(A)
    X0 = _linalg.sqrtm(A0)
    if np.iscomplexobj(X0):
        if np.any(X0.imag != 0):
            raise ValueError("dualjac.scipy.linalg.sqrtm: the square root of this matrix is "
                             "complex (a negative real eigenvalue); derivatives are for real "
                             "matrices with real square roots")
        X0 = X0.real
    dX = _sylvester_on_components(X0, dA)
    for _ in range(degree_of(A) - 1):
        dX = _sylvester_on_components(X0, dA - np.matmul(dX, dX))
    return X0 + dX


# The sparsity tracer's arrays have no buffers: SciPy's function on their values, every
# output depending on every traced input.
for _name in __all__:
    globals()[_name] = traced_as_a_whole(getattr(_linalg, _name))(globals()[_name])
