"""Every public callable of NumPy, scipy.special's ufuncs and a list of SciPy functions,
each either with a sample call (differentiable) or listed as not differentiable.

Run ``python tests/coverage_calls.py`` for the counts and the unsupported functions;
tests/test_coverage.py checks the same outcomes against outside witnesses. The tables
are in tests/coverage_numpy.py and tests/coverage_scipy.py (tests/coverage_sample.py:
what a sample is).

Whether dualjac supports a differentiable function is not written here: it is found by
running the sample call on dual arrays (``outcome(name)``), so the counts follow the rules
as they are added. A sample is ``Sample(call, size, low, high, base)``: ``call`` takes one
1-D dual array x of ``size`` elements drawn uniformly from [low, high] (plus ``base``,
e.g. a well-conditioned matrix) and builds the function's arguments from it, on a domain
where the function is smooth. Arguments a sample keeps constant are plain numbers.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
import types
import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from coverage_numpy import NUMPY_SAMPLES, NUMPY_NOT_DIFFERENTIABLE  # noqa: E402
from coverage_scipy import (DROP_IN_SAMPLES, SCIPY_SAMPLES,  # noqa: E402
                            SPECIAL_NOT_DIFFERENTIABLE, special_samples)
from coverage_sample import Sample  # noqa: E402

# The NumPy namespaces walked for public callables, as users spell them.
NUMPY_NAMESPACES = (
    "np", "np.linalg", "np.fft", "np.emath", "np.lib.stride_tricks", "np.polynomial",
    "np.polynomial.polynomial", "np.polynomial.chebyshev", "np.polynomial.legendre",
    "np.polynomial.hermite", "np.polynomial.hermite_e", "np.polynomial.laguerre",
)

# NumPy submodules not walked, with the reason (the test checks that each still exists).
MODULES_NOT_WALKED = {
    "np.char": "strings", "np.strings": "strings", "np.rec": "records",
    "np.ma": "masked-arrays", "np.random": "sampling", "np.testing": "testing",
    "np.ctypeslib": "ctypes", "np.dtypes": "dtypes", "np.exceptions": "exceptions",
    "np.typing": "typing", "np.f2py": "fortran", "np.core": "deprecated",
    "np.lib.format": "io", "np.lib.npyio": "io", "np.lib.introspect": "introspection",
    "np.lib.mixins": "classes", "np.lib.array_utils": "introspection",
    "np.lib.scimath": "alias-of-np.emath", "np.polynomial.polyutils": "helpers",
}

SAMPLES: dict[str, Sample] = {**NUMPY_SAMPLES, **special_samples(), **SCIPY_SAMPLES,
                              **DROP_IN_SAMPLES}
NOT_DIFFERENTIABLE: dict[str, list[str]] = {}
for _table in (NUMPY_NOT_DIFFERENTIABLE, SPECIAL_NOT_DIFFERENTIABLE):
    for _reason, _names in _table.items():
        NOT_DIFFERENTIABLE.setdefault(_reason, []).extend(_names)


def group_of(name):
    """'NumPy', 'scipy.special' (its ufuncs), 'SciPy functions' (the list) or 'SciPy
    functions through dualjac.scipy' (the same list, called through the drop-ins)."""
    if name.startswith("np."):
        return "NumPy"
    if name in DROP_IN_SAMPLES:
        return "SciPy functions through dualjac.scipy"
    if name in SCIPY_SAMPLES:
        return "SciPy functions"
    return "scipy.special"


# ---------------------------------------------------------------- names

def resolve(name):
    """The object a dotted name spells ('np.linalg.svd', 'scipy.stats.norm.pdf')."""
    import importlib
    parts = name.split(".")
    root = "numpy" if parts[0] == "np" else parts[0]
    for cut in range(len(parts), 0, -1):
        module_name = ".".join([root] + parts[1:cut])
        try:
            obj = importlib.import_module(module_name)
        except ImportError:
            continue  # an attribute, not a module (np.emath, scipy.stats.norm)
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)
        return obj
    raise LookupError(name)


def public_callables():
    """{name: object} of every public callable of the walked NumPy namespaces and of
    scipy.special's ufuncs (classes included, submodules excluded)."""
    import importlib
    found = {}
    for prefix in NUMPY_NAMESPACES:
        module = resolve(prefix)
        for attribute in dir(module):
            if attribute.startswith("_"):
                continue
            obj = getattr(module, attribute)
            if callable(obj) and not isinstance(obj, types.ModuleType):
                found[f"{prefix}.{attribute}"] = obj
    special = importlib.import_module("scipy.special")
    for attribute in dir(special):
        if not attribute.startswith("_") and isinstance(getattr(special, attribute), np.ufunc):
            found[f"scipy.special.{attribute}"] = getattr(special, attribute)
    return found


