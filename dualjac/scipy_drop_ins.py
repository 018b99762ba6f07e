"""Derivative callables in SciPy's own signatures.

    jac = dj.ode_jacobian(fun, t0, y0, args)             # solve_ivp(..., jac=jac, args=args)
    jac = dj.least_squares_jacobian(fun, x0, args)       # least_squares(fun, x0, jac=jac, args=args)
    obj = dj.Objective(fun, x0, args)                    # minimize(obj.fun, x0, jac=obj.jac,
                                                         #          hess=obj.hess, args=args)

Each prepares once (the sparsity pattern from one tracer run of the user's function,
the column coloring when the result is sparse) and then differentiates at every
point the solver asks for. docs/scipy.md describes the choices made here.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Literal, Mapping, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike

from . import api
from ._core import STAND_IN_JETS, DualArray

from ._types import Array, Sparse

_JETS = (*STAND_IN_JETS, DualArray)

# sparse=: True (a sparse result), False (a 2-D ndarray) or "auto" (sparse when it pays).
SparseChoice = Union[bool, Literal["auto"]]


def _sparse():
    """dualjac.sparse, imported when first needed: it needs SciPy, which dualjac does not."""
    from . import sparse
    return sparse


# "auto" picks a sparse result below this density of the pattern, from this many columns
# on: smaller or denser Jacobians factorize faster as dense arrays in SciPy's solvers.
SPARSE_DENSITY = 0.1
SPARSE_MIN_COLUMNS = 100


# ---------------------------------------------------------------- argument checks

def _check_callable(fun, who):
    if not callable(fun):
        raise TypeError(f"dualjac.{who}: fun must be callable, got {type(fun).__name__}")


def _float_vector(x, name, who):
    """x as the 1-D float64 array SciPy's solvers iterate on."""
    array = np.asarray(x)
    if array.dtype.kind in "biu":
        raise TypeError(f"dualjac.{who}: {name} has the integer dtype {array.dtype}; derivatives "
                        f"need a floating point: pass np.asarray({name}, dtype=float)")
    if array.dtype.kind != "f" or array.dtype.itemsize < 4:
        raise TypeError(f"dualjac.{who}: {name} must be a float32 or float64 array, got dtype "
                        f"{array.dtype}; pass np.asarray({name}, dtype=float)")
    if array.ndim > 1:
        raise ValueError(f"dualjac.{who}: {name} must be 1-D (SciPy's solvers work on a vector), "
                         f"got shape {array.shape}; pass {name}.ravel() and reshape inside fun")
    return np.array(array, dtype=np.float64).reshape(-1)


def _check_args(args, who):
    if not isinstance(args, tuple):
        raise TypeError(f"dualjac.{who}: args must be a tuple, got {type(args).__name__}; "
                        f"write args=({args!r},) for one extra argument")
    return args


def _wants_sparse(choice, pattern, who, argument="sparse"):
    """True for a sparse result: the user's choice, or "auto"'s reading of the pattern."""
    if choice is True or choice is False:
        return choice
    if choice != "auto":
        raise ValueError(f"dualjac.{who}: {argument} must be True, False or 'auto', got {choice!r}")
    rows, columns = pattern.shape
    density = pattern.nnz / max(rows * columns, 1)
    return columns >= SPARSE_MIN_COLUMNS and density < SPARSE_DENSITY


# ---------------------------------------------------------------- Jacobians

class _CallContext:
    """What a call passes besides x and args (solve_ivp's t, least_squares' kwargs). One
    object for all calls: SparseJacobian keeps its pattern while its extra arguments are
    the same, and t changes at every call (a t that changes f's structure is still
    caught: a derivative outside the pattern makes SparseJacobian trace f again)."""

    def __init__(self, t=None, kwargs=None):
        self.t = t
        self.kwargs = kwargs
        self.lock = threading.Lock()     # one call at a time sets and reads the fields


