"""Who converted a jet: the conversion guard's message when the user did not write it.

SciPy (without ``SCIPY_ARRAY_API=1``) and ``np.vectorize`` turn their arguments into plain
ndarrays themselves, so the guard's usual message ("np.asarray on a dual array ...") points
at code the user never wrote. The core calls ``conversion_message(what)`` from its guards
(handed over by ``_core.set_array_api_hooks``); it reads the call stack and, when the
conversion happened inside SciPy or np.vectorize, names the public function the user
called and the fixes that apply to it. Everything here runs only when a guard fires.
"""

from __future__ import annotations

import importlib
import sys
import types

import numpy as np

SCIPY_DROP_INS = "dualjac.scipy"     # the package of drop-ins, dualjac.scipy.<module>.<name>


def conversion_message(what):
    """The guard's message for a conversion made inside SciPy or np.vectorize, else None."""
    scipy_frames, vectorized = _converting_library_frames(sys._getframe(1))
    if scipy_frames:
        return _scipy_message(_public_scipy_name(scipy_frames), what)
    if vectorized:
        return _vectorize_message(what)
    return None


def _library(frame):
    name = frame.f_globals.get("__name__") or ""
    for library in ("scipy", "numpy", "dualjac"):
        if name == library or name.startswith(library + "."):
            return library
    return None


def _converting_library_frames(frame):
    """The SciPy frames between the guard and the user's code (innermost first), and
    whether np.vectorize is among the frames there. A conversion in the user's own code,
    even one SciPy calls back (an objective function), names no library."""
    scipy_frames, vectorized = [], False
    while frame is not None:
        library = _library(frame)
        if library is None:
            break
        if library == "scipy":
            scipy_frames.append(frame)
        elif library == "numpy" and frame.f_code.co_qualname.startswith("vectorize."):
            vectorized = True
        frame = frame.f_back
    return scipy_frames, vectorized


def _public_module(module_name):
    """scipy.special._logsumexp -> scipy.special: the part before the first private name."""
    parts = []
    for part in module_name.split("."):
        if part.startswith("_"):
            break
        parts.append(part)
    return ".".join(parts)


def _public_scipy_name(frames):
    """The public name of the outermost SciPy function the user called: a function of a
    public module (scipy.special.logsumexp), or a method of an object or class the public
    module holds (scipy.stats.norm.pdf, scipy.stats.Normal.pdf). Decorators' wrappers
    have no public name, so the next frame inward is tried."""
    for frame in reversed(frames):
        name = _public_name_of(frame)
        if name is not None:
            return name
    outermost = frames[-1]
    return f"{_public_module(outermost.f_globals['__name__'])} " \
           f"({outermost.f_globals['__name__']}.{outermost.f_code.co_qualname})"


def _public_name_of(frame):
    module_name = _public_module(frame.f_globals["__name__"])
    module = sys.modules.get(module_name)
    if module is None:
        return None
    owner = frame.f_locals.get("self")
    holder = None if owner is None else _attribute_holding(module, owner)
    for name in _function_names(frame):
        if holder is not None and hasattr(owner, name):
            return f"{module_name}.{holder}.{name}"
        if holder is None and getattr(getattr(module, name, None), "__name__", None) == name:
            return f"{module_name}.{name}"
    return None


def _function_names(frame):
    """The frame's function name; for a decorator's wrapper (a closure), also the names
    of the functions it closes over (the function it wraps)."""
    code = frame.f_code
    names = [code.co_name]
    if "<locals>" in code.co_qualname:
        names += [value.__name__ for value in frame.f_locals.values()
                  if isinstance(value, (types.FunctionType, np.ufunc))]
    return names


def _attribute_holding(module, owner):
    """The public module's name for owner (scipy.stats.norm) or for its class or the
    nearest public base class (scipy.stats.Normal), or None."""
    by_identity = {id(value): attribute for attribute, value in vars(module).items()}
    for candidate in (owner, *type(owner).__mro__):
        if id(candidate) in by_identity:
            return by_identity[id(candidate)]
    return None


def _drop_in(public_name):
    """dualjac.scipy.<module>.<name> for scipy.<module>.<name>, when that drop-in exists."""
    parts = public_name.split(" ")[0].split(".")
    if len(parts) != 3:
        return None
    module_name = f"{SCIPY_DROP_INS}.{parts[1]}"
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return f"{module_name}.{parts[2]}" if hasattr(module, parts[2]) else None


def _array_api_enabled():
    override = sys.modules.get("scipy._lib._array_api_override")
    return bool(getattr(override, "SCIPY_ARRAY_API", False))


def _scipy_message(public_name, what):
    fixes = []
    drop_in = _drop_in(public_name)
    if _array_api_enabled():
        reason = ("it has no array API implementation for arrays other than NumPy's, "
                  "so it converts them")
    else:
        reason = ("SciPy converts its arguments to NumPy arrays unless its array API "
                  "support is on")
        fixes.append("set the environment variable SCIPY_ARRAY_API=1 before SciPy is first "
                     "imported (SciPy then computes on dual arrays through their "
                     "__array_namespace__; docs/scipy.md lists the functions that work)")
    if drop_in is not None:
        fixes.append(f"use {drop_in}, a drop-in with derivative rules")
    fixes.append("pass x.value if no derivative should flow through it")
    return (f"dualjac: {public_name} converted a dual array to a plain ndarray ({what}), "
            f"which would silently drop its derivatives: {reason}. Fixes: "
            + "; or ".join(fixes) + ".")


def _vectorize_message(what):
    return ("dualjac: np.vectorize converted a dual array to a plain ndarray "
            f"({what}): its Python loop over elements cannot carry dual numbers, so the "
            "derivatives would silently be dropped. Apply the function directly to the "
            "arrays (NumPy's operators and functions work elementwise on dual arrays), or "
            "pass x.value if no derivative should flow through it.")
