"""SciPy functions on dual arrays through the array API, each checked against finite
differences: run as a script in a process whose environment has SCIPY_ARRAY_API=1 (SciPy
reads it once, at import). Prints one JSON object: {name: "ok" | "<error type>: message"
| "wrong: ..."}, for SUPPORTED and UNSUPPORTED functions and the jet kinds (KINDS); tests/test_scipy_array_api.py runs it and asserts on the report.

First order: dj.jacobian against central differences of the plain function. Second order:
dj.hessian of a weighted sum of the outputs against the four-point central difference of
that sum (both witnesses evaluate SciPy on plain ndarrays).
"""

import json
import os
import sys

import numpy as np

import dualjac as dj  # noqa: E402
from scipy import fft, integrate, linalg, ndimage, optimize, signal, special, stats  # noqa: E402

RTOL, ATOL = 1e-6, 1e-7
H1, H2 = 1e-6, 1e-4


def jacobian_witness(f, x):
    columns = []
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = H1
        step = step.reshape(x.shape)
        columns.append((np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * H1))
    return np.moveaxis(np.array(columns), 0, -1).reshape(np.shape(f(x)) + x.shape)


def hessian_witness(g, x):
    n = x.size
    unit = np.eye(n).reshape((n,) + x.shape) * H2
    H = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            H[i, j] = (g(x + unit[i] + unit[j]) - g(x + unit[i] - unit[j])
                       - g(x - unit[i] + unit[j]) + g(x - unit[i] - unit[j])) / (4 * H2 * H2)
    return H.reshape(x.shape + x.shape)


def weighted_sum(f, weights):
    """A scalar function of f's outputs, for its Hessian."""
    def g(x):
        y = f(x)
        w = weights(np.shape(y))
        return (y * w).sum()
    return g


def weights_of(shape):
    return np.linspace(0.5, 1.5, int(np.prod(shape))).reshape(shape)


def check(f, x):
    """'ok', or what went wrong (first or second order)."""
    J = dj.jacobian(f, x)
    if not np.allclose(J, jacobian_witness(f, x), rtol=RTOL, atol=ATOL):
        return "wrong: first order"
    g = weighted_sum(f, weights_of)
    H = dj.hessian(g, x)
    if not np.allclose(H, hessian_witness(g, x), rtol=1e-5, atol=1e-5):
        return "wrong: second order"
    return "ok"


x3 = np.array([0.3, -1.2, 2.0])
x5 = np.array([0.4, -0.7, 1.1, 0.2, -1.5])
pos = np.array([0.4, 1.3, 2.2, 0.9])
unit = np.array([0.2, 0.45, 0.7, 0.85])
M = np.array([[1.1, 0.3, -0.2], [0.1, 0.9, 0.4], [-0.3, 0.2, 1.3]])
spd = M @ M.T + np.eye(3)
rhs = np.array([0.5, -1.0, 2.0])


def square(x):
    return x.reshape(3, 3)


NORMAL = dict(mu=0.5, sigma=1.3, validation_policy="skip_all")

