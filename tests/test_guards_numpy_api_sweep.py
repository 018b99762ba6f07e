"""Guards: a sweep over NumPy's public API (np, np.linalg, np.fft). Every function
either raises, returns jets whose values agree with NumPy, or returns something
derivative-free by nature (bool / int / shapes); a plain *float* result is a
silent loss (tests/guard_jets.py).
"""

import types
import warnings

import numpy as np
import pytest

import dualjac as dj
from dualjac import DualArray
from dualjac._core import _Jet
from guard_jets import VALUES, capture, leaves_of

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "deferred")


# Never called: they print, block, do file I/O, run NumPy's own tests, or change global state.
SWEEP_DENYLIST = {
    "np.info", "np.show_config", "np.show_runtime", "np.test",             # print / run tests
    "np.load", "np.save", "np.savez", "np.savez_compressed", "np.savetxt",  # file I/O
    "np.loadtxt", "np.genfromtxt", "np.fromfile", "np.fromregex", "np.memmap",
    "np.set_printoptions", "np.printoptions", "np.setbufsize", "np.seterr",  # global state
    "np.seterrcall", "np.errstate",
    "np.add_docstring", "np.add_newdoc", "np.add_newdoc_ufunc",             # mutate docstrings
}

# Functions whose float result legitimately carries no derivative although a dual
# array went in (each with the reason). Otherwise every derivative-free NumPy function
# dualjac accepts returns bool / int / shape / dtype values.
SILENT_FLOAT_ALLOWED = {
    "np.histogram2d": "counts (NumPy's are floats) are piecewise constant; the edges are dual",
    "np.histogramdd": "counts (NumPy's are floats) are piecewise constant; the edges are dual",
}

# Supported functions whose values cannot be compared with NumPy's (uninitialised memory).
NO_VALUE_COMPARISON = {"np.empty_like", "np.empty"}


def _public_functions():
    found = {}
    for module, prefix in ((np, "np."), (np.linalg, "np.linalg."), (np.fft, "np.fft.")):
        for attr in sorted(dir(module)):
            if attr.startswith("_"):
                continue
            name = prefix + attr
            if name in SWEEP_DENYLIST or attr == "test":  # np.linalg.test runs NumPy's tests
                continue
            obj = getattr(module, attr)
            if isinstance(obj, (type, types.ModuleType)) or not callable(obj):
                continue  # classes, dtypes, scalar types, constants, submodules
            found[name] = obj
    return found


PUBLIC_FUNCTIONS = _public_functions()

