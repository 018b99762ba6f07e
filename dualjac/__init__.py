"""dualjac: fast forward-mode automatic differentiation of NumPy code.

One evaluation of your NumPy function on dual arrays (values plus derivatives
along every seed direction, computed by C kernels) gives the whole Jacobian;
hyper-dual arrays give Hessians. Shapes and unconnected-gradient semantics
follow TensorFlow's GradientTape.jacobian / batch_jacobian.

    import numpy as np, dualjac as dj
    J = dj.jacobian(lambda x: x * x * x, np.array([[4., 2.], [1., 3.]]))
"""

from . import _numpy
from ._core import DualArray, HyperDualArray
from .api import (
    UnconnectedGradients,
    batch_jacobian,
    gradient,
    jacobian,
    jvp,
    stop_gradient,
    value_and_jacobian,
)

_numpy.install()

__version__ = "0.1.0"

__all__ = [
    "DualArray", "HyperDualArray", "UnconnectedGradients", "batch_jacobian",
    "gradient", "jacobian", "jvp", "stop_gradient", "value_and_jacobian",
]
