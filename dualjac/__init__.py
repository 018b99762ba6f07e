"""dualjac: fast forward-mode automatic differentiation of NumPy code.

One evaluation of your NumPy function on dual arrays (values plus derivatives
along every seed direction, computed by C kernels) gives the whole Jacobian;
hyper-dual arrays give Hessians. Shapes and unconnected-gradient semantics
follow TensorFlow's GradientTape.jacobian / batch_jacobian.

    import numpy as np, dualjac as dj
    J = dj.jacobian(lambda x: x * x * x, np.array([[4., 2.], [1., 3.]]))
"""

import importlib.util as _importlib_util
import os as _os
from typing import TYPE_CHECKING, Any

if _importlib_util.find_spec(f"{__name__}._core") is None:
    # A source checkout that was never built: its Python files only work with the
    # extension compiled from the same sources, so say how to build it.
    raise ImportError(
        f"dualjac's compiled extension (dualjac._core) is missing from "
        f"{_os.path.dirname(__file__)}: this source checkout has not been built for this "
        "Python. Build it in place with `pip install -e .` or "
        "`python setup.py build_ext --inplace`, or run from outside the checkout to use an "
        "installed copy (`pip install .`).")

from . import dispatch  # noqa: E402
from ._core import (BandedJet, DeferredJet, DeferredMask, DeferredTranspose,  # noqa: E402
                    DualArray, HyperDualArray)
from ._policy import get_banded_threshold, set_banded_threshold, set_deferred_threshold  # noqa: E402
from .tape import GradientTape  # noqa: E402
from .custom import custom_jvp, custom_root, register_jvp  # noqa: E402
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
# Jets' __array_namespace__ and the guards' naming of SciPy / np.vectorize (the core
# imports no Python module of dualjac, so it is handed them).
from . import _conversion_context, _core, array_api  # noqa: E402
_core.set_array_api_hooks(array_api.namespace_for, _conversion_context.conversion_message)
set_num_threads(_api_default_threads())

# Sparse Jacobians and Hessians return scipy.sparse arrays: their module (and SciPy) is
# imported on first use, so that `import dualjac` does not need SciPy. Type checkers
# see the names as ordinary imports.
if TYPE_CHECKING:
    from .sparse import (PatternTooDense, SparseHessian, SparseJacobian, hessian_sparsity,
                         jacobian_sparsity, sparse_hessian, sparse_jacobian)

_SPARSE_NAMES = ("PatternTooDense", "SparseHessian", "SparseJacobian", "hessian_sparsity", "jacobian_sparsity",
                 "sparse_hessian", "sparse_jacobian")


def __getattr__(name: str) -> Any:
    if name in _SPARSE_NAMES:
        from . import sparse
        return getattr(sparse, name)
    if name == "scipy":     # the SciPy drop-ins import SciPy: only when asked for
        import importlib
        return importlib.import_module(f"{__name__}.scipy")
    raise AttributeError(f"module 'dualjac' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "BandedJet", "DeferredJet", "DeferredMask", "DeferredTranspose", "DualArray", "GradientTape",
    "HyperDualArray",
    "UnconnectedGradients",
    "batch_hessian", "batch_jacobian", "get_banded_threshold", "get_num_threads", "gradient",
    "hessian", "hvp", "jacobian", "jvp",
    "release_memory", "set_banded_threshold", "set_deferred_threshold", "set_num_threads", "stop_gradient",
    "value_and_jacobian", "value_gradient_hessian",
    "Objective", "least_squares_jacobian", "ode_jacobian",
    "custom_jvp", "custom_root", "register_jvp",
    # _SPARSE_NAMES, spelled out: type checkers read __all__ as a literal list
    "PatternTooDense", "SparseHessian", "SparseJacobian", "hessian_sparsity", "jacobian_sparsity",
    "sparse_hessian", "sparse_jacobian",
]