# Arguments for functions a single array cannot exercise (they need more arguments or a
# matrix). Built from (a, A): the (3,) and (3, 3) inputs, jets or their plain values, so the
# same recipe computes NumPy's reference. Anything not listed is called as f(a) (f(a, a) for
# binary ufuncs).
ROWS = [[True, False, True]]
RECIPES = {
    "np.allclose": lambda a, A: ((a, a), {}),
    "np.append": lambda a, A: ((a, a), {}),
    "np.apply_along_axis": lambda a, A: ((np.sum, 0, A), {}),
    "np.apply_over_axes": lambda a, A: ((np.sum, A, [0]), {}),
    "np.argpartition": lambda a, A: ((a, 1), {}),
    "np.array_equal": lambda a, A: ((a, a), {}),
    "np.array_equiv": lambda a, A: ((a, a), {}),
    "np.array_split": lambda a, A: ((a, 3), {}),
    "np.astype": lambda a, A: ((a, np.float32), {}),
    "np.broadcast_to": lambda a, A: ((a, (2, 3)), {}),
    "np.choose": lambda a, A: (([0, 1, 0], [a, a]), {}),
    "np.clip": lambda a, A: ((a, 0.4, 0.6), {}),
    "np.compress": lambda a, A: ((ROWS[0], a), {}),
    "np.concat": lambda a, A: (([a, a],), {}),
    "np.concatenate": lambda a, A: (([a, a],), {}),
    "np.convolve": lambda a, A: ((a, a), {}),
    "np.copyto": lambda a, A: ((np.zeros(3), a), {}),
    "np.correlate": lambda a, A: ((a, a), {}),
    "np.cross": lambda a, A: ((a, a), {}),
    "np.delete": lambda a, A: ((a, 0), {}),
    "np.diagonal": lambda a, A: ((A,), {}),
    "np.digitize": lambda a, A: ((a, [0.4, 0.6]), {}),
    "np.dot": lambda a, A: ((A, a), {}),
    "np.dsplit": lambda a, A: ((A[None], 3), {}),
    "np.einsum": lambda a, A: (("ij,j->i", A, a), {}),
    "np.empty": lambda a, A: (((3,),), {"like": a}),
    "np.expand_dims": lambda a, A: ((a, 0), {}),
    "np.extract": lambda a, A: ((ROWS[0], a), {}),
    "np.fill_diagonal": lambda a, A: ((np.zeros((3, 3)), a), {}),
    "np.fromiter": lambda a, A: ((a, float), {}),
    "np.full": lambda a, A: (((3,), 0.5), {"like": a}),
    "np.full_like": lambda a, A: ((a, 0.5), {}),
    "np.geomspace": lambda a, A: ((a, 1.0, 3), {}),
    "np.histogram2d": lambda a, A: ((a, a), {}),
    "np.hsplit": lambda a, A: ((a, 3), {}),
    "np.inner": lambda a, A: ((A, a), {}),
    "np.insert": lambda a, A: ((a, 0, 0.5), {}),
    "np.interp": lambda a, A: ((a, [0.0, 1.0], [0.0, 2.0]), {}),
    "np.intersect1d": lambda a, A: ((a, a), {}),
    "np.isclose": lambda a, A: ((a, a), {}),
    "np.isin": lambda a, A: ((a, a), {}),
    "np.kaiser": lambda a, A: ((3, a[0]), {}),
    "np.kron": lambda a, A: ((a, a), {}),
    "np.linspace": lambda a, A: ((a, 1.0, 3), {}),
    "np.logspace": lambda a, A: ((a, 1.0, 3), {}),
    "np.matmul": lambda a, A: ((A, a), {}),
    "np.matvec": lambda a, A: ((A, a), {}),
    "np.may_share_memory": lambda a, A: ((a, a), {}),
    "np.moveaxis": lambda a, A: ((A, 0, 1), {}),
    "np.nanpercentile": lambda a, A: ((a, 50), {}),
    "np.nanquantile": lambda a, A: ((a, 0.5), {}),
    "np.ones": lambda a, A: (((3,),), {"like": a}),
    "np.outer": lambda a, A: ((a, a), {}),
    "np.pad": lambda a, A: ((a, 1), {}),
    "np.partition": lambda a, A: ((a, 1), {}),
    "np.percentile": lambda a, A: ((a, 50), {}),
    "np.piecewise": lambda a, A: ((a, ROWS, [lambda t: 2 * t, lambda t: t]), {}),
    "np.place": lambda a, A: ((np.zeros(3), ROWS[0], a), {}),
    "np.polyadd": lambda a, A: ((a, a), {}),
    "np.polydiv": lambda a, A: ((a, a), {}),
    "np.polyfit": lambda a, A: ((a, a, 1), {}),
    "np.polymul": lambda a, A: ((a, a), {}),
    "np.polysub": lambda a, A: ((a, a), {}),
    "np.polyval": lambda a, A: ((a, 0.5), {}),
    "np.put": lambda a, A: ((np.zeros(3), [0], a[:1]), {}),
    "np.put_along_axis": lambda a, A: ((np.zeros(3), np.array([0]), a[:1], 0), {}),
    "np.putmask": lambda a, A: ((np.zeros(3), ROWS[0], a), {}),
    "np.quantile": lambda a, A: ((a, 0.5), {}),
    "np.repeat": lambda a, A: ((a, 2), {}),
    "np.reshape": lambda a, A: ((a, (3, 1)), {}),
    "np.resize": lambda a, A: ((a, 6), {}),
    "np.roll": lambda a, A: ((a, 1), {}),
    "np.rollaxis": lambda a, A: ((A, 1), {}),
    "np.searchsorted": lambda a, A: ((a, 0.5), {}),
    "np.select": lambda a, A: ((ROWS, [a]), {}),
    "np.setdiff1d": lambda a, A: ((a, a[:1]), {}),
    "np.setxor1d": lambda a, A: ((a, a[:1]), {}),
    "np.shares_memory": lambda a, A: ((a, a), {}),
    "np.split": lambda a, A: ((a, 3), {}),
    "np.swapaxes": lambda a, A: ((A, 0, 1), {}),
    "np.take": lambda a, A: ((a, [2, 0]), {}),
    "np.take_along_axis": lambda a, A: ((a, np.array([2, 0]), 0), {}),
    "np.tensordot": lambda a, A: ((A, a, 1), {}),
    "np.tile": lambda a, A: ((a, 2), {}),
    "np.trace": lambda a, A: ((A,), {}),
    "np.union1d": lambda a, A: ((a, a), {}),
    "np.vdot": lambda a, A: ((a, a), {}),
    "np.vecdot": lambda a, A: ((A, a), {}),
    "np.vecmat": lambda a, A: ((a, A), {}),
    "np.vsplit": lambda a, A: ((A, 3), {}),
    "np.where": lambda a, A: ((ROWS[0], a, 0.5), {}),
    "np.zeros": lambda a, A: (((3,),), {"like": a}),
    "np.linalg.cross": lambda a, A: ((a, a), {}),
    "np.linalg.lstsq": lambda a, A: ((A, a), {}),
    "np.linalg.matmul": lambda a, A: ((A, a), {}),
    "np.linalg.matrix_power": lambda a, A: ((A, 2), {}),
    "np.linalg.norm": lambda a, A: ((A,), {}),
    "np.linalg.outer": lambda a, A: ((a, a), {}),
    "np.linalg.solve": lambda a, A: ((A, a), {}),
    "np.linalg.tensordot": lambda a, A: ((A, a), {"axes": 1}),
    "np.linalg.tensorsolve": lambda a, A: ((A, a), {}),
    "np.linalg.vecdot": lambda a, A: ((a, a), {}),
    "np.fft.fftfreq": lambda a, A: ((3, a[0]), {}),
    "np.fft.rfftfreq": lambda a, A: ((3, a[0]), {}),
}
# matrix functions of np.linalg get the matrix
for _name in PUBLIC_FUNCTIONS:
    if _name.startswith("np.linalg.") and _name not in RECIPES:
        RECIPES[_name] = lambda a, A: ((A,), {})

