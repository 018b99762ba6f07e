"""The dispatch tables, how rules enter them, and the entry points _core calls.

NumPy hands a call on a jet to ``_core``'s ``__array_ufunc__`` (NEP 13) or
``__array_function__`` (NEP 18, and NEP 35's ``like=``), which call
``array_ufunc`` / ``array_function`` here once ``install`` has set the hooks.
These look the call up in the tables below; anything without an entry raises
a TypeError naming the function: dualjac never returns a silently
derivative-free result.

Rule modules fill the tables through the decorators (``implements``,
``implements_ufunc``, ...). This module imports none of them: it knows the
tables, not what is in them.
"""

import functools
import inspect
import sys

import numpy as np

from .. import _core, rules
from .jets import astype, is_jet, value_of

HANDLED = {}          # NumPy function -> implementation on jets
CREATION = set()      # NEP 35 functions whose `like` is the dispatching jet
COMPOSITES = set()    # functions whose rule is a composition of NumPy calls (any array kind)
EXTRA_UFUNCS = {}     # ufunc without a rules-table row -> implementation on jets
COMPOSITE_UFUNCS = set()  # EXTRA_UFUNCS whose rule is a composition of NumPy calls
STAND_IN_RULES = {}    # function -> the rule stand-in jets run on themselves (queries.py)
UFUNC_PATTERNS = {}   # EXTRA_UFUNCS -> (first partials nonzero?, {(i, j): second nonzero?})
UFUNC_METHODS = {}    # (ufunc, "reduce" / "accumulate") -> implementation on jets
FOLDS = {}            # "reduce" / "accumulate" -> fold(ufunc, ...) of any binary ufunc (folds.py)
VALUE_UFUNCS = set()  # ufuncs whose result carries no derivative (comparisons ...)
TABLE_UFUNCS = {}     # ufunc object -> rules-table row name (run by the C kernels)
EVALUATED_UFUNCS = {}  # ufunc object -> its rules.Evaluated row (partials evaluated with SciPy)
ROW_RULES = {}        # row kind (rules.Evaluated) -> rule(row, ufunc, *inputs) on jets
PENDING_MODULES = set()   # rules-table modules not imported yet (scipy.special)
REFUSED = {}          # function without a rule -> why it has none (completes its TypeError)


# ---------------------------------------------------------------- registration

def implements(*functions, stand_ins=False):
    """Decorator: the rule for these NumPy functions. stand_ins: as implements_ufunc's."""
    def register(impl):
        for func in functions:
            HANDLED[func] = impl
            if stand_ins:
                STAND_IN_RULES[func] = impl
        return impl
    return register


def implements_composite(*functions):
    """Decorator: a rule written with NumPy functions only, so that it serves every array
    kind (jets and the sparsity tracer's PatternArray) as it is (compositions.py)."""
    def register(impl):
        COMPOSITES.update(functions)
        return implements(*functions)(impl)
    return register


def serves_stand_ins(*functions):
    """Decorator: the rule stand-in jets (a deferred jet or its transpose) run on
    themselves for these functions, where the jets' rule reads buffers: NumPy calls,
    value_of and with_values only (each call recorded or computed on its own)."""
    def register(impl):
        for func in functions:
            STAND_IN_RULES[func] = impl
        return impl
    return register


def implements_creation(*functions):
    """Decorator: the rule for these NEP 35 creation functions (np.zeros(n, like=x)),
    called with ``like`` set to the dispatching jet."""
    CREATION.update(functions)
    return implements(*functions)


def implements_ufunc(*ufuncs, stand_ins=False):
    """Decorator: the rule for ufuncs that have no rules-table row. stand_ins: the rule
    reads its jets only through NumPy calls, value_of and with_values (jets.py), so a
    deferred jet runs it on itself, each call recorded or computed on its own."""
    def register(impl):
        for ufunc in ufuncs:
            EXTRA_UFUNCS[ufunc] = impl
            if stand_ins:
                STAND_IN_RULES[ufunc] = impl
        return impl
    return register


def implements_composite_ufunc(*ufuncs):
    """Decorator: the rule for ufuncs without a rules-table row, written with NumPy calls
    only, so that the sparsity tracer runs it too (as implements_composite)."""
    def register(impl):
        COMPOSITE_UFUNCS.update(ufuncs)
        return implements_ufunc(*ufuncs)(impl)
    return register


def declares_pattern(ufunc, first, second=None):
    """For the sparsity tracer: which partials of an elementwise ufunc rule can be
    nonzero (``first``: one flag per operand; ``second``: {(i, j): flag})."""
    UFUNC_PATTERNS[ufunc] = (tuple(first), dict(second or {}))


def implements_ufunc_method(ufunc, method, stand_ins=False):
    """Decorator: the rule for ufunc.method (np.add.reduce, np.multiply.accumulate).
    stand_ins: as implements_ufunc's."""
    def register(impl):
        UFUNC_METHODS[(ufunc, method)] = impl
        if stand_ins:
            STAND_IN_RULES[(ufunc, method)] = impl
        return impl
    return register


