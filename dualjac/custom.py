"""Derivative rules written by the user: ``custom_jvp``, ``register_jvp``, ``custom_root``.

A rule maps (primal values, tangents) to (output, output tangent), written in NumPy
(JAX's ``custom_jvp`` semantics). dualjac calls it with the tangents as jets: every seed
direction of the transform rides in one tangent array, so one call of the rule gives
the whole Jacobian's worth of directions.

How a call on jets runs (every jet kind, every nesting level)
-------------------------------------------------------------
The arguments' jets are brought to one level and split at their innermost level into a
primal P (the value, or for a hyper-dual the dual of the outer level) and a tangent
D = x - P (a jet whose value and outer parts are zero). The rule returns (y, t) and the
result is y + t. For a dual, P is a plain array and t must be linear in D: t is exactly
J D. For a hyper-dual, the rule runs with P a dual of the outer level: the rule's own
operations (including its call of the custom function itself, which recurses one level
down) are differentiated by the outer level, and D's products vanish (its parts of the
inner level square to zero), so y + t carries the exact second derivatives; this is
"second order by differentiating the rule", as in JAX, and needs a rule that runs on
dual arrays. A Hessian jet (both levels seeded alike, stored as a symmetric triangle) is
expanded to the two-level layout for the rule and stored back after.

Banded and deferred jets are handed to the rule as the dense jets they stand for. Under
the sparsity tracer, the rule runs with plain primals and tangents that carry the
dependence of each element, so the pattern of its first derivatives is the rule's own;
its second-order pattern pairs every two sources an output element depends on.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Sequence

import numpy as np

from . import _core
from ._core import STAND_IN_JETS, _Jet, _JetProtocol
from ._sweep import flatten
from .dispatch import registry
from .dispatch.jets import computed, with_values

__all__ = ["custom_jvp", "register_jvp", "custom_root"]


POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class custom_jvp:
    """A function with a derivative rule of its own (JAX's ``jax.custom_jvp``).

        @dj.custom_jvp
        def f(x, y):
            return black_box(x, y)

        @f.defjvp
        def f_jvp(primals, tangents):
            x, y = primals
            dx, dy = tangents
            out = f(x, y)             # f itself: the rule then works at second order too
            return out, g(x, y) * dx + h(x, y) * dy

    Arguments may be arrays, scalars or lists / tuples / dicts of them; tangents have the
    primals' structure (zeros for arguments that carry no derivatives). Arguments listed
    in ``nondiff_argnums`` (options, callables, sizes) are passed first to the rule, as in
    JAX: ``f_jvp(*nondiff_args, primals, tangents)``. Keyword arguments are bound to their
    positions. Without dual arguments f runs as it is.
    """

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(sorted(nondiff_argnums))
        self.jvp: Callable[..., Any] | None = None
        try:
            self._signature: inspect.Signature | None = inspect.signature(fun)
        except (TypeError, ValueError):     # some builtins and ufuncs have none
            self._signature = None
        self._positional = _positional_count(fun, self._signature)

    def defjvp(self, jvp: Callable[..., Any]) -> Callable[..., Any]:
        """Set the rule ``jvp(*nondiff_args, primals, tangents) -> (output, tangent)``."""
        if not callable(jvp):
            raise TypeError(f"dualjac.custom_jvp: defjvp needs a callable rule, got {type(jvp).__name__}")
        self.jvp = jvp
        return jvp

    def defjvps(self, *tangent_rules: Callable[..., Any] | None) -> None:
        """One rule per differentiable argument, ``rule(tangent, output, *primals)``, each
        linear in its tangent (JAX's ``defjvps``); None for an argument with no derivative."""
        def jvp(*args):
            *nondiff, primals, tangents = args
            out = self(*_merge(self.nondiff_argnums, nondiff, primals))
            parts = [rule(t, out, *primals)
                     for rule, t in zip(tangent_rules, tangents) if rule is not None]
            return out, functools.reduce(lambda a, b: a + b, parts) if parts else _zeros_like(out)
        self.jvp = jvp

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) < self._positional:
            args = self._bind(args, kwargs)      # (defaults reach the rule, as in JAX)
        diff = [a for i, a in enumerate(args) if i not in self.nondiff_argnums]
        leaves, _ = flatten(diff)
        if not any(isinstance(leaf, _JetProtocol) for leaf in leaves):
            return self.fun(*args)
        if self.jvp is None:
            raise TypeError(f"dualjac: {_name(self.fun)} is a dj.custom_jvp function without a "
                            f"rule; define one with @{_name(self.fun)}.defjvp before "
                            "differentiating it.")
        for i in self.nondiff_argnums:
            if any(isinstance(leaf, _JetProtocol) for leaf in flatten(args[i])[0]):
                raise TypeError(f"dualjac: argument {i} of {_name(self.fun)} is listed in "
                                "nondiff_argnums but holds a dual array; remove it from "
                                "nondiff_argnums, or pass its value (x.value).")
        nondiff = [args[i] for i in self.nondiff_argnums]
        return _apply_rule(self, nondiff, diff)

    def _bind(self, args, kwargs):
        if self._signature is None:
            raise TypeError(f"dualjac: {_name(self.fun)} takes no keyword arguments here "
                            "(its signature cannot be read); pass them by position.")
        bound = self._signature.bind(*args, **kwargs)
        for name, parameter in self._signature.parameters.items():
            if (name not in bound.arguments and parameter.kind in POSITIONAL
                    and parameter.default is not parameter.empty):
                bound.arguments[name] = parameter.default
        if bound.kwargs:
            raise TypeError(f"dualjac: {_name(self.fun)}'s keyword-only arguments "
                            f"{sorted(bound.kwargs)} cannot reach a custom rule; make them "
                            "positional, or close over them.")
        return bound.args


def _positional_count(fun, signature):
    """How many arguments a call may pass by position, so that a shorter call leaves some
    to their defaults (a ufunc's: its inputs, not out=)."""
    if isinstance(fun, np.ufunc):
        return fun.nin
    if signature is None:
        return 0
    return sum(1 for p in signature.parameters.values() if p.kind in POSITIONAL)


def _name(fun):
    return getattr(fun, "__qualname__", None) or getattr(fun, "__name__", repr(fun))


def _merge(nondiff_argnums, nondiff, diff):
    args, nondiff, diff = [], list(nondiff), list(diff)
    for i in range(len(nondiff) + len(diff)):
        args.append(nondiff.pop(0) if i in nondiff_argnums else diff.pop(0))
    return args


def _zeros_like(tree):
    leaves, rebuild = flatten(tree)
    return rebuild([np.zeros(np.shape(_core_value(leaf)), _float_dtype(leaf)) for leaf in leaves])


# ---------------------------------------------------------------- applying a rule

def _apply_rule(fn, nondiff, diff):
    leaves, rebuild = flatten(diff)
    if any(_is_pattern(leaf) for leaf in leaves):
        return _apply_to_patterns(fn, nondiff, leaves, rebuild)
    leaves = [computed(leaf) for leaf in leaves]
    level = _common_level([leaf for leaf in leaves if isinstance(leaf, _Jet)])
    primals, tangents = zip(*[_split(leaf, level) for leaf in leaves])
    out, tangent = fn.jvp(*nondiff, rebuild(list(primals)), rebuild(list(tangents)))
    result = _add_tangent(fn, out, tangent)
    if level.order == 3:
        result = _map_leaves(result, lambda y: _to_symmetric(y, level))
    return result


def _common_level(jets):
    """A zero-size jet of the level holding every argument (a Hessian jet's level is
    expanded to its two-level layout, whose inner level the rule peels)."""
    proto, _, _, _ = _core.unify(jets)
    proto = proto.with_buffer(np.empty((0, proto.ncomponents), proto.dtype), 0, 0)
    return proto


def _lift(jet, level):
    """jet at level's level and dtype (a zero-size level jet brings no connectivity)."""
    proto, bufs, deps1, deps2 = _core.unify([jet, level])
    return proto.with_buffer(np.ascontiguousarray(bufs[0]), deps1, deps2)


def _split(leaf, level):
    """(primal, tangent) of one argument: the tangent is zero for a constant."""
    if not isinstance(leaf, _Jet):
        value = np.asarray(leaf)
        if value.dtype.kind not in "fiub":
            raise TypeError(f"dualjac.custom_jvp: an argument of type {type(leaf).__name__} "
                            "cannot have a tangent; list it in nondiff_argnums.")
        return leaf, np.zeros(value.shape, _float_dtype(value))
    jet = _lift(leaf, level)
    if jet.order == 3:
        jet = _from_symmetric(jet)
    if jet.order == 1:
        primal = np.array(jet.buf[..., 0])
    else:
        primal = _core.make_dual(np.ascontiguousarray(jet.buf[..., :1 + jet.n1]),
                                 jet.tag1, jet.deps1)
    return primal, jet - primal


def _add_tangent(fn, out, tangent):
    out_leaves, rebuild = flatten(out)
    tangent_leaves, _ = flatten(tangent)
    if len(out_leaves) != len(tangent_leaves):
        raise TypeError(f"dualjac: the rule of {_name(fn.fun)} returned an output of "
                        f"{len(out_leaves)} arrays and a tangent of {len(tangent_leaves)}; "
                        "they must have the same structure.")
    results = []
    for y, t in zip(out_leaves, tangent_leaves):
        if t is None:
            raise TypeError(f"dualjac: the rule of {_name(fn.fun)} returned None as a tangent; "
                            "return zeros (np.zeros_like(output)) for an output that does not "
                            "change.")
        if np.shape(_core_value(y)) != np.shape(_core_value(t)):
            raise ValueError(f"dualjac: the rule of {_name(fn.fun)} returned an output of "
                             f"shape {np.shape(_core_value(y))} with a tangent of shape "
                             f"{np.shape(_core_value(t))}; they must match.")
        if not isinstance(t, _JetProtocol) and np.any(np.asarray(t) != 0):
            # a tangent linear in the tangents is a jet (or zero): a constant would be dropped
            raise ValueError(f"dualjac: the rule of {_name(fn.fun)} returned a tangent that does "
                             "not depend on the tangents it was given; a rule's tangent must be "
                             "linear in them (zeros where the output does not change).")
        results.append(_with_tangent(fn, y, t) if isinstance(t, _JetProtocol) else y)
    return rebuild(results)


def _with_tangent(fn, y, t):
    """y + t under y's own values and dtype. t is linear in tangents whose values are 0, so
    its value is 0 (or NaN, where a rule's infinite factor met them); a nonzero one is a
    constant term, which would shift the value. A tangent of another float dtype (float64
    constants in a rule for float32) is cast to the output's, as NumPy keeps f's dtype."""
    t_value = np.asarray(_core_value(t))
    shifted = np.isfinite(t_value) & (t_value != 0)
    if np.any(shifted):
        raise ValueError(f"dualjac: the rule of {_name(fn.fun)} returned a tangent that is not "
                         f"linear in the tangents: it is {t_value[shifted].flat[0]!r} where "
                         "they are zero (a constant term, such as `+ 1.0`?); a rule's tangent "
                         "must be linear in them.")
    y_value = np.asarray(_core_value(y))
    if y_value.dtype.kind == "f" and t.dtype != y_value.dtype:
        t = t.astype(y_value.dtype)
    return with_values(y + t, y_value)


def _core_value(x):
    return x.buf[..., 0] if isinstance(x, _Jet) else x.value if isinstance(x, _JetProtocol) else x


def _float_dtype(x):
    dtype = np.asarray(_core_value(x)).dtype
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def _map_leaves(tree, fun):
    leaves, rebuild = flatten(tree)
    return rebuild([fun(leaf) for leaf in leaves])


# ---------------------------------------------------------------- Hessian jets

def _from_symmetric(jet):
    """A Hessian jet (order 3: one seed set, second derivatives as an upper triangle)
    in the two-level layout: value, gradient twice, the full second-derivative block."""
    n = jet.n1
    full = _core.unpack_symmetric(jet, jet.shape + (n, n))
    buf = np.concatenate([jet.buf[..., :1 + n], jet.buf[..., 1:1 + n],
                          full.reshape(jet.shape + (n * n,))], axis=-1)
    return _core.make_hyper(buf, n, n, jet.tag1, jet.tag2, jet.deps1, jet.deps1)


def _to_symmetric(y, level):
    """A result of the two-level layout stored back as the Hessian jet it stands for."""
    if not isinstance(y, _Jet):
        return y
    n = level.n1
    if y.order == 1:      # no second-order part: the gradient only
        buf = np.zeros(y.shape + (1 + n + n * (n + 1) // 2,), y.dtype)
        buf[..., :1 + y.n1] = y.buf
        return _core.make_symmetric(buf, n, level.tag1, level.tag2, y.deps1)
    y = _lift(y, _core.make_hyper(np.empty((0, 1 + 2 * n + n * n), y.dtype), n, n,
                                  level.tag1, level.tag2, 0, 0))
    upper = np.triu_indices(n)
    cross = y.buf[..., 1 + 2 * n:].reshape(y.shape + (n, n))
    buf = np.concatenate([y.buf[..., :1 + n], cross[..., upper[0], upper[1]]], axis=-1)
    return _core.make_symmetric(np.ascontiguousarray(buf), n, level.tag1, level.tag2,
                                y.deps1 | y.deps2)


# ---------------------------------------------------------------- the sparsity tracer

def _is_pattern(x):
    return isinstance(x, _JetProtocol) and not isinstance(x, (_Jet, *STAND_IN_JETS))


def _apply_to_patterns(fn, nondiff, leaves, rebuild):
    primals = [leaf.value if _is_pattern(leaf) else leaf for leaf in leaves]
    tangents = [leaf - leaf.value if _is_pattern(leaf) else
                np.zeros(np.shape(leaf), _float_dtype(leaf)) for leaf in leaves]
    out, tangent = fn.jvp(*nondiff, rebuild(primals), rebuild(tangents))
    result = _add_tangent(fn, out, tangent)
    for leaf in flatten(result)[0]:
        if _is_pattern(leaf):
            leaf.recording.clique(leaf.deps)
    return result


# ---------------------------------------------------------------- rules for existing functions

def register_jvp(func: Callable[..., Any], jvp: Callable[..., Any], *,
                 nondiff_argnums: Sequence[int] = (), replace: bool = False) -> custom_jvp:
    """Give an existing NumPy / SciPy function or ufunc a derivative rule, so that code
    calling it by name on dual arrays runs (``scipy.special.jv`` with respect to x, a
    NumPy function dualjac has no rule for). ``jvp`` is a ``custom_jvp`` rule; for a
    ufunc the primals are its inputs. Returns the ``custom_jvp`` wrapper.

    Works for ufuncs and NumPy's dispatching functions (NumPy hands dual arrays to
    dualjac for them). A plain Python function converts its input itself and cannot be
    reached by name: wrap it with ``dj.custom_jvp`` and call the wrapper instead."""
    wrapped = custom_jvp(func, nondiff_argnums)
    wrapped.defjvp(jvp)
    if isinstance(func, np.ufunc):
        if registry.PENDING_MODULES:
            registry.register_pending_modules()
        if func in registry.TABLE_UFUNCS:
            raise ValueError(f"dualjac: {registry.ufunc_name(func)} has a rules-table row whose "
                             "C kernels run it; its rule cannot be replaced. Wrap your own "
                             "function with dj.custom_jvp instead.")
        _check_free(func in registry.EXTRA_UFUNCS, registry.ufunc_name(func), replace)
        registry.EXTRA_UFUNCS[func] = wrapped
        registry.COMPOSITE_UFUNCS.add(func)     # the wrapper runs on the tracer's arrays too
    elif isinstance(func, type(np.concatenate)):       # NEP 18: NumPy asks the arguments
        _check_free(func in registry.HANDLED, registry.func_name(func), replace)
        registry.HANDLED[func] = wrapped
        registry.COMPOSITES.add(func)      # the wrapper runs on any array kind, tracer included
    else:
        raise TypeError(f"dualjac.register_jvp: {_name(func)} is neither a ufunc nor a NumPy "
                        "function that dispatches on its arguments, so NumPy never hands it "
                        "dual arrays. Wrap it: f = dj.custom_jvp(f); f.defjvp(rule); and "
                        "call f.")
    return wrapped


def _check_free(taken, name, replace):
    if taken and not replace:
        raise ValueError(f"dualjac: {name} already has a derivative rule; pass "
                         "replace=True to use yours instead.")


# ---------------------------------------------------------------- implicit functions

def custom_root(optimality: Callable[..., Any]) -> Callable[[Callable[..., Any]], custom_jvp]:
    """Differentiate a solver through the implicit function theorem (jaxopt's
    ``custom_root``): ``optimality(x, *params) == 0`` at the solver's answer.

        @dj.custom_root(lambda x, a: x ** 3 + a * x - 1.0)
        def cube_root(x0, a):
            return scipy.optimize.brentq(lambda x: x ** 3 + a * x - 1.0, 0.0, 2.0)

    The decorated ``solver(x0, *params)`` runs on plain values; derivatives with respect
    to ``params`` come from dx = -F_x^-1 F_params dparams, with F_x the Jacobian of
    ``optimality`` in x (dualjac differentiates ``optimality``, which must be written
    with supported NumPy calls). The initial guess ``x0`` gets no derivative. Second
    derivatives are exact: the rule runs on dual arrays (see this module's docstring).
    F_x must be invertible at the solution (a simple root)."""
    def decorate(solver):
        @functools.wraps(solver)
        def solve(x0, *params):
            return solver(_core_value(x0) if isinstance(x0, _Jet) else x0, *params)

        wrapped = custom_jvp(solve, nondiff_argnums=(0,))

        def jvp(x0, primals, tangents):
            x = wrapped(x0, *primals)
            moved = optimality(x, *[p + t for p, t in zip(primals, tangents)])
            change = moved - optimality(x, *primals)        # F_params dparams, exactly
            return x, -_solve_linear(lambda z: optimality(z, *primals), x, change)
        wrapped.defjvp(jvp)
        return wrapped
    return decorate


def _solve_linear(F, x, b):
    from .api import jacobian
    shape = np.shape(_core_value(x))
    J = jacobian(F, x, unconnected_gradients="zero")
    n = int(np.prod(shape))
    if n == 1:
        return b / np.reshape(J, np.shape(_core_value(b)))
    if np.shape(_core_value(b)) != shape:
        raise ValueError(f"dualjac.custom_root: optimality(x, ...) has shape "
                         f"{np.shape(_core_value(b))} but x has shape {shape}; they must match "
                         "(as many equations as unknowns).")
    solution = np.linalg.solve(np.reshape(J, (n, n)), np.reshape(b, (n,)))
    return np.reshape(solution, shape)

