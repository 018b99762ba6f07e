"""scipy.special ufuncs on dual arrays (their rows of the rules table).

test_rules_table.py already checks every row against complex-step witnesses at a
few points; here: dense grids against independent SciPy / NumPy formulas for the
derivatives (each row's reference_derivative and reference_second_derivative),
covering every branch of src_c/include/special.h, the transforms
(dj.jacobian, nested, dj.hessian), float32 and float64, the routing of a ufunc
call to its kernel, the documented conventions (xlogy at x = 0, digamma's
reflection, log_ndtr's far tail), and that dualjac imports without SciPy.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import dualjac as dj
from dualjac import _core, rules
from dualjac.dispatch import registry
from witness import evaluate_witness

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "banded", "deferred")

DTYPES = (np.float32, np.float64)
SCIPY_UNARY = [row for row in rules.UNARY if row.module == "scipy.special"]


@pytest.fixture(scope="module")
def special():
    return pytest.importorskip("scipy.special")


def reference_derivatives(row, x):
    """(f', f'') of a scipy.special row: its reference_derivative and
    reference_second_derivative, formulas in SciPy and NumPy functions."""
    with np.errstate(over="ignore"):
        d1 = evaluate_witness(row.reference_derivative, x=x)
        return d1, evaluate_witness(row.reference_second_derivative, x=x, df=d1)


def grid(row, n=401):
    lo, hi = row.domain
    return np.linspace(lo, hi, n + 2)[1:-1]


# (value, f', f'') relative tolerances. float64 f'': the log_ndtr witness's own
# cancellation. float32: the kernels' exp(-x*x) in float32 (x*x rounded in float:
# ~1e-6 at |x| = 8, as x's own rounding would give); special.h's functions are
# computed in double.
TOLERANCE = {np.float64: (1e-14, 1e-13, 1e-12), np.float32: (2e-7, 3e-6, 3e-6)}


def assert_relative(got, want, rtol, what):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    err = np.abs(got - want) / np.maximum(np.abs(want), 1e-300)
    worst = int(np.argmax(err))
    assert err[worst] <= rtol, f"{what}: relative error {err[worst]:.2e} at entry {worst}"


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("row", SCIPY_UNARY, ids=lambda r: r.name)
def test_dense_grid_against_scipy(special, row, dtype):
    """Value vs scipy.special, f' and f'' vs independent formulas, on 401 points
    of the row's domain (every branch and switch point of special.h in between)."""
    f = getattr(special, row.name)
    x = grid(row).astype(dtype)
    value, d1 = dj.jvp(f, x, np.ones_like(x))
    d2 = dj.batch_hessian(lambda z: f(z)[:, 0], x[:, None])[:, 0, 0]
    assert value.dtype == d1.dtype == d2.dtype == dtype
    x64 = x.astype(np.float64)
    w1, w2 = reference_derivatives(row, x64)
    rv, r1, r2 = TOLERANCE[dtype]
    # relative to |f|, or to the row's value_scale where SciPy's own value is
    # less accurate (gammaln next to its zeros)
    want = f(x).astype(np.float64)
    scale = np.maximum(np.abs(want), max(row.value_scale, 1e-300))
    err = np.abs(value.astype(np.float64) - want) / scale
    assert err.max() <= rv, f"value: relative error {err.max():.2e} at x = {x[np.argmax(err)]}"
    assert_relative(d1, w1, r1, "f'")
    assert_relative(d2, w2, r2, "f''")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("row", SCIPY_UNARY, ids=lambda r: r.name)
def test_jacobian_nested_jacobian_and_hessian(special, row, dtype):
    f = getattr(special, row.name)
    x = grid(row, 5).astype(dtype)
    w = np.array([0.5, -1.0, 2.0, 1.5, -0.25], dtype)
    w1, w2 = reference_derivatives(row, x.astype(np.float64))
    _, r1, r2 = TOLERANCE[dtype]

    jac = dj.jacobian(f, x)
    assert jac.dtype == dtype and jac.shape == (5, 5)
    assert np.count_nonzero(jac - np.diag(np.diagonal(jac))) == 0
    assert_relative(np.diagonal(jac), w1, r1, "jacobian")

    nested = dj.jacobian(lambda z: dj.jacobian(f, z), x)     # (5, 5, 5), f'' on the diagonal
    i = np.arange(5)
    assert nested.dtype == dtype
    assert np.count_nonzero(nested) <= 5
    assert_relative(nested[i, i, i], w2, r2, "nested jacobian")

    hess = dj.hessian(lambda z: np.sum(w * f(z)), x)          # diag(w f'')
    assert hess.dtype == dtype and hess.shape == (5, 5)
    assert np.count_nonzero(hess - np.diag(np.diagonal(hess))) == 0
    assert_relative(np.diagonal(hess), w * w2, r2, "hessian")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_xlogy_hessian(special, dtype):
    """H of x log y: [[0, 1/y], [1/y, -x/y^2]]; gradient (log y, x/y)."""
    for x, y in [(0.7, 1.9), (-1.3, 0.4), (2.5, 2.5)]:
        v = np.array([x, y], dtype)
        x64, y64 = v.astype(np.float64)
        grad = dj.gradient(lambda s: special.xlogy(s[0], s[1]), v)
        hess = dj.hessian(lambda s: special.xlogy(s[0], s[1]), v)
        assert grad.dtype == hess.dtype == dtype
        _, r1, r2 = TOLERANCE[dtype]
        assert_relative(grad, [np.log(y64), x64 / y64], r1, "gradient")
        assert hess[0, 0] == 0
        assert_relative(hess.ravel()[1:], [1 / y64, 1 / y64, -x64 / y64 ** 2], r2, "hessian")


# ------------------------------------------------------------------ routing

def dual(x):
    return _core.DualArray(x, np.full(x.shape + (1,), 1.0, x.dtype))


CALLS = [("numpy", "exp")] + [("scipy.special", row.name) for row in SCIPY_UNARY]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("module,name", CALLS, ids=[f"{m}.{n}" for m, n in CALLS])
def test_ufunc_call_runs_the_kernel(special, module, name, dtype, monkeypatch):
    """<module>.<name>(DualArray) goes from __array_ufunc__ straight to the row's
    kernel (the Python dispatch layer is never asked), and with keyword arguments
    through the dispatch layer to the same kernel: value and derivative both ways."""
    f = getattr(np if module == "numpy" else special, name)
    row = rules.by_name()[name]
    x = grid(row, 6).astype(dtype)
    want_value = f(x)
    want_d1 = evaluate_witness(row.reference_derivative, x=x.astype(np.float64))
    rtol = 1e-13 if dtype is np.float64 else 3e-6

    source = dual(x)
    through_python = f(source, out=np.zeros_like(source))

    def no_python_dispatch(*args):
        raise AssertionError("the Python dispatch layer was called")
    monkeypatch.setattr(_core._Hooks, "array_ufunc", no_python_dispatch)
    fast = f(dual(x))
    monkeypatch.undo()

    for result in (fast, through_python):
        assert isinstance(result, _core.DualArray) and result.dtype == dtype
        np.testing.assert_allclose(result.value, want_value, rtol=rtol, atol=0)
        assert_relative(result.tangent[:, 0], want_d1, rtol, "derivative")


def test_psi_is_digamma(special):
    """One ufunc under two names (the README lists both): both differentiate."""
    assert special.psi is special.digamma
    assert registry.TABLE_UFUNCS[special.psi] == "digamma"


def test_dualjac_imports_without_scipy():
    """SciPy is an optional (test) extra: with every scipy import failing, dualjac
    imports, registers all NumPy rows, and skips the scipy.special ones."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(dj.__file__)))
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {root!r})
        sys.modules["scipy"] = None          # any import of scipy now raises ImportError
        import numpy as np
        import dualjac as dj
        from dualjac import rules
        from dualjac.dispatch import registry
        assert dj.__file__.startswith({root!r}), dj.__file__
        rows = rules.UNARY + rules.BINARY
        assert all(getattr(np, r.name) in registry.TABLE_UFUNCS for r in rows if r.module == "numpy")
        registered = set(registry.TABLE_UFUNCS.values())
        assert not registered & {{r.name for r in rows if r.module == "scipy.special"}}
        assert not registry.EVALUATED_UFUNCS
        assert np.allclose(dj.jacobian(np.sin, np.zeros(2)), np.eye(2))
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=root, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


# ------------------------------------------------------------------ conventions

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
class TestConventions:

    def test_xlogy_at_x_zero(self, special, dtype):
        """xlogy(0, y) = 0 (SciPy). On x = 0: d/dy = 0 (the value is 0 for every y),
        d/dx = log(y) for y > 0 (the true partial); at (0, 0) every partial is 0."""
        y = np.array([0.5, 2.0, 0.0], dtype)
        x = np.zeros(3, dtype)
        f = lambda s: special.xlogy(s[0], s[1])   # noqa: E731
        value, (jx, jy) = dj.value_and_jacobian(f, [x, y])
        np.testing.assert_array_equal(value, [0.0, 0.0, 0.0])
        np.testing.assert_allclose(np.diagonal(jx), [np.log(0.5), np.log(2.0), 0.0], rtol=1e-6)
        np.testing.assert_array_equal(jy, np.zeros((3, 3)))
        for y0, want in [(2.0, [[0.0, 0.5], [0.5, 0.0]]), (0.0, [[0.0, 0.0], [0.0, 0.0]])]:
            hess = dj.hessian(f, np.array([0.0, y0], dtype))
            np.testing.assert_array_equal(hess, want)
        # a constant y = 0 with a jet x = 0 (and the reverse): no NaN either
        assert dj.jacobian(lambda a: special.xlogy(a, 0.0), np.zeros(1, dtype))[0, 0] == 0
        assert dj.jacobian(lambda b: special.xlogy(0.0, b), np.zeros(1, dtype))[0, 0] == 0

    def test_digamma_reflection_for_negative_x(self, special, dtype):
        """Negative non-integers go through psi(1 - x) - pi cot(pi x) and its
        derivatives: values and the first two derivatives against SciPy."""
        x = np.array([-3.3, -2.2, -1.2, -0.8, -0.2, -0.01], dtype)
        x64 = x.astype(np.float64)
        rtol = 1e-13 if dtype is np.float64 else 3e-6
        for name, derivatives in [("digamma", (1, 2)), ("gammaln", (0, 1))]:
            f = getattr(special, name)
            value, d1 = dj.jvp(f, x, np.ones_like(x))
            d2 = dj.batch_hessian(lambda z: f(z)[:, 0], x[:, None])[:, 0, 0]
            np.testing.assert_allclose(value, f(x), rtol=rtol)
            want1, want2 = (special.digamma(x64) if n == 0 else special.polygamma(n, x64)
                            for n in derivatives)
            assert_relative(d1, want1, rtol, f"{name}'")
            assert_relative(d2, want2, rtol, f"{name}''")

    def test_log_ndtr_far_left_tail(self, special, dtype):
        """Down to x = -1e4, past special.h's switch of erfcx to its asymptotic series
        (x = -36.77): log_ndtr is SciPy's, its derivatives are the Mills-ratio series
        r = t / S, x + r = t (1 - S) / S, S = sum (-1)^k (2k-1)!! / t^(2k), t = -x."""
        x = np.array([-20.0, -25.0, -36.7, -36.8, -50.0, -300.0, -1e4], dtype)
        t = -x.astype(np.float64)
        terms = [np.ones_like(t)]
        for k in range(1, 16):
            terms.append(-terms[-1] * (2 * k - 1) / (t * t))
        one_minus_s = -np.sum(terms[1:], axis=0)
        s = 1 - one_minus_s
        r = t / s
        value, d1 = dj.jvp(special.log_ndtr, x, np.ones_like(x))
        d2 = dj.batch_hessian(lambda z: special.log_ndtr(z)[:, 0], x[:, None])[:, 0, 0]
        rtol = 1e-14 if dtype is np.float64 else 2e-7
        np.testing.assert_allclose(value, special.log_ndtr(x), rtol=rtol)
        assert_relative(d1, r, rtol, "log_ndtr'")
        assert_relative(d2, -r * t * one_minus_s / s, rtol, "log_ndtr''")
