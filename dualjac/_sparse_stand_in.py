"""Dense stand-in for dualjac.sparse (same contract), used only where that module is absent."""

import numpy as np
from scipy import sparse

from . import api


def _points(x):
    rng = np.random.default_rng(0)
    return [x, x + 0.1 * rng.standard_normal(x.shape) * (1 + np.abs(x))]


def jacobian_sparsity(f, x):
    x = np.asarray(x)
    mats = [np.asarray(api.jacobian(f, p, unconnected_gradients="zero")).reshape(-1, x.size) != 0
            for p in _points(x)]
    return sparse.csr_array(np.logical_or.reduce(mats))


def hessian_sparsity(f, x):
    x = np.asarray(x)
    mats = [np.asarray(api.hessian(f, p)).reshape(x.size, x.size) != 0 for p in _points(x)]
    return sparse.csr_array(np.logical_or.reduce(mats))


def _as(format, dense, pattern):
    coo = pattern.tocoo()
    m = sparse.coo_array((dense[coo.row, coo.col], (coo.row, coo.col)), shape=dense.shape)
    return m.asformat(format)


class SparseJacobian:
    def __init__(self, f, x, *, format="csr"):
        self._f, self._format = f, format
        self.sparsity = jacobian_sparsity(f, x)
        self.colors = np.arange(x.size, dtype=np.int64)
        self.ncolors = x.size

    def value_and_jacobian(self, x, *args):
        y, J = api.value_and_jacobian(lambda z: self._f(z, *args), x, unconnected_gradients="zero")
        return y, _as(self._format, np.asarray(J).reshape(-1, x.size), self.sparsity)

    def __call__(self, x, *args):
        return self.value_and_jacobian(x, *args)[1]


class SparseHessian:
    def __init__(self, f, x, *, format="csr"):
        self._f, self._format = f, format
        self.sparsity = hessian_sparsity(f, x)
        self.colors = np.arange(x.size, dtype=np.int64)
        self.ncolors = x.size

    def value_gradient_hessian(self, x, *args):
        y, g, H = api.value_gradient_hessian(lambda z: self._f(z, *args), x)
        return y, g, _as(self._format, H.reshape(x.size, x.size), self.sparsity)

    def __call__(self, x, *args):
        return self.value_gradient_hessian(x, *args)[2]
