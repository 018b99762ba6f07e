"""The eight benchmark cases, the scaling families, and their references.

Each function is written once and takes the array namespace as the parameter `np`:
NumPy itself (and so dualjac and hyperjet, which ride on NumPy dispatch), jax.numpy,
or the thin torch / TensorFlow shims in peers.py all run the same code. The functions
therefore use only operators, indexing and a few namespace calls (sin, cos, exp, log,
tanh, stack, concatenate, matmul, sum) that every namespace spells the same way.

References are float64 and computed independently of every peer: complex-step
derivatives of the NumPy function for first order (exact to rounding, no step-size
trade-off), analytic formulas for second order. `python cases.py` cross-checks the
analytic Hessians against finite differences of complex-step gradients.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy

KINDS = ("jacobian", "batch_jacobian", "hessian", "batch_hessian", "nested")


# --------------------------------------------------------------------------- functions

def cube(x, np):
    """Example 1 of `python -m dualjac` (and, differentiated twice, Example 2)."""
    return x * x * x


def sph(x, np):
    """Spherical (r, theta, phi) -> Cartesian; one point (3,) or rows (b, 3)."""
    r, theta, phi = x[..., 0], x[..., 1], x[..., 2]
    s = r * np.sin(theta)
    return np.stack([s * np.cos(phi), s * np.sin(phi), r * np.cos(theta)], axis=-1)


def _shifted(x, np):
    """(x[i-1], x[i+1]) with zeros beyond the ends.

    The zero is sliced from x (x[:1] * 0.0) instead of np.zeros(1) so that every
    namespace concatenates arrays of a single kind (dual with dual, tensor with tensor).
    """
    zero = x[:1] * 0.0
    return np.concatenate([zero, x[:-1]]), np.concatenate([x[1:], zero])


def broyden(x, np):
    """Broyden tridiagonal residual (3 - 2x)x - x[i-1] - 2x[i+1] + 1."""
    left, right = _shifted(x, np)
    return (3.0 - 2.0 * x) * x - left - 2.0 * right + 1.0


def stencil(x, np):
    """Elementwise + 3-point stencil, the jacobian-scaling family: sin(x)x + Laplacian."""
    left, right = _shifted(x, np)
    return np.sin(x) * x + (left - 2.0 * x + right)


def mlp(x, np, W1, b1, W2, b2):
    return np.tanh(np.matmul(W2, np.tanh(np.matmul(W1, x) + b1)) + b2)


def rosen(x, np):
    """Rosenbrock, same formula as scipy.optimize.rosen."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def potential(x, np):
    """sin(a)exp(b) + abc + log(1 + c^2); one point (3,) -> scalar, rows (b, 3) -> (b,)."""
    a, b, c = x[..., 0], x[..., 1], x[..., 2]
    return np.sin(a) * np.exp(b) + a * b * c + np.log(1.0 + c ** 2)


# --------------------------------------------------------------------------- references

H_CS = 1e-30  # complex step: no subtraction, so the step can be tiny


def complex_step_jacobian(fn, x):
    """d fn / d x, shape fn(x).shape + x.shape, one complex evaluation per input element."""
    x = numpy.asarray(x, numpy.float64)
    cols = []
    for k in range(x.size):
        xc = x.astype(numpy.complex128)
        xc.flat[k] += 1j * H_CS
        cols.append(fn(xc).imag / H_CS)
    out = numpy.stack(cols, axis=-1)
    return out.reshape(out.shape[:-1] + x.shape)


def complex_step_batch_jacobian(fn, x):
    """[b, Y..., X...]; rows are independent, so column k is perturbed in all rows at once."""
    x = numpy.asarray(x, numpy.float64)
    b, inner = x.shape[0], x.shape[1:]
    flat = x.reshape(b, -1)
    cols = []
    for k in range(flat.shape[1]):
        xc = flat.astype(numpy.complex128)
        xc[:, k] += 1j * H_CS
        cols.append(fn(xc.reshape(x.shape)).imag / H_CS)
    out = numpy.stack(cols, axis=-1)
    return out.reshape(out.shape[:-1] + inner)


def fd_of_cs_hessian(fn, x, rel_step=1e-5):
    """Central differences of the complex-step Jacobian: fn(x).shape + x.shape + x.shape.

    Only the outer step is a finite difference (error ~1e-10 relative), used to
    cross-check the analytic references, never as one.
    """
    x = numpy.asarray(x, numpy.float64)
    cols = []
    for k in range(x.size):
        h = rel_step * max(1.0, abs(x.flat[k]))
        xp, xm = x.copy(), x.copy()
        xp.flat[k] += h
        xm.flat[k] -= h
        cols.append((complex_step_jacobian(fn, xp) - complex_step_jacobian(fn, xm)) / (2 * h))
    out = numpy.stack(cols, axis=-1)
    return out.reshape(out.shape[:-1] + x.shape)


def potential_hessian(x):
    """Analytic per-row Hessian of `potential`, [b, 3, 3]."""
    a, b, c = (numpy.asarray(x, numpy.float64)[:, i] for i in range(3))
    se, ce = numpy.sin(a) * numpy.exp(b), numpy.cos(a) * numpy.exp(b)
    H = numpy.empty((len(a), 3, 3))
    H[:, 0, 0], H[:, 1, 1] = -se, se
    H[:, 0, 1] = H[:, 1, 0] = ce + c
    H[:, 0, 2] = H[:, 2, 0] = b
    H[:, 1, 2] = H[:, 2, 1] = a
    H[:, 2, 2] = (2.0 - 2.0 * c ** 2) / (1.0 + c ** 2) ** 2
    return H


