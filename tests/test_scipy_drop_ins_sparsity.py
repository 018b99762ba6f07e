"""dualjac.scipy's drop-ins under the sparsity tracer (dj.jacobian_sparsity, dj.sparse_jacobian,
dj.sparse_hessian, dj.Objective.hess): those written with NumPy calls are traced call by call
(their values read from the traced arrays, which marks the trace as depending on x); those
whose rules read jets' buffers (linalg, signal) run SciPy on the values, every output
depending on every traced input. Witnesses: the pattern holds every nonzero of dj.jacobian
(checked against complex step and SciPy elsewhere), and the colored Jacobian / Hessian equal
dj.jacobian's / dj.hessian's."""

import numpy as np
import pytest

import dualjac as dj
from dualjac.scipy import integrate, linalg, optimize, signal, special, stats

X = np.random.default_rng(0).uniform(0.2, 0.9, 4)
DATA = np.array([0.1, -0.4, 1.3, 0.8])
KERNEL = np.array([1.0, -2.0, 1.0])

CASES = {
    "logsumexp": special.logsumexp,
    "logsumexp_b": lambda x: special.logsumexp(x, b=np.array([1.0, 0.0, 2.0, 1.0])),
    "softmax": special.softmax,
    "log_softmax": special.log_softmax,
    "polygamma": lambda x: special.polygamma(1, x + 1),
    "multigammaln": lambda x: special.multigammaln(x + 3, 2),
    "norm_logpdf": lambda x: stats.norm.logpdf(x, loc=0.1, scale=2.0),
    "norm_logpdf_parameters": lambda p: stats.norm.logpdf(DATA, loc=p[0], scale=np.exp(p[1])),
    "norm_cdf": stats.norm.cdf,
    "norm_ppf": stats.norm.ppf,
    "t_logpdf": lambda x: stats.t.logpdf(x, 3.0),
    "gamma_logpdf": lambda x: stats.gamma.logpdf(x, 2.0),
    "beta_logpdf": lambda x: stats.beta.logpdf(x, 2.0, 3.0),
    "lognorm_logpdf": lambda x: stats.lognorm.logpdf(x, 0.5),
    "laplace_cdf": stats.laplace.cdf,
    "expm": lambda x: linalg.expm(x.reshape(2, 2)).ravel(),
    "solve_triangular": lambda x: linalg.solve_triangular(
        np.triu(x.reshape(2, 2)) + 2 * np.eye(2), np.ones(2)),
    "cho_solve": lambda x: linalg.cho_solve(linalg.cho_factor(np.diag(x) + 2 * np.eye(4)),
                                            np.ones(4)),
    "lu_solve": lambda x: linalg.lu_solve(linalg.lu_factor(np.diag(x) + 2 * np.eye(4)),
                                          np.ones(4)),
    "det": lambda x: linalg.det(x.reshape(2, 2)),
    "convolve": lambda x: signal.convolve(x, KERNEL),
    "fftconvolve": lambda x: signal.fftconvolve(x, KERNEL),
    "correlate": lambda x: signal.correlate(x, x),
    "simpson": lambda x: integrate.simpson(x * x),
    "rosen_der": optimize.rosen_der,
}


@pytest.mark.parametrize("name", CASES)
def test_pattern_and_colored_jacobian(name):
    f = CASES[name]
    x = X[:2] if name == "norm_logpdf_parameters" else X
    jac = np.reshape(dj.jacobian(f, x), (-1, x.size))
    pattern = dj.jacobian_sparsity(f, x).toarray()
    assert pattern[jac != 0].all()
    np.testing.assert_allclose(dj.sparse_jacobian(f, x).toarray(), jac, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", ["logsumexp", "norm_logpdf", "det", "cho_solve", "convolve"])
def test_colored_hessian_of_a_sum(name):
    g = lambda z: np.sum(CASES[name](z))   # noqa: E731
    np.testing.assert_allclose(dj.sparse_hessian(g, X).toarray(), dj.hessian(g, X),
                               rtol=1e-13, atol=1e-15)


def test_objective_hessian_of_a_likelihood():
    """A negative log-likelihood through stats.norm.logpdf: Objective.hess (colored, through
    the tracer) is dj.hessian's."""
    nll = lambda p: -np.sum(stats.norm.logpdf(DATA, loc=p[0], scale=np.exp(p[1])))  # noqa: E731
    p = np.array([0.2, 0.1])
    objective = dj.Objective(nll, p)
    hess = objective.hess(p)
    np.testing.assert_allclose(hess.toarray() if hasattr(hess, "toarray") else hess,
                               dj.hessian(nll, p), rtol=1e-13)


def test_logsumexp_analytic_through_the_tracer():
    """The Hessian of logsumexp is diag(s) - s s^T, s = softmax(x): colored through the
    tracer's pattern (dense here), and the gradient is s."""
    s = np.exp(X) / np.sum(np.exp(X))
    np.testing.assert_allclose(dj.sparse_hessian(special.logsumexp, X).toarray(),
                               np.diag(s) - np.outer(s, s), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(dj.sparse_jacobian(special.logsumexp, X).toarray().ravel(), s,
                               rtol=1e-14)