class _PreparedJacobian:
    """The Jacobian of f(x, context, *args) with respect to a 1-D x as a 2-D (m, n)
    array or sparse matrix: pattern found once, then one sweep per call (colored when
    sparse)."""

    def __init__(self, f, x0, context, args, sparse, sparse_format, who):
        self._f, self._context, self._who, self._format = f, context, who, sparse_format
        self.sparsity = _sparse().jacobian_sparsity(lambda x: f(x, context, *args), x0)
        self.shape = self.sparsity.shape
        self.sparse = _wants_sparse(sparse, self.sparsity, who)
        self._prepared = None
        if self.sparse:
            self._prepared = _sparse().SparseJacobian(f, x0, format=sparse_format,
                                                      args=(context,) + args)
        # A dense result is one sweep of n seeds: no coloring.
        self.ncolors = self._prepared.ncolors if self.sparse else self.shape[1]

    def __call__(self, x, args):
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.shape[1],):
            raise ValueError(f"dualjac.{self._who}: x has shape {x.shape}, the Jacobian was "
                             f"prepared for shape ({self.shape[1]},)")
        if self.sparse:
            J = self._prepared(x, self._context, *args)
        else:
            J = api.jacobian(lambda z: self._f(z, self._context, *args), x,
                             unconnected_gradients="zero").reshape(-1, x.size)
        if J.shape != self.shape:
            raise ValueError(f"dualjac.{self._who}: fun returned {J.shape[0]} elements where it "
                             f"returned {self.shape[0]} when the Jacobian was prepared; a solver "
                             f"needs a fixed output size: prepare a new dualjac.{self._who} for "
                             f"the new problem")
        return J

    def describe(self):
        rows, columns = self.shape
        kind = f"sparse {self._format}, {self.ncolors} colors" if self.sparse else "dense"
        return f"({rows} x {columns}, {kind}, pattern density {self.sparsity.nnz / max(rows * columns, 1):.3g})"


def _ode_right_hand_side(fun):
    def rhs(y, context, *args):       # t enters as a plain float, never differentiated
        return fun(context.t, y, *args)
    return rhs


class OdeJacobian:
    """jac(t, y, *args) for scipy.integrate.solve_ivp: d fun(t, y, *args) / d y.
    Sparse results are csc_array (what BDF and Radau factorize); dense ones 2-D arrays
    (LSODA takes only those). `.sparsity` is the csr bool pattern (solve_ivp's
    `jac_sparsity`), `.ncolors` the number of seeds one call sweeps, `.sparse` the choice."""

    def __init__(self, fun: Callable[..., ArrayLike], t0: float, y0: ArrayLike,
                 args: Sequence[Any] = (), sparse: SparseChoice = "auto") -> None:
        _check_callable(fun, "ode_jacobian")
        args = _check_args(args, "ode_jacobian")
        y0 = _float_vector(y0, "y0", "ode_jacobian")
        self._context = _CallContext(t=float(t0))
        self._jacobian = _PreparedJacobian(_ode_right_hand_side(fun), y0, self._context, args,
                                           sparse, "csc", "ode_jacobian")
        if self._jacobian.shape[0] != y0.size:
            raise ValueError(f"dualjac.ode_jacobian: fun(t0, y0) has {self._jacobian.shape[0]} "
                             f"elements, y0 {y0.size}; an ODE's right-hand side has y's size")

    sparsity = property(lambda self: self._jacobian.sparsity)
    ncolors = property(lambda self: self._jacobian.ncolors)
    sparse = property(lambda self: self._jacobian.sparse, doc="True when calls return csc_array")

    def __call__(self, t: float, y: ArrayLike, *args: Any) -> Sparse:
        with self._context.lock:
            self._context.t = float(t)
            return self._jacobian(y, args)

    def __repr__(self):
        return f"dualjac.ode_jacobian{self._jacobian.describe()}"


def ode_jacobian(fun: Callable[..., ArrayLike], t0: float, y0: ArrayLike, args: Sequence[Any] = (),
                 sparse: SparseChoice = "auto") -> OdeJacobian:
    """jac(t, y, *args) for solve_ivp(fun, t_span, y0, jac=jac, args=args): the Jacobian
    of fun(t, y, *args) with respect to y. sparse: True (csc_array), False (2-D ndarray)
    or "auto" (sparse for 100 or more unknowns and a pattern density below 0.1; the
    choice is `jac.sparse`). The pattern is found once, from fun(t0, y0, *args)."""
    return OdeJacobian(fun, t0, y0, args, sparse)


def _residuals(fun):
    def residuals(x, context, *args):
        return fun(x, *args, **context.kwargs)
    return residuals


