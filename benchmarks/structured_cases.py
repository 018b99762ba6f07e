"""Structured cases: sparse Jacobians and Hessians of local (stencil) code, each written
in several spellings of the same math, with hand-written sparsity patterns and
references computed without dualjac.

Every spelling takes the array namespace as `np` (NumPy by default). Spellings marked
`functional` use no in-place writes and no `like=`, so they also run under `jax.numpy`;
the others are NumPy idioms (slice assignment into `np.zeros_like`, ghost-cell buffers)
that an immutable-array library cannot express.

    python benchmarks/structured_cases.py      # self-check: spellings agree, references

References: complex-step derivatives (exact to rounding) of the NumPy function, one
evaluation per color of the hand pattern (columns of one color share no row, so one
complex perturbation recovers all of them); analytic gradients and Hessians for the
optimisation cases, cross-checked against complex step of f and of the gradient.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy
import scipy.sparse as sp
from scipy.optimize._numdiff import group_columns

CS_STEP = 1e-30  # complex step: no subtraction, so the step can be tiny


@dataclass
class Spelling:
    name: str
    fn: Callable            # fn(x, np=numpy)
    functional: bool = True  # runs under jax.numpy too


@dataclass
class Family:
    """One function in several spellings, at a given size."""
    name: str
    kind: str                               # "jacobian" | "hessian"
    spellings: list
    make_x: Callable                        # n -> input array (its size is ~n)
    pattern: Callable                       # x -> csr bool (rows: f(x).size or x.size)
    gradient: Callable | None = None        # hessian kinds: analytic gradient of flat x
    description: str = ""


# --------------------------------------------------------------------------- helpers

@functools.lru_cache(maxsize=64)
def edge_mask(shape, axis, side):
    """1.0 everywhere except 0.0 on one edge (side -1: first entry along axis, +1: last):
    multiplying a rolled array by it zeroes the wrapped-around entry, math unchanged."""
    mask = numpy.ones(shape)
    index = [slice(None)] * len(shape)
    index[axis] = 0 if side < 0 else -1
    mask[tuple(index)] = 0.0
    mask.setflags(write=False)
    return mask


def neighbors_1d(x, np, how):
    """(x[i-1], x[i+1]) with zeros beyond both ends, spelled `how`."""
    if how == "slices":
        zero = x[:1] * 0.0
        return np.concatenate([zero, x[:-1]]), np.concatenate([x[1:], zero])
    if how == "zeros_like":
        zero = np.zeros(1, like=x)
        return np.concatenate([zero, x[:-1]]), np.concatenate([x[1:], zero])
    if how == "zeros":
        zero = np.zeros(1)
        return np.concatenate([zero, x[:-1]]), np.concatenate([x[1:], zero])
    if how == "pad":
        padded = np.pad(x, 1)
        return padded[:-2], padded[2:]
    if how == "roll":
        return (np.roll(x, 1) * edge_mask(x.shape, 0, -1),
                np.roll(x, -1) * edge_mask(x.shape, 0, +1))
    raise ValueError(how)


def neighbor_sum_2d(u, np, how):
    """Sum of the four neighbours of each point of u (zero outside the grid)."""
    if how in ("slices", "zeros_like", "zeros"):
        k = u.shape[1]
        if how == "slices":
            row, col = u[:1] * 0.0, u[:, :1] * 0.0
        elif how == "zeros_like":
            row, col = np.zeros((1, k), like=u), np.zeros((u.shape[0], 1), like=u)
        else:
            row, col = np.zeros((1, k)), np.zeros((u.shape[0], 1))
        return (np.concatenate([row, u[:-1]], axis=0) + np.concatenate([u[1:], row], axis=0)
                + np.concatenate([col, u[:, :-1]], axis=1) + np.concatenate([u[:, 1:], col], axis=1))
    if how == "pad":
        p = np.pad(u, 1)
        return p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]
    if how == "roll":
        s = u.shape
        return (np.roll(u, 1, axis=0) * edge_mask(s, 0, -1) + np.roll(u, -1, axis=0) * edge_mask(s, 0, +1)
                + np.roll(u, 1, axis=1) * edge_mask(s, 1, -1) + np.roll(u, -1, axis=1) * edge_mask(s, 1, +1))
    if how == "assign":   # accumulate into a zeros_like array, slice by slice
        total = np.zeros_like(u)
        total[1:] += u[:-1]
        total[:-1] += u[1:]
        total[:, 1:] += u[:, :-1]
        total[:, :-1] += u[:, 1:]
        return total
    if how == "ghost":    # ghost-cell buffer filled in place, read through views
        buf = np.zeros((u.shape[0] + 2, u.shape[1] + 2), dtype=u.dtype, like=u)
        inner = buf[1:-1, 1:-1]
        inner[...] = u
        return buf[:-2, 1:-1] + buf[2:, 1:-1] + buf[1:-1, :-2] + buf[1:-1, 2:]
    raise ValueError(how)


SHIFT_SPELLINGS = ("slices", "zeros_like", "zeros", "pad", "roll")
NOT_FUNCTIONAL = ("zeros_like", "assign", "ghost", "views")


def _family_spellings(make, names):
    return [Spelling(h, functools.partial(make, how=h), h not in NOT_FUNCTIONAL) for h in names]


# --------------------------------------------------------------------------- 1. Broyden

def broyden(x, np=numpy, how="slices"):
    """Broyden tridiagonal residual (3 - 2x)x - x[i-1] - 2x[i+1] + 1, zero boundaries."""
    if how == "assign":
        out = np.zeros_like(x)
        out[1:-1] = (3.0 - 2.0 * x[1:-1]) * x[1:-1] - x[:-2] - 2.0 * x[2:] + 1.0
        out[:1] = (3.0 - 2.0 * x[:1]) * x[:1] - 2.0 * x[1:2] + 1.0
        out[-1:] = (3.0 - 2.0 * x[-1:]) * x[-1:] - x[-2:-1] + 1.0
        return out
    if how == "views":
        out = np.empty_like(x)
        mid = out[1:-1]
        mid[...] = (3.0 - 2.0 * x[1:-1]) * x[1:-1] - x[:-2] - 2.0 * x[2:] + 1.0
        out[0] = (3.0 - 2.0 * x[0]) * x[0] - 2.0 * x[1] + 1.0
        out[-1] = (3.0 - 2.0 * x[-1]) * x[-1] - x[-2] + 1.0
        return out
    left, right = neighbors_1d(x, np, how)
    return (3.0 - 2.0 * x) * x - left - 2.0 * right + 1.0


def band_pattern(n, offsets):
    """csr bool n x n with ones on the given diagonals."""
    return sp.csr_array(sp.diags([numpy.ones(n - abs(o)) for o in offsets], list(offsets),
                                 shape=(n, n), dtype=bool))


def _broyden_x(n):
    return numpy.linspace(-1.0, 1.0, n) * 0.7 + 0.1


BROYDEN = Family(
    "stencil_1d", "jacobian",
    _family_spellings(broyden, SHIFT_SPELLINGS + ("assign", "views")),
    _broyden_x, lambda x: band_pattern(x.size, (-1, 0, 1)),
    description="Broyden tridiagonal residual, n unknowns")


# --------------------------------------------------------------------------- 2. 2-D stencil

def reaction_diffusion_2d(u, np=numpy, how="slices"):
    """Laplacian(u) + u(1 - u) on a k x k grid, h = 1/(k+1), zero Dirichlet boundaries."""
    inv_h2 = float((u.shape[0] + 1) ** 2)
    return inv_h2 * (neighbor_sum_2d(u, np, how) - 4.0 * u) + u * (1.0 - u)


def grid_side(n):
    return max(3, int(round(n ** 0.5)))


def _grid_x(n):
    k = grid_side(n)
    i, j = numpy.meshgrid(numpy.linspace(0, 1, k), numpy.linspace(0, 1, k), indexing="ij")
    return 0.5 + 0.4 * numpy.sin(3.0 * i + 1.0) * numpy.cos(2.0 * j)


def five_point_pattern(k):
    """csr bool (k*k) x (k*k): each grid point with its four neighbours (C order)."""
    eye = sp.identity(k, format="csr", dtype=bool)
    path = band_pattern(k, (-1, 0, 1))
    return sp.csr_array((sp.kron(path, eye) + sp.kron(eye, path)).astype(bool))


STENCIL_2D = Family(
    "stencil_2d", "jacobian",
    _family_spellings(reaction_diffusion_2d, SHIFT_SPELLINGS + ("assign", "ghost")),
    _grid_x, lambda x: five_point_pattern(x.shape[0]),
    description="Laplacian(u) + u(1-u), 5-point stencil on a k x k grid (n = k^2)")


# --------------------------------------------------------------------------- 3. Brusselator

BRUSS_A, BRUSS_B, BRUSS_ALPHA = 1.0, 3.0, 1.0 / 50.0


def brusselator(y, np=numpy, how="slices"):
    """1-D Brusselator by the method of lines (Hairer & Wanner, II.10): y interleaves
    (u_i, v_i) at N interior points; Dirichlet boundaries u = 1, v = 3.

        u' = A + u^2 v - (B + 1) u + alpha u_xx,   v' = B u - u^2 v + alpha v_xx
    """
    n_points = y.shape[0] // 2
    c = BRUSS_ALPHA * (n_points + 1) ** 2
    pairs = y.reshape(n_points, 2)
    u, v = pairs[:, 0], pairs[:, 1]
    if how in ("assign", "views"):
        lap_u, lap_v = _laplacian_in_place(u, np), _laplacian_in_place(v, np)
    else:
        (ul, ur), (vl, vr) = neighbors_1d(u, np, how), neighbors_1d(v, np, how)
        lap_u, lap_v = ul - 2.0 * u + ur, vl - 2.0 * v + vr
    boundary_u, boundary_v = _bruss_boundary(n_points)
    uuv = u * u * v
    du = BRUSS_A + uuv - (BRUSS_B + 1.0) * u + c * lap_u + boundary_u
    dv = BRUSS_B * u - uuv + c * lap_v + boundary_v
    if how == "assign":
        out = np.zeros_like(y)
        out[0::2] = du
        out[1::2] = dv
        return out
    if how == "views":
        out = np.empty_like(pairs)
        out[:, 0] = du
        out[:, 1] = dv
        return out.reshape(-1)
    return np.stack([du, dv], axis=1).reshape(-1)


def _laplacian_in_place(u, np):
    """u[i-1] - 2u[i] + u[i+1] with zeros outside, written into a zeros_like array."""
    lap = np.zeros_like(u)
    lap[1:] = u[:-1]
    lap[:-1] += u[1:]
    lap -= 2.0 * u
    return lap


@functools.lru_cache(maxsize=16)
def _bruss_boundary(n_points):
    """The constant boundary values' contribution alpha/h^2 * (u_0 or u_{N+1})."""
    c = BRUSS_ALPHA * (n_points + 1) ** 2
    bu, bv = numpy.zeros(n_points), numpy.zeros(n_points)
    bu[[0, -1]] = c * BRUSS_A
    bv[[0, -1]] = c * BRUSS_B
    bu.setflags(write=False)
    bv.setflags(write=False)
    return bu, bv


