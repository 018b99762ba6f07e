"""Choosing dense or banded seeding in tests (src_c/_banded.pxi)."""
import contextlib

import dualjac as dj


@contextlib.contextmanager
def banded_from(n):
    """dj.jacobian / dj.hessian seed sources of >= n elements banded (0: never)."""
    jacobian, hessian = dj.get_banded_threshold()
    dj.set_banded_threshold(n, n)
    try:
        yield
    finally:
        dj.set_banded_threshold(jacobian, hessian)