class LeastSquaresJacobian:
    """jac(x, *args, **kwargs) for scipy.optimize.least_squares: d fun(x) / d x as an
    (m, n) csr_array (tr_solver="lsmr" takes it) or 2-D ndarray."""

    def __init__(self, fun: Callable[..., ArrayLike], x0: ArrayLike, args: Sequence[Any] = (),
                 kwargs: Mapping[str, Any] | None = None, sparse: SparseChoice = "auto") -> None:
        _check_callable(fun, "least_squares_jacobian")
        args = _check_args(args, "least_squares_jacobian")
        x0 = _float_vector(x0, "x0", "least_squares_jacobian")
        self._context = _CallContext(kwargs={} if kwargs is None else dict(kwargs))
        self._jacobian = _PreparedJacobian(_residuals(fun), x0, self._context, args, sparse,
                                           "csr", "least_squares_jacobian")

    sparsity = property(lambda self: self._jacobian.sparsity)
    ncolors = property(lambda self: self._jacobian.ncolors)
    sparse = property(lambda self: self._jacobian.sparse, doc="True when calls return csr_array")

    def __call__(self, x: ArrayLike, *args: Any, **kwargs: Any) -> Sparse:
        with self._context.lock:
            self._context.kwargs = kwargs
            return self._jacobian(x, args)

    def __repr__(self):
        return f"dualjac.least_squares_jacobian{self._jacobian.describe()}"


def least_squares_jacobian(fun: Callable[..., ArrayLike], x0: ArrayLike, args: Sequence[Any] = (),
                           kwargs: Mapping[str, Any] | None = None,
                           sparse: SparseChoice = "auto") -> LeastSquaresJacobian:
    """jac(x, *args, **kwargs) for least_squares(fun, x0, jac=jac, args=args, kwargs=kwargs).
    sparse: True (csr_array), False (2-D ndarray) or "auto" (sparse for 100 or more
    parameters and a pattern density below 0.1); `.sparsity` is the csr bool pattern."""
    return LeastSquaresJacobian(fun, x0, args, kwargs, sparse)


# ---------------------------------------------------------------- minimize

class _Point:
    """What the sweeps at one x (and args) found: value, gradient, maybe the Hessian."""

    def __init__(self, x, args, value, gradient, hessian=None):
        self.x = x
        self.args = args
        self.value = value
        self.gradient = gradient
        self.hessian = hessian

    def matches(self, x, args):
        return (np.array_equal(self.x, x) and len(self.args) == len(args)
                and all(_same_argument(a, b) for a, b in zip(self.args, args)))


def _same_argument(kept, given):
    """The args of a cached point: the same objects, and arrays still holding the values
    they held (an array changed in place between calls is a new problem)."""
    if isinstance(kept, _KeptArray):
        return kept.array is given and np.array_equal(kept.values, given)
    return kept is given


class _KeptArray:
    def __init__(self, array):
        self.array = array
        self.values = array.copy()


def _keep_arguments(args):
    return tuple(_KeptArray(a) if isinstance(a, np.ndarray) else a for a in args)


def _value_of(y):
    """The plain value of f's output, whichever jet kind carries it."""
    if isinstance(y, _JETS):
        y = y.value
    return float(np.asarray(y))


def _scalar_objective(fun):
    def objective(z, *args):
        y = fun(z, *args)
        if np.shape(y) != ():
            raise ValueError(f"dualjac.Objective: fun must return a scalar, got shape "
                             f"{np.shape(y)}; return np.sum(...) of the terms, or use "
                             f"dualjac.least_squares_jacobian for a vector of residuals")
        return y
    return objective


