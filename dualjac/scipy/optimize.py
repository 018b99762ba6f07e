"""Drop-ins for scipy.optimize's test functions: Rosenbrock's function, its gradient, its
Hessian and Hessian-vector product, SciPy's formulas written with jet operations (so
rosen_der on a jet carries the derivatives of the gradient). x's first axis is the
variable axis (rosen also takes stacks, as SciPy's does)."""

import numpy as np
import scipy.optimize as _optimize

from ._common import any_jet, recordable

__all__ = ["rosen", "rosen_der", "rosen_hess", "rosen_hess_prod"]


def rosen(x):
    if not any_jet(x):
        return _optimize.rosen(x)
    x = recordable(x)
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2.0) ** 2.0 + (1 - x[:-1]) ** 2.0, axis=0)


def rosen_der(x):
    if not any_jet(x):
        return _optimize.rosen_der(x)
    x = recordable(x)
    middle, before, after = x[1:-1], x[:-2], x[2:]
    inner = (200 * (middle - before ** 2) - 400 * (after - middle ** 2) * middle
             - 2 * (1 - middle))
    first = -400 * x[:1] * (x[1:2] - x[:1] ** 2) - 2 * (1 - x[:1])
    last = 200 * (x[-1:] - x[-2:-1] ** 2)
    return np.concatenate([first, inner, last])


def _hessian_diagonal(x):
    first = 1200 * x[:1] ** 2 - 400 * x[1:2] + 2
    inner = 202 + 1200 * x[1:-1] ** 2 - 400 * x[2:]
    return np.concatenate([first, inner, np.full(1, 200.0)])


def rosen_hess(x):
    if not any_jet(x):
        return _optimize.rosen_hess(x)
    x = recordable(x)
    if x.ndim != 1:
        raise ValueError(f"dualjac.scipy.optimize.rosen_hess: x must be 1-D, got shape {x.shape}")
    coupling = -400 * x[:-1]
    return np.diag(coupling, 1) + np.diag(coupling, -1) + np.diag(_hessian_diagonal(x))


def rosen_hess_prod(x, p):
    if not any_jet(x, p):
        return _optimize.rosen_hess_prod(x, p)
    x, p = recordable(x), recordable(p)
    coupling = -400 * x[:-1]
    diagonal = _hessian_diagonal(x) * p
    below = np.concatenate([np.zeros(1), coupling * p[:-1]])
    above = np.concatenate([coupling * p[1:], np.zeros(1)])
    return diagonal + below + above
