import os
import sys

# tests import their shared helpers (tf_reference.py) as top-level modules.
sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402

from banding import banded_from, deferred_from  # noqa: E402

# Modules whose every test also runs with banded seeding for sources of any size
# (dj.jacobian / dj.hessian hand f a BandedJet): the same witnesses must hold.
BANDED_TOO = {"test_numpy_functions", "test_linalg_and_more", "test_jacobian_semantics",
              "test_second_order", "test_tf_reference", "test_fuzz", "test_scipy_special",
              "test_tape", "test_rules_table"}

# Modules whose every test also runs with deferred jets for sources of any size
# (dj.batch_jacobian / dj.batch_hessian hand f a DeferredJet, src_c/_deferred.pxi):
# the same witnesses must hold. Only modules that call a batch transform.
DEFERRED_TOO = {"test_batch_jacobian", "test_tf_reference", "test_second_order", "test_fuzz",
                "test_scipy_special", "test_linalg_and_more", "test_vectorized_values",
                "test_kernel_copies", "test_guards", "test_threads", "test_tape"}


def seeding_modes(module_name):
    """The seeding modes a module's tests run in: always 'default', plus
    'banded' and / or 'deferred' for the modules listed above."""
    modes = ["default"]
    if module_name in BANDED_TOO:
        modes.append("banded")
    if module_name in DEFERRED_TOO:
        modes.append("deferred")
    return modes


def pytest_generate_tests(metafunc):
    if "seeding" not in metafunc.fixturenames:
        return
    modes = seeding_modes(metafunc.module.__name__)
    if len(modes) > 1:
        metafunc.parametrize("seeding", modes, indirect=True)


@pytest.fixture(autouse=True)
def seeding(request):
    """'banded': every dj.jacobian / dj.hessian source seeded banded; 'deferred':
    every dj.batch_jacobian / dj.batch_hessian source deferred; 'default': the
    library's thresholds."""
    mode = getattr(request, "param", "default")
    if mode == "banded":
        with banded_from(1):
            yield
    elif mode == "deferred":
        with deferred_from(1):
            yield
    else:
        yield