class Objective:
    """fun / jac / hess / hessp for scipy.optimize.minimize, from shared sweeps.

    A call at a new x runs one sweep and caches what it gives: value and gradient
    together (a first-order sweep), or value, gradient and Hessian together (one
    hyper-dual or colored sweep) once the solver has asked for a Hessian, so
    minimize's fun-then-jac-then-hess at one point costs one sweep. x is compared by
    value (a copy is kept), args by identity (arrays also by value): a result is never
    that of another point. hessian: "sparse" (csr_array), "dense" (2-D ndarray) or
    "auto" (sparse for 100 or more unknowns and a pattern density below 0.1).
    `.sweeps` counts the evaluations of fun this object ran (tracer runs aside),
    `.evaluations` the calls it answered.
    """

    def __init__(self, fun: Callable[..., Any], x0: ArrayLike, args: Sequence[Any] = (),
                 hessian: Literal["auto", "sparse", "dense"] = "auto") -> None:
        _check_callable(fun, "Objective")
        self._objective = _scalar_objective(fun)
        self._args = _check_args(args, "Objective")
        self._x0 = _float_vector(x0, "x0", "Objective")
        if hessian not in ("auto", "sparse", "dense"):
            raise ValueError(f"dualjac.Objective: hessian must be 'auto', 'sparse' or 'dense', "
                             f"got {hessian!r}")
        self._hessian_choice = hessian
        self._sparse_hessian = None     # the prepared SparseHessian: pattern, sparse Hessians
        self._hessian_wanted = False
        self._point = None
        self.sweeps = 0
        self.evaluations = 0

    # -- SciPy's signatures

    def fun(self, x: ArrayLike, *args: Any) -> float:
        self.evaluations += 1
        return self._at(x, args, self._hessian_wanted).value

    def jac(self, x: ArrayLike, *args: Any) -> Array:
        self.evaluations += 1
        return self._at(x, args, self._hessian_wanted).gradient.copy()

    def hess(self, x: ArrayLike, *args: Any) -> Sparse:
        self.evaluations += 1
        self._hessian_wanted = True
        return self._at(x, args, True).hessian.copy()

    def hessp(self, x: ArrayLike, p: ArrayLike, *args: Any) -> Array:
        """H @ p from the Hessian at x (cached, or computed and cached now) when the
        Hessian is sparse (density below 0.1: one colored sweep costs less than one
        dj.hvp); otherwise dj.hvp, one sweep of n + 1 seeds per product (a dense
        Hessian costs n / 2 times that)."""
        self.evaluations += 1
        p = np.asarray(p, dtype=np.float64).reshape(-1)
        if p.size != self._x0.size:
            raise ValueError(f"dualjac.Objective.hessp: p has {p.size} elements, x0 "
                             f"{self._x0.size}; p is a direction in x's space")
        point = self._cached(x, args)
        if point is not None and point.hessian is not None:
            return point.hessian @ p
        if self._hessian_is_sparse():
            return self._at(x, args, True).hessian @ p
        self.sweeps += 1
        return np.asarray(api.hvp(self._scalar(args), self._as_point(x), p)).reshape(-1)

    @property
    def hessian_format(self) -> Literal["sparse", "dense"]:
        """"sparse" or "dense": how hess returns the Hessian."""
        if self._hessian_choice == "auto":
            return "sparse" if _wants_sparse("auto", self.sparsity, "Objective") else "dense"
        return self._hessian_choice

    @property
    def sparsity(self) -> Sparse:
        """The Hessian's csr bool pattern, traced at x0 when first needed."""
        return self._prepared_hessian().sparsity

    def _prepared_hessian(self):
        """The SparseHessian of fun, prepared once: its pattern decides "auto" and the
        sparse Hessians come from it."""
        if self._sparse_hessian is None:
            self._sparse_hessian = _sparse().SparseHessian(self._objective, self._x0,
                                                           format="csr", args=self._args)
        return self._sparse_hessian

    # -- the cache

    def _cached(self, x, args):
        x = self._as_point(x)
        if self._point is not None and self._point.matches(x, args):
            return self._point
        return None

    def _at(self, x, args, with_hessian):
        point = self._cached(x, args)
        if point is not None and (point.hessian is not None or not with_hessian):
            return point
        x = self._as_point(x).copy()     # a copy: the solver may reuse its array
        self._point = self._sweep(x, args, with_hessian)
        return self._point

    def _as_point(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.size != self._x0.size:
            raise ValueError(f"dualjac.Objective: x has {x.size} elements, x0 had "
                             f"{self._x0.size}; prepare a new Objective for a new problem")
        return x.reshape(-1)

    def _sweep(self, x, args, with_hessian):
        self.sweeps += 1
        if with_hessian:
            value, gradient, hessian = self._value_gradient_hessian(x, args)
        else:
            (value, gradient), hessian = self._value_and_gradient(x, args), None
        return _Point(x, _keep_arguments(args), _value_of(value),
                      np.asarray(gradient, dtype=np.float64).reshape(-1), hessian)

    def _value_and_gradient(self, x, args):
        """dj.jacobian's sweep, the value read off its output: dj.value_and_jacobian
        sweeps sources of over 128 elements in chunks, one run of f per chunk of seeds,
        which costs far more for large n."""
        outputs = []
        objective = self._scalar(args)

        def recording(z):
            outputs.append(objective(z))
            return outputs[-1]
        gradient = api.jacobian(recording, x, unconnected_gradients="zero")
        return outputs[-1], gradient     # the last run: a write into a jet makes f run twice

    def _scalar(self, args):
        """fun with args bound, as the one-argument transforms take it."""
        return lambda z: self._objective(z, *args)

    def _value_gradient_hessian(self, x, args):
        if self.hessian_format == "dense":
            value, gradient, hessian = api.value_gradient_hessian(self._scalar(args), x)
            return value, gradient, hessian.reshape(x.size, x.size)
        return self._prepared_hessian().value_gradient_hessian(x, *args)

    def _hessian_is_sparse(self):
        pattern = self.sparsity
        return pattern.nnz < SPARSE_DENSITY * pattern.shape[0] * pattern.shape[1]
