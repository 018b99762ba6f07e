import os
import sys

# tests import their shared helpers (tf_reference.py) as top-level modules.
sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402

from banding import banded_from  # noqa: E402

# Modules whose every test also runs with banded seeding for sources of any size
# (dj.jacobian / dj.hessian hand f a BandedJet): the same witnesses must hold.
BANDED_TOO = {"test_numpy_functions", "test_linalg_and_more", "test_jacobian_semantics",
              "test_second_order", "test_tf_reference", "test_fuzz", "test_scipy_special",
              "test_tape", "test_rules_table"}


def pytest_generate_tests(metafunc):
    if metafunc.module.__name__ in BANDED_TOO and "seeding" in metafunc.fixturenames:
        metafunc.parametrize("seeding", ["default", "banded"], indirect=True)


@pytest.fixture(autouse=True)
def seeding(request):
    """'banded': every dj.jacobian / dj.hessian source seeded banded; 'default':
    the library's threshold."""
    if getattr(request, "param", "default") == "banded":
        with banded_from(1):
            yield
    else:
        yield