def implements_fold(method):
    """Decorator: ufunc.method for every binary ufunc with a derivative rule and no rule of
    its own for the method, called as fold(ufunc, *inputs, **kwargs)."""
    def register(impl):
        FOLDS[method] = impl
        return impl
    return register


def fold_rule(ufunc, method):
    """The fold serving ufunc.method (np.logaddexp.reduce), or None."""
    fold = FOLDS.get(method)
    if (fold is None or ufunc.nin != 2 or ufunc.nout != 1 or ufunc in VALUE_UFUNCS
            or ufunc not in TABLE_UFUNCS and ufunc not in EXTRA_UFUNCS):
        return None
    return functools.partial(fold, ufunc)


def implements_rows(kind):
    """Decorator: the rule shared by every row of this kind of the rules table
    (rules.Evaluated), called as rule(row, ufunc, *inputs); register_pending_modules
    gives each row's ufunc its own entry in EXTRA_UFUNCS."""
    def register(impl):
        ROW_RULES[kind] = impl
        return impl
    return register


def refuses(*functions, why):
    """These functions have no rule, for a reason their TypeError states after the name."""
    for func in functions:
        REFUSED[func] = why


def returns_values(*ufuncs):
    """These ufuncs give plain results computed from the operands' values."""
    VALUE_UFUNCS.update(ufuncs)


def register_table_ufuncs():
    """Give the C fast path every rules-table ufunc whose module (numpy,
    scipy.special) is imported. Other modules wait: a program that calls
    scipy.special.erf on a dual array has imported SciPy by then, and
    register_pending_modules picks it up on the first miss, so `import dualjac`
    never pays for importing SciPy (SciPy is optional, too)."""
    PENDING_MODULES.update(row.module for row in rules.UNARY + rules.BINARY + rules.EVALUATED)
    register_pending_modules()


def register_pending_modules():
    """Register the rows of pending modules that are now imported; True if any."""
    loaded = {name: sys.modules[name] for name in PENDING_MODULES if name in sys.modules}
    if not loaded:
        return False
    PENDING_MODULES.difference_update(loaded)

    def ufuncs(rows):
        """{ufunc: row} for the rows' names and aliases their loaded module has."""
        found = {}
        for row in rows:
            module = loaded.get(row.module)
            for name in (row.name,) + getattr(row, "aliases", ()):
                if module is not None and hasattr(module, name):
                    # SciPy's array API support (SCIPY_ARRAY_API=1) wraps each ufunc
                    # in a function (functools.wraps): the rule belongs to the ufunc.
                    found[inspect.unwrap(getattr(module, name))] = row
        return found

    unary = {ufunc: row.name for ufunc, row in ufuncs(rules.UNARY).items()}
    binary = {ufunc: row.name for ufunc, row in ufuncs(rules.BINARY).items()}
    TABLE_UFUNCS.update(unary)
    TABLE_UFUNCS.update(binary)
    _core.register_ufuncs(unary, binary)
    # By row, not by name: scipy.special's own expm1 is an evaluated row named as NumPy's.
    for ufunc, row in ufuncs(rules.EVALUATED).items():
        EVALUATED_UFUNCS[ufunc] = row
        # (the rule reads jets through value_of / with_values: stand-ins run it too)
        EXTRA_UFUNCS[ufunc] = STAND_IN_RULES[ufunc] = functools.partial(
            ROW_RULES[type(row)], row, ufunc)
    return True


def install():
    """Register the rules-table ufuncs and hand _core the entry points below."""
    register_table_ufuncs()
    _core.set_numpy_hooks(array_ufunc, array_function, composite_rule)


def composite_rule(func):
    """The rule of a function or ufunc when it is a composition of NumPy calls (it then
    serves any array kind as it is: a deferred jet records its calls) or reads values only
    (STAND_IN_RULES), else None. A rules-table ufunc of a module imported since dualjac
    was (scipy.special) is registered first; it is then its own rule: called again, a
    deferred jet records it."""
    if func in STAND_IN_RULES:
        return STAND_IN_RULES[func]
    if type(func) is tuple:      # (ufunc, method) without a rule of its own: the fold
        return None if func in UFUNC_METHODS else fold_rule(*func)
    if PENDING_MODULES and isinstance(func, np.ufunc) and register_pending_modules():
        if func in TABLE_UFUNCS:
            return func
        if func in STAND_IN_RULES:
            return STAND_IN_RULES[func]
    if func in COMPOSITES:
        return HANDLED.get(func)
    if func in COMPOSITE_UFUNCS:
        return EXTRA_UFUNCS.get(func)
    return None


# ---------------------------------------------------------------- errors

def no_rule_error(name, what="function", why=None):
    reason = f"{name} {why} " if why else ""
    return TypeError(
        f"dualjac: {name} has no derivative rule for dual arrays, so it cannot be "
        f"applied without silently dropping derivatives. {reason}Rewrite it with supported "
        f"NumPy calls (see docs/semantics.md for the supported functions), or apply it to "
        f"x.value if you mean to differentiate nothing through it. Unsupported {what}: {name}.")


