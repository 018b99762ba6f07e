import os
import sys

# tests import their shared helpers (tf_reference.py) as top-level modules.
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import dualjac as dj  # noqa: E402
from banding import banded_from, deferred_from  # noqa: E402
from guard_jets import DTYPES, KINDS, make_jet  # noqa: E402

# The jet kinds a test can run at (a module lists them in the order it wants them run):
# 'default': the library's thresholds; 'banded': every dj.jacobian / dj.hessian
# source seeded banded (f gets a BandedJet); 'deferred': every dj.batch_jacobian /
# dj.batch_hessian source deferred (f gets a DeferredJet, src_c/_deferred.pxi).
JET_KINDS = ("default", "banded", "deferred")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "jet_kinds(*kinds): run each test once per jet kind, with ids such as [banded]; "
        "kinds: 'default' (the library's thresholds), 'banded' (every dj.jacobian / "
        "dj.hessian source banded), 'deferred' (every dj.batch_jacobian / "
        "dj.batch_hessian source deferred). Without the marker a test runs once, "
        "with the default thresholds.")


def jet_kinds_of(metafunc):
    """The jet kinds the marker closest to this test asks for (('default',)
    without a marker), checked against JET_KINDS."""
    marker = metafunc.definition.get_closest_marker("jet_kinds")
    if marker is None:
        return ("default",)
    kinds = marker.args
    unknown = [kind for kind in kinds if kind not in JET_KINDS]
    if not kinds or unknown or len(set(kinds)) != len(kinds):
        problem = f"unknown kinds {unknown!r}" if unknown else "no kind or a kind twice"
        raise pytest.UsageError(
            f"{metafunc.definition.nodeid}: jet_kinds{kinds!r} has {problem}; "
            f"name one or more of {', '.join(map(repr, JET_KINDS))}, each once")
    return kinds


def pytest_generate_tests(metafunc):
    if "seeding" not in metafunc.fixturenames:
        return
    kinds = jet_kinds_of(metafunc)
    # A test run with the default thresholds alone keeps its plain name.
    if kinds != ("default",):
        metafunc.parametrize("seeding", kinds, indirect=True)


@pytest.fixture(autouse=True)
def seeding(request):
    """Sets the thresholds for the jet kind this test runs with (see JET_KINDS)."""
    kind = getattr(request, "param", "default")
    if kind == "banded":
        with banded_from(1):
            yield
    elif kind == "deferred":
        with deferred_from(1):
            yield
    else:
        yield


# ---- jets for the guard tests (tests/test_guards_*.py), which share them

@pytest.fixture(params=[(k, d) for k in KINDS for d in DTYPES],
                ids=[f"{k}-{np.dtype(d).name}" for k in KINDS for d in DTYPES])
def jet(request):
    """A jet of every kind and dtype (tests/guard_jets.py), for the guard tests."""
    kind, dtype = request.param
    return make_jet(kind, dtype)


@pytest.fixture(params=[("dual", np.float64), ("hyper-hessian", np.float32)],
                ids=["dual-float64", "hyper-hessian-float32"])
def jet_pair(request):
    """One DualArray and one HyperDualArray, for checks whose outcome does not depend on
    how the jet was made (keeps one hole from failing eight times)."""
    return make_jet(*request.param)


# ---- the deferred threshold, for the deferred-jet tests (tests/test_deferred*.py)

@pytest.fixture
def threshold_is_restored():
    """Fails a test that leaves the deferred threshold changed (every deferred test
    module uses it)."""
    before = dj.set_deferred_threshold()
    yield
    assert dj.set_deferred_threshold() == before, "a test leaked its deferred threshold"


@pytest.fixture
def threshold():
    """threshold(n): set the deferred threshold for the rest of the test (restored after)."""
    old = dj.set_deferred_threshold()

    def set_to(n):
        return dj.set_deferred_threshold(n)

    yield set_to
    dj.set_deferred_threshold(old)
