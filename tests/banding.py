"""Choosing dense, banded or deferred seeding in tests (src_c/_banded.pxi,
src_c/_deferred.pxi)."""
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


@contextlib.contextmanager
def deferred_from(n):
    """dj.batch_jacobian / dj.batch_hessian hand f a DeferredJet for plain sources
    of >= n elements (0: never); the previous threshold is restored on exit."""
    old = dj.set_deferred_threshold()
    dj.set_deferred_threshold(n)
    try:
        yield
    finally:
        dj.set_deferred_threshold(old)