def aliases_of(name, public=None):
    """The spellings of the same object (np.conj and np.conjugate; np.polynomial.Polynomial
    and np.polynomial.polynomial.Polynomial): a message may name any of them."""
    public = public_callables() if public is None else public
    obj = public.get(name)
    if obj is None:
        return {name}
    return {other for other, candidate in public.items() if candidate is obj} | {name}


# ---------------------------------------------------------------- running a sample

def flatten(result, keep_complex=False):
    """One 1-D array of a result's floating-point parts (tuples, named tuples and lists
    walked; integer and bool parts such as indices, counts or signs left out; a complex
    part as its real and imaginary parts, unless keep_complex: complex step's evaluations)."""
    leaves = []

    def walk(item):
        if isinstance(item, (tuple, list)):
            for part in item:
                walk(part)
            return
        if type(item).__module__.startswith("dualjac"):
            leaves.append(np.ravel(item))
            return
        array = np.asarray(item)
        if array.dtype.kind == "c" and not keep_complex:
            leaves.extend([np.ravel(array.real), np.ravel(array.imag)])
        elif array.dtype.kind in "fc":
            leaves.append(np.ravel(array))

    walk(result)
    if not leaves:
        return np.zeros(0)
    return np.concatenate(leaves) if len(leaves) > 1 else leaves[0]


def flat_call(name, keep_complex=False):
    """x -> flatten(the sample call of name at x)."""
    call = SAMPLES[name].call

    def run(x):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return flatten(call(x), keep_complex)
    return run


@dataclass
class Outcome:
    """What running the sample call on dual arrays gave: kind is 'supported',
    'unsupported' (a TypeError), 'first order only' (dj.hessian raised a TypeError)
    or 'error' (any other exception)."""
    kind: str
    value: Any = None
    jacobian: Any = None
    hessian: Any = None
    error: Optional[BaseException] = None


def outcome(name):
    import dualjac as dj
    sample = SAMPLES[name]
    x = sample.point(name)
    f = flat_call(name)
    try:
        value, jacobian = dj.value_and_jacobian(f, x)
    except TypeError as error:
        return Outcome("unsupported", error=error)
    except Exception as error:  # noqa: BLE001 - reported: neither a result nor a guard
        return Outcome("error", error=error)
    try:
        hessian = dj.hessian(f, x)
    except TypeError as error:
        return Outcome("first order only", value, jacobian, error=error)
    except Exception as error:  # noqa: BLE001
        return Outcome("error", value, jacobian, error=error)
    return Outcome("supported", value, jacobian, hessian)


def is_conversion_guard(message):
    """dualjac's guard against converting a jet to a plain ndarray (np.asarray)."""
    return message.startswith("dualjac") and ("np.asarray" in message or "convert" in message)


def names_function(error, name, public=None):
    """'named' when the TypeError's message names the function (or an alias of it),
    'conversion guard' when it is dualjac's conversion guard raised inside the function
    (code that calls np.asarray itself: the guard cannot tell which function it is in),
    else None."""
    message = str(error)
    for spelling in aliases_of(name, public):
        if re.search(r"(?<![\w.])" + re.escape(spelling) + r"(?![\w])", message):
            return "named"
    if is_conversion_guard(message):
        # The first frame below the sample call (tests/coverage_*.py) must be the library's:
        # the conversion happened inside the function the sample calls.
        package = f"{os.sep}{'numpy' if name.startswith('np.') else 'scipy'}{os.sep}"
        files = [frame.f_code.co_filename for frame, _ in traceback.walk_tb(error.__traceback__)]
        ours = [i for i, filename in enumerate(files)
                if os.path.basename(filename).startswith("coverage_")]
        if ours and ours[-1] + 1 < len(files) and package in files[ours[-1] + 1]:
            return "conversion guard"
    return None


# ---------------------------------------------------------------- the summary

def summary(names=None, stream=sys.stdout):
    """Prints, per group, how many differentiable functions dualjac supports, and the
    unsupported ones; returns {group: {kind: [names]}}."""
    public = public_callables()
    names = sorted(SAMPLES) if names is None else names
    table = {}
    for name in names:
        result = outcome(name)
        kind = result.kind
        if kind == "unsupported" and names_function(result.error, name, public) == "conversion guard":
            kind = "unsupported (conversion guard)"
        table.setdefault(group_of(name), {}).setdefault(kind, []).append(name)
    counts = []
    for group in ("NumPy", "scipy.special", "SciPy functions",
                  "SciPy functions through dualjac.scipy"):
        kinds = table.get(group, {})
        total = sum(len(v) for v in kinds.values())
        counts.append(f"{group}: {len(kinds.get('supported', []))} of {total} "
                      f"differentiable functions supported")
    print("; ".join(counts), file=stream)
    for group, kinds in table.items():
        for kind, listed in sorted(kinds.items()):
            if kind != "supported":
                print(f"\n{group}, {kind} ({len(listed)}):", file=stream)
                print("  " + " ".join(listed), file=stream)
    return table


if __name__ == "__main__":
    summary()
