"""dualjac: fast forward-mode automatic differentiation of NumPy code.

One evaluation of your NumPy function on dual arrays (values plus derivatives
along every seed direction, computed by C kernels) gives the whole Jacobian;
hyper-dual arrays give Hessians. Shapes and unconnected-gradient semantics
follow TensorFlow's GradientTape.jacobian / batch_jacobian.

    import numpy as np, dualjac as dj
    J = dj.jacobian(lambda x: x * x * x, np.array([[4., 2.], [1., 3.]]))
"""

import glob as _glob
import os as _os
import sys as _sys


def _use_installed_extension():
    """Running from a source checkout (`python -m dualjac` in the repo after
    `pip install .`) imports this directory, which holds no compiled extension:
    borrow the installed copy's, so the README's commands work as written."""
    here = _os.path.realpath(_os.path.dirname(__file__))
    if _glob.glob(_os.path.join(here, "_core.*")):
        return
    for entry in _sys.path:
        candidate = _os.path.realpath(_os.path.join(entry or _os.curdir, "dualjac"))
        if candidate != here and _glob.glob(_os.path.join(candidate, "_core.*")):
            __path__.append(candidate)
            return


_use_installed_extension()

from . import dispatch  # noqa: E402
from ._core import BandedJet, DeferredJet, DualArray, HyperDualArray  # noqa: E402
from ._core import get_banded_threshold, set_banded_threshold, set_deferred_threshold  # noqa: E402
from .tape import GradientTape  # noqa: E402
from .api import default_num_threads as _api_default_threads  # noqa: E402
from .api import (  # noqa: E402
    UnconnectedGradients,
    batch_hessian,
    batch_jacobian,
    get_num_threads,
    gradient,
    hessian,
    hvp,
    jacobian,
    jvp,
    release_memory,
    set_num_threads,
    stop_gradient,
    value_and_jacobian,
    value_gradient_hessian,
)
from .scipy_drop_ins import Objective, least_squares_jacobian, ode_jacobian  # noqa: E402

dispatch.install()
set_num_threads(_api_default_threads())


def _warm_up():
    """Run each common path once on tiny inputs (~0.3 ms at import): NumPy's
    dispatch caches and the interpreter's are then warm, so a user's first call
    costs about what its hundredth does (dualjac compiles nothing; without this
    the first call is ~20x slower, as any cold Python code path is)."""
    import numpy as np

    W = np.ones((2, 2))

    def model(x):
        y = np.stack([x[0] * np.sin(x[1]), np.cos(x[0]) + x[1] ** 2])
        return np.tanh(W @ y) / 2.0 + np.sum(np.exp(x) * x)

    for dtype in (np.float64, np.float32):
        x = np.ones(2, dtype)
        jacobian(model, x)
        jacobian(lambda z: jacobian(model, z), x)
        hessian(lambda z: np.sum(model(z)), x)
        batch_jacobian(lambda z: z * z, x.reshape(1, 2))
    with GradientTape() as tape:
        watched = tape.watch(np.ones(2))
        y = model(watched)
    tape.jacobian(y, watched)


_warm_up()

# Sparse Jacobians and Hessians return scipy.sparse arrays: their module (and SciPy) is
# imported on first use, so that `import dualjac` does not need SciPy.
_SPARSE_NAMES = ("PatternTooDense", "SparseHessian", "SparseJacobian", "hessian_sparsity", "jacobian_sparsity",
                 "sparse_hessian", "sparse_jacobian")


def __getattr__(name):
    if name in _SPARSE_NAMES:
        from . import sparse
        return getattr(sparse, name)
    raise AttributeError(f"module 'dualjac' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "BandedJet", "DeferredJet", "DualArray", "GradientTape", "HyperDualArray", "UnconnectedGradients",
    "batch_hessian", "batch_jacobian", "get_banded_threshold", "get_num_threads", "gradient",
    "hessian", "hvp", "jacobian", "jvp",
    "release_memory", "set_banded_threshold", "set_deferred_threshold", "set_num_threads", "stop_gradient",
    "value_and_jacobian", "value_gradient_hessian",
    "Objective", "least_squares_jacobian", "ode_jacobian",
] + list(_SPARSE_NAMES)