# Functions that run on jets through SciPy's array API code (correct to first and second order).
SUPPORTED = {
    "optimize.rosen": (lambda x: optimize.rosen(x), x5),
    "optimize.rosen_der": (lambda x: optimize.rosen_der(x), x5),
    "special.logsumexp": (lambda x: special.logsumexp(x), x5),
    "special.logsumexp(b=)": (lambda x: special.logsumexp(x, b=x * x), x5),
    "special.softmax": (lambda x: special.softmax(x), x3),
    "special.softmax(axis=1), batched": (lambda x: special.softmax(x.reshape(2, 2), axis=1),
                                         pos),
    "special.log_softmax": (lambda x: special.log_softmax(x), x3),
    "special.expit": (lambda x: special.expit(x), x3),
    "special.logit": (lambda x: special.logit(x), unit),
    "special.erf": (lambda x: special.erf(x), x3),
    "special.ndtr": (lambda x: special.ndtr(x), x3),
    "special.log_ndtr": (lambda x: special.log_ndtr(x), x3),
    "special.gammaln": (lambda x: special.gammaln(x), pos),
    "special.xlogy": (lambda x: special.xlogy(x, x), pos),
    "stats.Normal(validation_policy='skip_all').pdf": (lambda x: stats.Normal(**NORMAL).pdf(x), x3),
    "stats.Normal(validation_policy='skip_all').logpdf":
        (lambda x: stats.Normal(**NORMAL).logpdf(x), x3),
    "stats.Normal(validation_policy='skip_all').cdf": (lambda x: stats.Normal(**NORMAL).cdf(x), x3),
    "stats.zscore": (lambda x: stats.zscore(x), x5),
    "stats.moment": (lambda x: stats.moment(x, 3), x5),
    "stats.skew": (lambda x: stats.skew(x), x5),
    "stats.kurtosis": (lambda x: stats.kurtosis(x), x5),
    "stats.gmean": (lambda x: stats.gmean(x), pos),
    "stats.hmean": (lambda x: stats.hmean(x), pos),
    "stats.pmean": (lambda x: stats.pmean(x, 2.0), pos),
    "stats.sem": (lambda x: stats.sem(x), x5),
    "stats.tvar": (lambda x: stats.tvar(x), x5),
    "stats.describe": (lambda x: stats.describe(x).variance, x5),
    "stats.trim_mean": (lambda x: stats.trim_mean(x, 0.1), x5),
    "stats.circmean": (lambda x: stats.circmean(x), x5),
    "integrate.trapezoid": (lambda x: integrate.trapezoid(x * x), x5),
    "integrate.cumulative_trapezoid": (lambda x: integrate.cumulative_trapezoid(x * x), x5),
}

# Functions that convert jets to NumPy arrays (SciPy has no array API code for them, or
# only for CuPy / JAX / PyTorch), or mix them with NumPy arrays: a TypeError, never a
# silently wrong derivative.
UNSUPPORTED = {
    "stats.norm.pdf": (lambda x: stats.norm.pdf(x), x3),
    "stats.norm.logpdf": (lambda x: stats.norm.logpdf(x), x3),
    "stats.norm.cdf": (lambda x: stats.norm.cdf(x), x3),
    "stats.t.pdf": (lambda x: stats.t.pdf(x, 3.0), x3),
    "stats.gamma.pdf": (lambda x: stats.gamma.pdf(x, 2.0), pos),
    "stats.beta.pdf": (lambda x: stats.beta.pdf(x, 2.0, 3.0), unit),
    "stats.Normal.pdf": (lambda x: stats.Normal(mu=0.5, sigma=1.3).pdf(x), x3),
    "stats.variation": (lambda x: stats.variation(x), pos),
    "stats.tmean": (lambda x: stats.tmean(x), x5),
    "stats.entropy": (lambda x: stats.entropy(x), pos),
    "stats.pearsonr": (lambda x: stats.pearsonr(x, x[::-1] ** 2).statistic, x5),
    "special.entr": (lambda x: special.entr(x), pos),
    "special.rel_entr": (lambda x: special.rel_entr(x, x[::-1]), pos),
    "signal.convolve": (lambda x: signal.convolve(x, x[::-1]), x3),
    "signal.convolve(method='direct')":
        (lambda x: signal.convolve(x, x[::-1], method="direct"), x3),
    "signal.fftconvolve": (lambda x: signal.fftconvolve(x, x[::-1]), x3),
    "linalg.expm": (lambda x: linalg.expm(square(x) * 0.3), M.ravel()),
    "linalg.solve_triangular": (lambda x: linalg.solve_triangular(square(x), x[:3]),
                                np.triu(M).ravel() + 2 * np.eye(3).ravel()),
    "linalg.solve_triangular(jet, ndarray)":
        (lambda x: linalg.solve_triangular(square(x), rhs), np.triu(M).ravel()),
    "linalg.lu": (lambda x: linalg.lu(square(x))[2], M.ravel()),
    "linalg.lu_factor": (lambda x: linalg.lu_factor(square(x))[0], M.ravel()),
    "linalg.cho_factor": (lambda x: linalg.cho_factor(square(x))[0], spd.ravel()),
    "linalg.sqrtm": (lambda x: linalg.sqrtm(square(x)), spd.ravel()),
    "linalg.solve_banded": (lambda x: linalg.solve_banded((1, 1), x.reshape(3, 3), x[3:6]),
                            np.array([0, 0.5, 0.4, 3.0, 2.5, 2.8, 0.3, 0.6, 0])),
    "linalg.inv": (lambda x: linalg.inv(square(x)), M.ravel()),
    "linalg.det": (lambda x: linalg.det(square(x)), M.ravel()),
    "linalg.norm": (lambda x: linalg.norm(x), x5),
    "integrate.simpson": (lambda x: integrate.simpson(x * x), x5),
    "integrate.cumulative_simpson": (lambda x: integrate.cumulative_simpson(x * x), x5),
    "ndimage.gaussian_filter": (lambda x: ndimage.gaussian_filter(x, 1.0), x5),
    "ndimage.uniform_filter": (lambda x: ndimage.uniform_filter(x, 3), x5),
    "fft.fft": (lambda x: fft.fft(x).real, x5),
    "fft.rfft": (lambda x: fft.rfft(x).real, x5),
    "fft.dct": (lambda x: fft.dct(x), x5),
}
CASES = {**SUPPORTED, **UNSUPPORTED}