SWEEP_A = np.array(VALUES)
SWEEP_M = 0.2 + 0.6 * np.array([[1.0, 0.2, 0.3], [0.25, 0.9, 0.35], [0.4, 0.3, 0.8]]) / 1.1


def sweep_inputs(kind):
    """(a, A) as jets of one level: a (3,) and a (3, 3) taken from one seeded vector,
    so functions of both combine them. Values in (0.2, 0.8)."""
    flat = np.concatenate([SWEEP_A, SWEEP_M.ravel()])
    dtype = np.float32 if kind.endswith("float32") else np.float64
    flat = flat.astype(dtype)
    if kind.startswith("dual"):
        z = DualArray(flat, np.eye(flat.size, dtype=dtype))
    else:
        z = capture(lambda f: dj.hessian(f, flat))
    return z[:3], np.reshape(z[3:], (3, 3))


def _plain_like(item):
    return np.array(item.value) if isinstance(item, _Jet) else item


def sweep_call(name, a, A):
    func = PUBLIC_FUNCTIONS[name]
    if name in RECIPES:
        return RECIPES[name](a, A)
    if isinstance(func, np.ufunc):
        return (a,) * func.nin, {}
    return (a,), {}



def _is_plain_float(leaf):
    if isinstance(leaf, _Jet):
        return False
    if isinstance(leaf, (float, complex, np.floating, np.complexfloating)):
        return True
    return isinstance(leaf, np.ndarray) and leaf.dtype.kind in "fcO"


