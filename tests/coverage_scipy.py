"""scipy.special's ufuncs and a list of SciPy functions for the coverage test
(tests/coverage_calls.py).

A scipy.special ufunc's sample differentiates its last argument (x in jv(v, x),
gammainc(a, x), betainc(a, b, x), eval_legendre(n, x): the variable, where the other
arguments are orders and shape parameters) on [0.2, 0.8], with the others constant:
1.5 for a real one and 2 for an integer one unless ARGUMENTS says otherwise.
"""

from __future__ import annotations

import numpy as np

from coverage_sample import M, S, matrix, upper

# ufunc -> (constant leading arguments, (low, high) of the last argument)
ARGUMENTS = {
    "bdtr": ((1.0, 4.0), None), "bdtrc": ((1.0, 4.0), None), "bdtri": ((1.0, 4.0), None),
    "bdtrik": ((0.5, 4.0), None), "bdtrin": ((1.0, 0.5), None),
    "nbdtr": ((1.0, 4.0), None), "nbdtrc": ((1.0, 4.0), None), "nbdtri": ((1.0, 4.0), None),
    "nbdtrik": ((0.5, 4.0), None), "nbdtrin": ((1.0, 0.5), None),
    "pdtrik": ((0.5,), None), "pdtri": ((2,), None),
    "btdtria": ((0.5, 1.5), None), "btdtrib": ((1.5, 0.5), None),
    "betainccinv": ((1.5, 1.5), None), "betaincinv": ((1.5, 1.5), None),
    "chdtri": ((2.0,), None), "chdtriv": ((0.5,), (1.0, 2.0)),
    "chndtridf": ((3.0, 0.5), (0.5, 1.0)), "chndtrinc": ((3.0, 2.0), None), "chndtrix": ((0.5, 2.0), None),
    "fdtri": ((3.0, 4.0), None), "fdtridfd": ((3.0, 0.5), (1.0, 1.5)),
    "gammainccinv": ((1.5,), None), "gammaincinv": ((1.5,), None),
    "gdtria": ((0.5, 2.0), (1.0, 2.0)), "gdtrib": ((1.0, 0.5), (1.0, 2.0)),
    "gdtrix": ((1.0, 2.0), None),
    "ncfdtri": ((3.0, 4.0, 1.0), None), "ncfdtridfd": ((3.0, 0.5, 1.0), (1.0, 2.0)),
    "ncfdtridfn": ((0.5, 4.0, 1.0), (1.0, 2.0)), "ncfdtrinc": ((3.0, 4.0, 0.5), (1.0, 2.0)),
    "nctdtridf": ((0.6, 0.5), (1.0, 2.0)), "nctdtrinc": ((3.0, 0.6), (1.0, 2.0)),
    "nctdtrit": ((3.0, 0.5), None), "nrdtrimn": ((0.5, 1.0), None), "nrdtrisd": ((0.5, 0.2), None), "ndtri_exp": ((), (-2.0, -0.5)),
    "stdtridf": ((0.6,), (1.0, 2.0)), "stdtrit": ((3.0,), None),
    "smirnov": ((3,), None), "smirnovi": ((3,), None),
    "elliprj": ((1.5, 1.5, 1.5), None),
    "mathieu_a": ((1.0,), None), "mathieu_b": ((1.0,), None),
    "mathieu_cem": ((1.0, 1.0), (20.0, 60.0)), "mathieu_sem": ((1.0, 1.0), (20.0, 60.0)),
    "mathieu_modcem1": ((1.0, 1.0), None), "mathieu_modcem2": ((1.0, 1.0), None),
    "mathieu_modsem1": ((1.0, 1.0), None), "mathieu_modsem2": ((1.0, 1.0), None),
    "obl_ang1": ((1.0, 2.0, 1.5), None), "obl_rad1": ((1.0, 2.0, 1.5), (1.2, 1.8)),
    "obl_rad2": ((1.0, 2.0, 1.5), (1.2, 1.8)), "pro_ang1": ((1.0, 2.0, 1.5), None),
    "pro_rad1": ((1.0, 2.0, 1.5), (1.2, 1.8)), "pro_rad2": ((1.0, 2.0, 1.5), (1.2, 1.8)),
    "obl_cv": ((1.0, 2.0), None), "pro_cv": ((1.0, 2.0), None),
    "lpmv": ((1.0, 2.0), None), "eval_jacobi": ((2, 1.5, 1.5), None),
    "eval_sh_jacobi": ((2, 2.5, 1.5), None),
    "hyperu": ((1.5, 1.5), (1.0, 2.0)), "wright_bessel": ((0.5, 1.5), None),
    "log_wright_bessel": ((0.5, 1.5), None),
    "tklmbda": ((0.5,), None), "struve": ((1.0,), None), "modstruve": ((1.0,), None),
}
# The *_cv ufuncs take the characteristic value from the matching *_cv function.
for _kind in ("obl", "pro"):
    for _what, _domain in (("ang1", None), ("rad1", (1.2, 1.8)), ("rad2", (1.2, 1.8))):
        import scipy.special as _special
        _cv = float(getattr(_special, f"{_kind}_cv")(1.0, 2.0, 1.5))
        ARGUMENTS[f"{_kind}_{_what}_cv"] = ((1.0, 2.0, 1.5), _domain, _cv)