def banded_rosen_hessian():
    """dj.hessian of 16 variables runs on banded jets."""
    x = np.linspace(-1.0, 1.5, 16)
    H = dj.hessian(optimize.rosen, x)
    return "ok" if np.allclose(H, optimize.rosen_hess(x), rtol=1e-12, atol=1e-9) else "wrong"


def deferred_softmax_rows():
    """dj.batch_jacobian of 400 rows of 3 runs on deferred jets; witness: the analytic
    Jacobian of softmax, diag(s) - s s^T per row."""
    x = np.random.default_rng(0).normal(size=(400, 3))
    J = dj.batch_jacobian(lambda x: special.softmax(x, axis=1), x)
    s = special.softmax(x, axis=1)
    expected = np.einsum("bi,ij->bij", s, np.eye(3)) - np.einsum("bi,bj->bij", s, s)
    return "ok" if np.allclose(J, expected, rtol=1e-12, atol=1e-14) else "wrong"


def traced_rosen_pattern():
    """The sparsity tracer's arrays run SciPy's code too: rosen's Hessian is tridiagonal."""
    pattern = dj.hessian_sparsity(optimize.rosen, np.ones(6)).toarray() != 0
    expected = np.abs(np.subtract.outer(np.arange(6), np.arange(6))) <= 1
    return "ok" if np.array_equal(pattern, expected) else "wrong"


KINDS = {"banded: optimize.rosen hessian": banded_rosen_hessian,
         "deferred: special.softmax batch_jacobian": deferred_softmax_rows,
         "pattern: optimize.rosen hessian_sparsity": traced_rosen_pattern}


def run(name):
    try:
        if name in KINDS:
            return KINDS[name]()
        return check(*CASES[name])
    except Exception as error:   # the report says which exception, for the table
        return f"{type(error).__name__}: {str(error)[:240]}"


if __name__ == "__main__":
    assert os.environ.get("SCIPY_ARRAY_API") == "1", "run with SCIPY_ARRAY_API=1"
    names = sys.argv[1:] or [*CASES, *KINDS]
    print(json.dumps({name: run(name) for name in names}, indent=1))