def cube_nested(x):
    """d/dx d/dx x^3 elementwise: 6x at [i, j, i, j, i, j], zero elsewhere."""
    x = numpy.asarray(x, numpy.float64)
    n = x.size
    out = numpy.zeros((n, n, n))
    out[numpy.arange(n), numpy.arange(n), numpy.arange(n)] = 6.0 * x.ravel()
    return out.reshape(x.shape * 3)


def rosen_hessian(x):
    import scipy.optimize  # analytic, and written by someone else: an outside witness
    return scipy.optimize.rosen_hess(numpy.asarray(x, numpy.float64))


# --------------------------------------------------------------------------- cases

@dataclass(eq=False)
class Case:
    name: str
    kind: str                      # one of KINDS
    f: Callable                    # f(x, np, **params)
    x: numpy.ndarray               # fixed input (its dtype is the case's dtype)
    make_reference: Callable       # (case) -> float64 derivative
    params: dict = field(default_factory=dict)
    small: bool = False            # a small case: the target is >= 2x jax.jit, not >= 1x
    note: str = ""

    def bind(self, ns, params: Optional[dict] = None):
        """f as a one-argument function in namespace `ns` (params already converted)."""
        p = self.params if params is None else params
        f = self.f
        return lambda x: f(x, ns, **p)

    @functools.cached_property
    def reference(self) -> numpy.ndarray:
        return self.make_reference(self)

    @property
    def tolerance(self) -> float:
        """Max error relative to max|reference| for an exact-derivative peer."""
        return 1e-5 if self.x.dtype == numpy.float32 else 1e-9


def _cs_ref(case):
    return complex_step_jacobian(case.bind(numpy), case.x)


def _cs_batch_ref(case):
    return complex_step_batch_jacobian(case.bind(numpy), case.x)


def _sph_points(rng, shape):
    """r in [0.5, 2], theta away from the poles, phi in [0, 2 pi)."""
    r = rng.uniform(0.5, 2.0, shape)
    theta = rng.uniform(0.1, numpy.pi - 0.1, shape)
    phi = rng.uniform(0.0, 2 * numpy.pi, shape)
    return numpy.stack([r, theta, phi], axis=-1)


def _mlp_params(rng):
    return dict(
        W1=rng.standard_normal((64, 32)) / numpy.sqrt(32),
        b1=0.1 * rng.standard_normal(64),
        W2=rng.standard_normal((16, 64)) / numpy.sqrt(64),
        b2=0.1 * rng.standard_normal(16),
    )


SEED_X = numpy.array([[4.0, 2.0], [1.0, 3.0]], dtype=numpy.float32)


def main_cases() -> list[Case]:
    """The eight benchmark cases, in the order of the tables. Each has its own RNG seed so
    adding or removing a case never changes another's input."""
    rng = numpy.random.default_rng
    return [
        Case("seed_cube_2x2", "jacobian", cube, SEED_X.copy(), _cs_ref, small=True),
        Case("sph_3", "jacobian", sph, _sph_points(rng(3), ()), _cs_ref, small=True),
        Case("broyden_100", "jacobian", broyden, rng(100).uniform(-1.0, 1.0, 100), _cs_ref),
        Case("mlp_32_64_16", "jacobian", mlp, rng(32).standard_normal(32), _cs_ref,
             params=_mlp_params(rng(3264))),
        Case("batch_sph_1e5", "batch_jacobian", sph, _sph_points(rng(105), (100_000,)),
             _cs_batch_ref),
        Case("rosen_hess_20", "hessian", rosen, rng(20).uniform(-2.0, 2.0, 20),
             lambda c: rosen_hessian(c.x)),
        Case("batch_pot_hess_1e4", "batch_hessian", potential,
             rng(104).uniform(-1.0, 1.0, (10_000, 3)), lambda c: potential_hessian(c.x)),
        # Example 2 differentiates Example 1's f twice, on the same float32 x.
        Case("seed_nested_2x2", "nested", cube, SEED_X.copy(), lambda c: cube_nested(c.x),
             small=True),
    ]


# --------------------------------------------------------------------------- scaling

def scaling_jacobian_cases(ns=(10, 100, 1000)) -> list[Case]:
    rng = numpy.random.default_rng
    return [Case(f"stencil_{n}", "jacobian", stencil, rng(n).uniform(-1.0, 1.0, n), _cs_ref)
            for n in ns]


def scaling_batch_cases(bs=(10**3, 10**4, 10**5, 10**6)) -> list[Case]:
    rng = numpy.random.default_rng
    return [Case(f"batch_sph_{b:.0e}".replace("+0", ""), "batch_jacobian", sph,
                 _sph_points(rng(b), (b,)), _cs_batch_ref) for b in bs]


def scaling_hessian_cases(ns=(5, 20, 100)) -> list[Case]:
    rng = numpy.random.default_rng
    return [Case(f"rosen_hess_{n}", "hessian", rosen, rng(n).uniform(-2.0, 2.0, n),
                 lambda c: rosen_hessian(c.x)) for n in ns]


# --------------------------------------------------------------------------- self-check

def _self_check():
    """The analytic references agree with finite differences of complex-step."""
    for case in main_cases():
        ref = case.reference
        if case.kind in ("hessian", "nested"):
            other = fd_of_cs_hessian(case.bind(numpy), case.x)
        elif case.kind == "batch_hessian":
            rows = case.x[:50]  # per-row Hessians: a few rows are enough
            other = numpy.stack([fd_of_cs_hessian(case.bind(numpy), r) for r in rows])
            ref = ref[:50]
        else:
            continue
        err = numpy.max(numpy.abs(other - ref)) / numpy.max(numpy.abs(ref))
        print(f"{case.name:20s} analytic vs fd(complex-step): rel err {err:.1e}")
        assert err < 1e-7, case.name


if __name__ == "__main__":
    _self_check()