# Complex-valued (dualjac's jets are real) and sign-valued ufuncs.
SPECIAL_NOT_DIFFERENTIABLE = {
    "complex": [f"scipy.special.{name}" for name in
                "hankel1 hankel1e hankel2 hankel2e kelvin modfresnelm modfresnelp wofz".split()],
    "signs": ["scipy.special.gammasgn"],
}


def _real_loop(ufunc):
    """The input letters of the ufunc's all-real loop (all-double preferred)."""
    loops = [t.split("->") for t in ufunc.types]
    real = [ins for ins, outs in loops if set(ins) <= set("dl") and set(outs) <= {"d"}]
    doubles = [ins for ins in real if set(ins) == {"d"}]
    return (doubles or real)[0]


def _special_sample(name, ufunc):
    letters = _real_loop(ufunc)
    leading, domain, *extra = ARGUMENTS.get(name, (None, None))
    if leading is None:
        leading = tuple(2 if letter == "l" else 1.5 for letter in letters[:-1])
    low, high = domain or (0.2, 0.8)
    if extra:  # the *_cv functions: the characteristic value comes before x
        return S(lambda x: ufunc(*leading, extra[0], x), 3, low, high)
    return S(lambda x: ufunc(*leading, x), 3, low, high)


def special_samples():
    import scipy.special as special
    excluded = {name.rsplit(".", 1)[1] for names in SPECIAL_NOT_DIFFERENTIABLE.values()
                for name in names}
    return {f"scipy.special.{name}": _special_sample(name, getattr(special, name))
            for name in sorted(dir(special))
            if isinstance(getattr(special, name), np.ufunc) and name not in excluded}


# ---------------------------------------------------------------- SciPy functions

def _scipy(module):
    import importlib
    return importlib.import_module(f"scipy.{module}")


def _drop_in(module):
    import importlib
    return importlib.import_module(f"dualjac.scipy.{module}")


_SPD = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
_BANDED = np.array([[0.0, 1.0, 1.0], [4.0, 4.0, 4.0], [1.0, 1.0, 0.0]])


def scipy_samples(_scipy):
    """The samples, calling the functions of the modules _scipy(name) returns (SciPy's own,
    or dualjac.scipy's drop-ins of the same names)."""
    return {
        "scipy.optimize.rosen": S(lambda x: _scipy("optimize").rosen(x), 4),
        "scipy.special.logsumexp": S(lambda x: _scipy("special").logsumexp(x)),
        "scipy.special.softmax": S(lambda x: _scipy("special").softmax(x)),
        "scipy.stats.norm.pdf": S(lambda x: _scipy("stats").norm.pdf(x)),
        "scipy.stats.norm.logpdf": S(lambda x: _scipy("stats").norm.logpdf(x)),
        "scipy.stats.norm.cdf": S(lambda x: _scipy("stats").norm.cdf(x)),
        "scipy.signal.convolve": S(lambda x: _scipy("signal").convolve(x[:3], x[3:]), 6),
        "scipy.linalg.expm": M(lambda x: _scipy("linalg").expm(0.2 * matrix(x))),
        "scipy.linalg.solve_triangular": S(
            lambda x: _scipy("linalg").solve_triangular(upper(x[:9]), x[9:]), 12, -0.3, 0.3,
            (2.0, 0, 0, 0, 3.0, 0, 0, 0, 4.0, 1.0, 1.0, 1.0)),
        "scipy.linalg.lu": M(lambda x: _scipy("linalg").lu(matrix(x))),
        "scipy.linalg.lu_factor": M(lambda x: _scipy("linalg").lu_factor(matrix(x))),
        "scipy.linalg.lu_solve": S(lambda x: _scipy("linalg").lu_solve(
            _scipy("linalg").lu_factor(_SPD), x)),
        "scipy.linalg.cho_solve": S(lambda x: _scipy("linalg").cho_solve(
            _scipy("linalg").cho_factor(_SPD), x)),
        "scipy.linalg.sqrtm": M(lambda x: _scipy("linalg").sqrtm(matrix(x))),
        "scipy.linalg.solve_banded": S(lambda x: _scipy("linalg").solve_banded((1, 1), _BANDED, x)),
        "scipy.integrate.trapezoid": S(lambda x: _scipy("integrate").trapezoid(x), 4),
        "scipy.special.polygamma": S(lambda x: _scipy("special").polygamma(2, x + 1.0)),
        "scipy.special.multigammaln": S(lambda x: _scipy("special").multigammaln(x + 2.0, 3)),
    }


SCIPY_SAMPLES = scipy_samples(_scipy)
# The same samples through dualjac.scipy's drop-ins (SciPy's functions on plain input).
DROP_IN_SAMPLES = {"dualjac." + name: sample for name, sample in scipy_samples(_drop_in).items()}