def brusselator_y0(n_unknowns):
    n_points = n_unknowns // 2
    s = numpy.arange(1, n_points + 1) / (n_points + 1)
    return numpy.stack([1.0 + numpy.sin(2 * numpy.pi * s), numpy.full(n_points, 3.0)], axis=1).ravel()


def brusselator_pattern(n_unknowns):
    """u_i <- u_{i-1}, u_i, v_i, u_{i+1}; v_i <- v_{i-1}, u_i, v_i, v_{i+1} (interleaved)."""
    n_points = n_unknowns // 2
    same = band_pattern(n_points, (-1, 0, 1))
    local = sp.csr_array(numpy.ones((2, 2), dtype=bool))
    cross = sp.kron(sp.identity(n_points, dtype=bool), local)
    diffusion = sp.kron(same, sp.identity(2, dtype=bool))
    return sp.csr_array((cross + diffusion).astype(bool))


def _bruss_x(n):
    return brusselator_y0(2 * max(3, n // 2))


BRUSSELATOR = Family(
    "brusselator", "jacobian",
    _family_spellings(brusselator, SHIFT_SPELLINGS + ("assign", "views")),
    _bruss_x, lambda x: brusselator_pattern(x.size),
    description="1-D Brusselator right-hand side, n = 2N unknowns (u, v interleaved)")


# --------------------------------------------------------------------------- 4. Hessians

def extended_rosenbrock(x, np=numpy, how="strided"):
    """sum_i 100 (x_{2i}^2 - x_{2i+1})^2 + (x_{2i} - 1)^2 (Moré, Garbow & Hillstrom)."""
    if how == "strided":
        a, b = x[0::2], x[1::2]
    elif how == "reshape":
        pairs = x.reshape(-1, 2)
        a, b = pairs[:, 0], pairs[:, 1]
    elif how == "take":
        index = numpy.arange(0, x.shape[0], 2)
        a, b = np.take(x, index), np.take(x, index + 1)
    elif how == "split":
        a, b = (part.reshape(-1) for part in np.split(x.reshape(-1, 2), 2, axis=1))
    else:
        raise ValueError(how)
    return np.sum(100.0 * (a * a - b) ** 2 + (a - 1.0) ** 2)


def extended_rosenbrock_gradient(x):
    a, b = x[0::2], x[1::2]
    g = numpy.empty_like(x)
    g[0::2] = 400.0 * a * (a * a - b) + 2.0 * (a - 1.0)
    g[1::2] = -200.0 * (a * a - b)
    return g


def _rosen_x(n):
    n = max(4, n - n % 2)
    return numpy.where(numpy.arange(n) % 2 == 0, -1.2, 1.0) + 0.01 * numpy.sin(numpy.arange(n))


EXT_ROSENBROCK = Family(
    "ext_rosenbrock", "hessian",
    [Spelling(h, functools.partial(extended_rosenbrock, how=h)) for h in ("strided", "reshape", "take", "split")],
    _rosen_x, lambda x: sp.csr_array(sp.kron(sp.identity(x.size // 2, dtype=bool),
                                             numpy.ones((2, 2), dtype=bool)).astype(bool)),
    gradient=extended_rosenbrock_gradient, description="extended Rosenbrock, 2x2 blocks")


def grid_energy(u, np=numpy, how="slices"):
    """sum of squared differences between grid neighbours + sum(u^4), u of shape (k, k)."""
    if how == "slices":
        dr, dc = u[1:, :] - u[:-1, :], u[:, 1:] - u[:, :-1]
        return np.sum(dr ** 2) + np.sum(dc ** 2) + np.sum(u ** 4)
    if how == "diff":
        return np.sum(np.diff(u, axis=0) ** 2) + np.sum(np.diff(u, axis=1) ** 2) + np.sum(u ** 4)
    if how == "roll":   # wrapped differences weighted 0
        s = u.shape
        dr = (np.roll(u, -1, axis=0) - u) * edge_mask(s, 0, +1)
        dc = (np.roll(u, -1, axis=1) - u) * edge_mask(s, 1, +1)
        return np.sum(dr ** 2) + np.sum(dc ** 2) + np.sum(u ** 4)
    if how == "flat":   # one flat vector; row wrap-arounds weighted 0
        k = u.shape[0]
        flat = u.reshape(-1)
        dr = flat[k:] - flat[:-k]
        dc = (flat[1:] - flat[:-1]) * _row_end_weights(k)
        return np.sum(dr ** 2) + np.sum(dc ** 2) + np.sum(flat ** 4)
    raise ValueError(how)


@functools.lru_cache(maxsize=16)
def _row_end_weights(k):
    w = numpy.ones(k * k - 1)
    w[k - 1::k] = 0.0
    w.setflags(write=False)
    return w


def grid_energy_gradient(flat):
    k = grid_side(flat.size)
    u = flat.reshape(k, k)
    g = 4.0 * u ** 3
    dr, dc = u[1:, :] - u[:-1, :], u[:, 1:] - u[:, :-1]
    g[1:, :] += 2.0 * dr
    g[:-1, :] -= 2.0 * dr
    g[:, 1:] += 2.0 * dc
    g[:, :-1] -= 2.0 * dc
    return g.reshape(-1)


GRID_ENERGY = Family(
    "grid_energy", "hessian",
    [Spelling(h, functools.partial(grid_energy, how=h)) for h in ("slices", "diff", "roll", "flat")],
    _grid_x, lambda x: five_point_pattern(x.shape[0]),
    gradient=grid_energy_gradient, description="sum of squared neighbour differences + u^4 on k x k")

FAMILIES = {f.name: f for f in (BROYDEN, STENCIL_2D, BRUSSELATOR, EXT_ROSENBROCK, GRID_ENERGY)}


# --------------------------------------------------------------------------- references

def flat_function(fn, shape):
    """fn of an array of `shape`, as a function of flat vectors returning flat vectors
    (what scipy's approx_derivative and solve_ivp expect)."""
    return lambda z: numpy.asarray(fn(z.reshape(shape))).reshape(-1)


def colored_complex_step(g, x, pattern):
    """d g / d x (flat rows x flat columns) as csr with exactly `pattern`'s structure:
    one complex evaluation per color (columns of one color share no row)."""
    flat = numpy.asarray(x, dtype=numpy.float64).reshape(-1)
    groups = group_columns(pattern)
    pattern = sp.csr_array(pattern)
    rows, cols = pattern.nonzero()
    values = numpy.zeros(rows.size)
    for color in range(groups.max() + 1):
        z = flat.astype(numpy.complex128)
        z[groups == color] += 1j * CS_STEP
        derivative = numpy.imag(numpy.asarray(g(z.reshape(x.shape))).reshape(-1)) / CS_STEP
        mine = groups[cols] == color
        values[mine] = derivative[rows[mine]]
    return sp.csr_array((values, (rows, cols)), shape=pattern.shape)


def dense_complex_step(g, x):
    """Column by column (no pattern assumed): for checking the hand patterns."""
    flat = numpy.asarray(x, dtype=numpy.float64).reshape(-1)
    columns = []
    for i in range(flat.size):
        z = flat.astype(numpy.complex128)
        z[i] += 1j * CS_STEP
        columns.append(numpy.imag(numpy.asarray(g(z.reshape(x.shape))).reshape(-1)) / CS_STEP)
    return numpy.stack(columns, axis=1)


def reference(family, x):
    """(value of f, derivative as csr): Jacobian of f, or Hessian from the gradient."""
    first = family.spellings[0].fn
    pattern = family.pattern(x)
    if family.kind == "jacobian":
        return first(x), colored_complex_step(first, x, pattern)
    return first(x), colored_complex_step(lambda z: family.gradient(z.reshape(-1)), x, pattern)


def sparse_error(got, ref) -> float:
    """max |got - ref| / max |ref| over all entries; got dense (any shape of the right size)
    or sparse. inf for a wrong size."""
    if sp.issparse(got):
        got = sp.csr_array(got)
        if got.shape != ref.shape:
            return float("inf")
        diff = got.astype(numpy.float64) - ref
    else:
        got = numpy.asarray(got, dtype=numpy.float64)
        if got.size != ref.shape[0] * ref.shape[1]:
            return float("inf")
        diff = got.reshape(ref.shape) - ref.toarray()
    diff = numpy.abs(diff.data if sp.issparse(diff) else diff)
    scale = max(numpy.abs(ref.data).max(initial=0.0), numpy.finfo(float).tiny)
    if diff.size == 0:
        return 0.0
    return float(diff.max() / scale) if numpy.all(numpy.isfinite(diff)) else float("inf")


def check_family(family, n, tolerance=1e-12):
    """Every spelling: same f(x) as the first to `tolerance`, same derivative as the
    reference; at small sizes the hand pattern is checked against a full complex step.
    Returns a list of problems (empty when all agree)."""
    x = family.make_x(n)
    value, ref = reference(family, x)
    problems = []
    scale = max(numpy.abs(value).max(), 1.0)
    for s in family.spellings:
        got = s.fn(x)
        if numpy.shape(got) != numpy.shape(value) or numpy.abs(got - value).max() > tolerance * scale:
            problems.append(f"{family.name}/{s.name}: f(x) differs from {family.spellings[0].name}")
        if family.kind == "jacobian":
            err = sparse_error(colored_complex_step(s.fn, x, family.pattern(x)), ref)
        else:
            grad = colored_complex_step(lambda z: s.fn(z), x, sp.csr_array(numpy.ones((1, x.size), bool)))
            exact = family.gradient(x.reshape(-1))
            err = numpy.abs(grad.toarray().ravel() - exact).max() / max(numpy.abs(exact).max(), 1.0)
        if err > 1e-12:
            problems.append(f"{family.name}/{s.name}: derivative off the reference by {err:.1e}")
    if x.size <= 400:
        problems += _check_pattern(family, x, ref)
    return problems


def _check_pattern(family, x, ref):
    if family.kind == "jacobian":
        full = dense_complex_step(family.spellings[0].fn, x)
    else:
        full = dense_complex_step(lambda z: family.gradient(z.reshape(-1)), x)
    outside = full * ~family.pattern(x).toarray()
    problems = []
    if numpy.abs(outside).max() > 0:
        problems.append(f"{family.name}: hand pattern misses nonzero entries")
    if numpy.abs(full - ref.toarray()).max() > 1e-12 * max(1.0, numpy.abs(full).max()):
        problems.append(f"{family.name}: colored complex step differs from column by column")
    return problems


if __name__ == "__main__":
    import sys
    failures = []
    for fam in FAMILIES.values():
        for n in (100, 2000):
            found = check_family(fam, n)
            failures += found
            print(f"{fam.name:15s} n={fam.make_x(n).size:6d}: {'ok' if not found else '; '.join(found)}")
    sys.exit(1 if failures else 0)
