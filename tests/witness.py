"""Outside witnesses: derivatives computed without dualjac.

Complex step (Squire & Trapp 1998): for a real-analytic g, Im g(x + i h) / h is
g'(x) to machine precision with h = 1e-20, with no cancellation error.
"""

import functools
import importlib

import numpy as np

STEP = 1e-20


def complex_step_jacobian(g, x):
    """d g(x) / d x, shape g(x).shape + x.shape, from complex-step evaluations
    of g in complex128 (g must be analytic and accept complex input)."""
    x = np.asarray(x, dtype=np.float64)
    flat = x.ravel()
    columns = []
    for i in range(flat.size):
        z = flat.astype(np.complex128)
        z[i] += 1j * STEP
        columns.append(np.imag(np.asarray(g(z.reshape(x.shape)))) / STEP)
    target_shape = np.shape(g(x))
    if not columns:
        return np.zeros(target_shape + x.shape)
    return np.stack(columns, axis=-1).reshape(target_shape + x.shape)


def central_difference_jacobian(g, x, h=1e-6):
    """For non-analytic g (abs, max, clip ...), away from kinks."""
    x = np.asarray(x, dtype=np.float64)
    flat = x.ravel()
    columns = []
    for i in range(flat.size):
        e = np.zeros_like(flat)
        e[i] = h
        columns.append((np.asarray(g((flat + e).reshape(x.shape)))
                        - np.asarray(g((flat - e).reshape(x.shape)))) / (2 * h))
    return np.stack(columns, axis=-1).reshape(np.shape(g(x)) + x.shape)


def witness_jacobian(g, x, method="cs", fd_step=1e-6):
    """Complex step ("cs") for analytic g, central differences ("fd") otherwise."""
    if method == "cs":
        return complex_step_jacobian(g, x)
    return central_difference_jacobian(g, x, fd_step)


def witness_hessian(g, x, method="cs", fd_step=1e-6):
    """Central differences of the witness Jacobian: g(x).shape + x.shape + x.shape.
    Finite-difference witnesses are piecewise linear: a longer step (still short of
    every kink) keeps the round-off of differencing differences small."""
    step = 1e-5 if method == "cs" else 1e-3
    return central_difference_jacobian(lambda z: witness_jacobian(g, z, method, fd_step), x, step)


class _WitnessNames:
    """The names a rules-table witness expression sees: its arguments, then
    NumPy's functions and constants, then scipy.special's (imported on first use)."""

    def __init__(self, arguments):
        self.arguments = arguments

    def __getitem__(self, name):
        if name in self.arguments:
            return self.arguments[name]
        if not name.startswith("_") and hasattr(np, name):
            return getattr(np, name)
        special = importlib.import_module("scipy.special")
        if not name.startswith("_") and hasattr(special, name):
            return getattr(special, name)
        raise KeyError(name)


@functools.lru_cache(maxsize=None)
def _compiled(expression):
    return compile(expression, f"<witness {expression!r}>", "eval")


def evaluate_witness(expression, **arguments):
    """A witness expression of a rules-table row (dualjac/rules.py: complex_witness,
    reference_derivative, operator, ...) in NumPy syntax, at the given arguments
    (x, y, df): ``evaluate_witness("x ** (1.0 / 3.0)", x=z)``."""
    return eval(_compiled(expression), {"__builtins__": {}}, _WitnessNames(arguments))
