"""scipy.special ufuncs whose partials SciPy evaluates (rules.Evaluated rows).

A row gives its partials as NumPy-syntax expressions in SciPy's (and NumPy's)
functions: jv's d/dx is ``(jv(v - 1, x) - jv(v + 1, x)) / 2``. The value is the
ufunc's own call on the operands' values; the partials are evaluated there too,
and the chain rule is applied on the jets: with d_i = x_i - x_i.value (a jet of
value 0, nilpotent: its products are exact jet products),

    f(x) = f0 + sum_i f_i d_i + sum_{i<=j} c_ij f_ij d_i d_j     (c_ii = 1/2, c_ij = 1),

exact at every jet kind and level (jets carry derivatives up to order two). The
first-order part is a scaling of each jet's buffer (one pass); the second-order
part is computed only when some jet carries second derivatives or the jets belong
to different levels (the products of first-order parts of one level vanish).

Arguments a row lists as constant (an order v, a shape parameter a) must not
carry derivatives: differentiating with respect to them is not supported, and
a dual one raises a TypeError rather than dropping its derivatives.
"""

import functools
import importlib

import numpy as np

from .. import rules
from .jets import astype, is_differentiable, is_jet, is_stand_in, value_of, with_values
from .registry import implements_rows


@functools.lru_cache(maxsize=None)
def _namespace():
    """The names a row's expressions see: scipy.special's, then NumPy's (np.i0 is
    not scipy.special.i0), with no builtins."""
    special = importlib.import_module("scipy.special")
    names = {name: getattr(np, name) for name in dir(np) if not name.startswith("_")}
    names.update({name: getattr(special, name) for name in dir(special)
                  if not name.startswith("_")})
    names["__builtins__"] = {}
    return names


@functools.lru_cache(maxsize=None)
def _compiled(expression):
    return compile(expression, f"<rule {expression!r}>", "eval")


def _evaluate(expression, scope):
    return eval(_compiled(expression), _namespace(), scope)


def _has_derivatives(a):
    if is_stand_in(a):
        a = a._dense()          # (a deferred jet as an order: rare, computed to be checked)
    return is_jet(a) and bool(np.any(a.buf[..., 1:]))


def _refuse_dual_constants(row, ufunc_name, inputs):
    for name, a in zip(row.args, inputs):
        if name in row.constants and _has_derivatives(a):
            raise TypeError(
                f"dualjac: {ufunc_name} is differentiated with respect to "
                f"{' and '.join(row.differentiable)} only; its argument {name!r} is a dual "
                f"array with nonzero derivatives, and differentiation with respect to it is "
                f"not supported. Pass {name}.value (a constant {name}) if you mean to "
                f"differentiate nothing through it.")


def _needs_second_order(jets):
    """False when every jet is a dual of one level: products of their first-order
    parts vanish, and so does the second-order part of the chain rule."""
    if any(a.degree != 1 for a in jets):
        return True
    return len({a.tag1 for a in jets}) > 1


def _scaled(a, factor, value):
    """The jet factor * (a - a.value) + value: a's buffer scaled, value column replaced
    (a deferred jet: its product with the factor, under the value; the same numbers)."""
    if is_stand_in(a):
        return with_values(a * factor, value)
    buf = a.buf * factor[..., None]
    buf[..., 0] = value
    return a.with_buffer(buf)


@implements_rows(rules.Evaluated)
def evaluated(row, ufunc, *inputs):
    """The row's ufunc on jets: SciPy's values and partials, chained on the jets."""
    name = f"{row.module.split('._')[0]}.{ufunc.__name__}"
    _refuse_dual_constants(row, name, inputs)
    values = [value_of(a) for a in inputs]
    f0 = np.asarray(ufunc(*values))
    jets = {arg: a for arg, a in zip(row.args, inputs)
            if is_differentiable(a) and arg in row.differentiable}
    if not jets:
        return f0
    dtype = f0.dtype
    if dtype.char not in "fd":
        raise TypeError(f"dualjac: {name} gave a result of dtype {dtype} on these arguments; "
                        "dual arrays hold float32 or float64: pass real floating arguments.")
    jets = {arg: (a if a.dtype == dtype else astype(a, dtype)) for arg, a in jets.items()}
    scope = dict(zip(row.args, values), f=f0)
    with np.errstate(all="ignore"):
        for let, expression in row.lets:
            scope[let] = _evaluate(expression, scope)
        first = {arg: _evaluate(expression, scope)
                 for arg, expression in row.partials if arg in jets}
        second = {}
        if _needs_second_order(list(jets.values())):
            for i, j, expression in row.second:
                if i in jets and j in jets:
                    second[i, j] = _evaluate(expression, scope) * (0.5 if i == j else 1.0)

    def factor(partial):
        return np.broadcast_to(np.asarray(partial, dtype), f0.shape)

    if len(jets) == 1:       # the value goes into the one scaled buffer
        (arg, a), = jets.items()
        result = _scaled(a, factor(first[arg]), f0)
    else:
        result = f0 + functools.reduce(
            np.add, [_scaled(a, factor(first[arg]), 0) for arg, a in jets.items()])
    if second:
        parts = {arg: a - value_of(a) for arg, a in jets.items()}
        for (i, j), partial in second.items():
            result = result + factor(partial) * (parts[i] * parts[j])
    return result