# Public NumPy namespaces by module, for error messages that name the function
# as the user wrote it (np.fft.fft, np.emath.sqrt, np.linalg.svd).
PUBLIC_MODULES = {"numpy": "np", "numpy.lib.scimath": "np.emath", "numpy.emath": "np.emath"}


def func_name(func):
    module = getattr(func, "__module__", None) or "numpy"
    if module in PUBLIC_MODULES:
        prefix = PUBLIC_MODULES[module]
    elif module.startswith("numpy."):
        # numpy.lib._stride_tricks_impl -> np.lib.stride_tricks (public names keep their "_")
        public = module[len("numpy."):].split("._")[0]
        prefix = "np." + ".".join(part.lstrip("_") for part in public.split("."))
    else:
        prefix = module
    return f"{prefix}.{func.__name__}"


def ufunc_name(ufunc):
    """np.sin, or scipy.special.erf: where the user's ufunc lives."""
    if getattr(np, ufunc.__name__, None) is ufunc:
        return f"np.{ufunc.__name__}"
    try:
        import scipy.special
        if getattr(scipy.special, ufunc.__name__, None) is ufunc:
            return f"scipy.special.{ufunc.__name__}"
    except ImportError:
        pass
    return f"ufunc {ufunc.__name__}"


# ---------------------------------------------------------------- entry points

def array_function(dispatcher, func, types, args, kwargs):
    """NEP 18 entry point. ``dispatcher`` is the jet NumPy asked; for NEP 35
    creation functions (np.zeros(n, like=x)) it is ``like``, absent from kwargs."""
    impl = HANDLED.get(func)
    if impl is None:
        raise no_rule_error(func_name(func), why=REFUSED.get(func))
    if func in CREATION and "like" not in kwargs:
        kwargs = dict(kwargs, like=dispatcher)
    return impl(*args, **kwargs)


def array_ufunc(ufunc, method, inputs, kwargs):
    """NEP 13 entry point, for the calls _core's fast path does not take itself."""
    if PENDING_MODULES and ufunc not in TABLE_UFUNCS:
        register_pending_modules()   # e.g. scipy.special, imported after dualjac
    name = ufunc_name(ufunc)
    if method != "__call__":
        return ufunc_method(ufunc, method, inputs, kwargs)
    out = kwargs.pop("out", None)
    if isinstance(out, tuple):
        if len(out) != 1:
            raise TypeError(f"dualjac: {name} with several outputs is not supported")
        out = out[0]
    if ufunc in VALUE_UFUNCS:     # comparisons and tests: plain results from values
        result = ufunc(*[value_of(x) for x in inputs], **kwargs)
        return result if out is None else store_into(out, result, name)
    dtype = kwargs.pop("dtype", None)
    where = kwargs.pop("where", True)
    kwargs.pop("casting", None)
    kwargs.pop("order", None)
    if kwargs:
        raise TypeError(f"dualjac: {name} on dual arrays does not support the "
                        f"keyword arguments {sorted(kwargs)}.")
    if not any(is_jet(x) for x in inputs):
        result = ufunc(*inputs)  # only `out` is a jet: plain values, stored below
    elif ufunc in TABLE_UFUNCS and ufunc.nin == 1:
        result = _core.apply_unary(TABLE_UFUNCS[ufunc], inputs[0])
    elif ufunc in TABLE_UFUNCS and ufunc.nin == 2:
        result = _core.apply_binary(TABLE_UFUNCS[ufunc], inputs[0], inputs[1])
    elif ufunc in EXTRA_UFUNCS:
        result = EXTRA_UFUNCS[ufunc](*inputs)
    else:
        raise no_rule_error(name, "ufunc")
    if dtype is not None:
        result = astype(result, dtype)
    if where is not True:
        # np.where's own rule, looked up (not imported): this module imports no rules
        select = HANDLED[np.where]
        result = select(where, result, out if out is not None else np.zeros_like(result))
    if out is not None:
        return store_into(out, result, name)
    return result


def ufunc_method(ufunc, method, inputs, kwargs):
    impl = UFUNC_METHODS.get((ufunc, method)) or fold_rule(ufunc, method)
    if impl is None:
        raise no_rule_error(f"{ufunc_name(ufunc)}.{method}", "ufunc method")
    return impl(*inputs, **kwargs)


def store_into(out, result, name):
    """ufunc(..., out=out): only a dual array can hold a dual result."""
    if not is_jet(out):
        if is_jet(result):
            raise TypeError(
                f"dualjac: {name}(..., out=array) would store a dual result into a plain "
                "ndarray and drop its derivatives. Create the output with "
                "np.zeros_like(x) or np.zeros(shape, like=x) instead.")
        out[...] = result
        return out
    out[...] = result
    return out