def classify(name, kind):
    """('raised', type, message) | ('dual', result, reference-or-None) |
    ('plain', result) | ('SILENT LOSS', result)."""
    a, A = sweep_inputs(kind)
    args, kwargs = sweep_call(name, a, A)
    func = PUBLIC_FUNCTIONS[name]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = func(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - any exception is a guard
        return ("raised", type(error).__name__, str(error))
    leaves = list(leaves_of(result))
    if any(isinstance(leaf, _Jet) for leaf in leaves):
        if any(_is_plain_float(leaf) for leaf in leaves):
            return ("SILENT LOSS", result)   # some outputs lost their derivatives
        reference = None
        if name not in NO_VALUE_COMPARISON:
            plain_args, plain_kwargs = sweep_call(name, np.array(a.value), np.array(A.value))
            plain_kwargs = {k: v for k, v in plain_kwargs.items() if k != "like"}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    reference = func(*plain_args, **plain_kwargs)
            except Exception:  # noqa: BLE001 - NumPy refuses these arguments: nothing to compare
                reference = None
        return ("dual", result, reference)
    if any(_is_plain_float(leaf) for leaf in leaves):
        return ("SILENT LOSS", result)
    return ("plain", result)


SWEEP_KINDS = ["dual-float64", "dual-float32", "hyper-float64"]


@pytest.mark.parametrize("kind", SWEEP_KINDS)
@pytest.mark.parametrize("name", sorted(PUBLIC_FUNCTIONS))
def test_numpy_api_sweep(name, kind):
    outcome = classify(name, kind)
    if outcome[0] == "raised":
        return  # (a) refused: fine, whatever the exception
    if outcome[0] == "plain":
        return  # (c) bool / int / shape / index results carry no derivative by nature
    if outcome[0] == "SILENT LOSS":  # (d)
        assert name in SILENT_FLOAT_ALLOWED, (
            f"{name} on a {kind} returned a plain float result: derivatives silently "
            f"dropped: {outcome[1]!r:.300}")
        return
    _, result, reference = outcome  # (b) supported: values must be NumPy's
    if reference is None:
        return
    got, want = list(leaves_of(result)), list(leaves_of(reference))
    assert len(got) == len(want), (name, result, reference)
    rtol = 1e-5 if kind.endswith("float32") else 1e-10
    for g, w in zip(got, want):
        g_value = g.value if isinstance(g, _Jet) else np.asarray(g)
        assert g_value.shape == np.shape(w), f"{name}: shape {g_value.shape} != NumPy's {np.shape(w)}"
        assert g_value.dtype == np.asarray(w).dtype, f"{name}: dtype {g_value.dtype} != NumPy's"
        np.testing.assert_allclose(g_value, np.asarray(w, dtype=np.float64), rtol=rtol,
                                   atol=1e-6, err_msg=f"{name}: value differs from NumPy's")


def test_numpy_api_sweep_summary(capsys):
    """One table of every outcome; fails listing all silent losses at once."""
    losses, counts = [], {}
    for kind in SWEEP_KINDS:
        for name in sorted(PUBLIC_FUNCTIONS):
            outcome = classify(name, kind)
            counts[outcome[0]] = counts.get(outcome[0], 0) + 1
            if outcome[0] == "SILENT LOSS" and name not in SILENT_FLOAT_ALLOWED:
                losses.append(f"{kind}: {name} -> {outcome[1]!r:.120}")
    print(f"sweep of {len(PUBLIC_FUNCTIONS)} functions x {len(SWEEP_KINDS)} input kinds: {counts}")
    assert counts.get("dual", 0) > 50  # the sweep reaches the supported functions
    assert not losses, "silent derivative losses:\n" + "\n".join(losses)


def test_sweep_sees_all_of_numpy():
    """Guard the sweep itself: it must cover the main namespaces, ufuncs included."""
    assert len(PUBLIC_FUNCTIONS) > 350
    for name in ("np.sin", "np.sort", "np.linalg.svd", "np.fft.fft", "np.add", "np.where"):
        assert name in PUBLIC_FUNCTIONS, name
    assert not any(n in PUBLIC_FUNCTIONS for n in ("np.ndarray", "np.float64", "np.linalg"))
