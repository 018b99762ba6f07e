"""Which jets a transform trusts: a jet's tag says along which transform's seeds
its derivatives are, and only the transforms running now (and tapes that exist)
may read them. Jets kept after their transform returned, jets unpickled from
another process and jets built with dj.DualArray(value, tangent) inside a
transform are refused with a message saying what to do, never read as constants
or as our own derivatives. Witnesses: analytic derivatives and complex step.

Sizes: jacobian sources of 3 (dense) and 80 (banded, >= 64) elements; hessian
sources of 3 and 15 (banded, >= 12); batch sources of 8 x 3 (eager) and 400 x 3
(deferred, >= 1024 elements).
"""

import copy
import multiprocessing
import os
import pickle
import subprocess
import sys
import threading

import numpy as np
import pytest

import dualjac as dj
from dualjac import _core
from witness import complex_step_jacobian

JACOBIAN_SIZES = [3, 80]
HESSIAN_SIZES = [3, 15]
BATCH_SHAPES = [(8, 3), (400, 3)]


def point(n):
    return np.linspace(0.5, 1.5, n)


def kept_from(transform, x):
    """The source as f saw it inside transform(f, x), kept after it returned."""
    kept = []

    def f(z):
        kept.append(z)
        return z * 1.0 if transform is not dj.hessian else np.sum(z)

    transform(f, x)
    return kept[0]


def raises_stale(call, maker):
    with pytest.raises(TypeError, match=f"a jet from a {maker} call that has returned") as info:
        call()
    assert "x.value" in str(info.value)


# ------------------------------------------------------------------ stale jets

@pytest.mark.parametrize("n", JACOBIAN_SIZES)
def test_jacobian_jet_kept_after_return_is_refused(n):
    x = point(n)
    kept = kept_from(dj.jacobian, x)
    raises_stale(lambda: dj.jacobian(lambda z: z * kept, x), "dj.jacobian")
    raises_stale(lambda: dj.jacobian(lambda z: kept * 2.0, x), "dj.jacobian")  # returned from f
    raises_stale(lambda: dj.jacobian(lambda z: z * z, kept), "dj.jacobian")    # as a source
    raises_stale(lambda: dj.value_and_jacobian(lambda z: z[0] + kept, [x]), "dj.jacobian")
    raises_stale(lambda: dj.jvp(lambda z: z * kept, x, np.ones(n)), "dj.jacobian")


@pytest.mark.parametrize("n", HESSIAN_SIZES)
def test_hessian_jet_kept_after_return_is_refused_not_blamed_on_nesting(n):
    x = point(n)
    kept = kept_from(dj.hessian, x)
    with pytest.raises(TypeError, match="a jet from a dj.hessian call that has returned"):
        dj.hessian(lambda z: np.sum(z * kept), x)
    raises_stale(lambda: dj.hessian(lambda z: np.sum(kept * kept), x), "dj.hessian")
    raises_stale(lambda: dj.jacobian(lambda z: z * kept, x), "dj.hessian")


@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_batch_jets_kept_after_return_are_refused(shape):
    x = np.linspace(0.5, 1.5, int(np.prod(shape))).reshape(shape)
    kept = kept_from(dj.batch_jacobian, x)
    raises_stale(lambda: dj.batch_jacobian(lambda z: z * kept, x), "dj.batch_jacobian")
    kept_h = []
    dj.batch_hessian(lambda z: kept_h.append(z) or np.sum(z * z, axis=1), x)
    raises_stale(lambda: dj.batch_hessian(lambda z: np.sum(z * kept_h[0], axis=1), x),
                 "dj.batch_hessian")


def test_stale_jet_still_computes_alone_outside_transforms():
    """Refusal is where levels meet: on its own a kept jet is an ordinary jet."""
    x = point(3)
    kept = kept_from(dj.jacobian, x)
    y = np.sin(kept) * 2.0
    np.testing.assert_allclose(y.value, 2 * np.sin(x))
    np.testing.assert_allclose(y.tangent, np.diag(2 * np.cos(x)))


def test_two_stale_jets_of_different_transforms_are_refused_together():
    x = point(3)
    a, b = kept_from(dj.jacobian, x), kept_from(dj.jacobian, x)
    with pytest.raises(TypeError, match="has returned"):
        a * b


def test_jet_of_an_earlier_chunk_is_refused_in_the_next():
    """Seed chunks are separate sweeps: a jet kept from one is stale in the next."""
    x = point(4)
    kept = []

    def f(z):
        kept.append(z)
        return z * kept[0]

    with pytest.raises(TypeError, match="has returned"):
        dj.jacobian(f, x, parallel_iterations=2)


def test_tape_jets_live_while_the_tape_exists():
    x = point(3)
    tape = dj.GradientTape(persistent=True)
    with tape:
        xs = tape.watch(x)
        y = np.sin(xs)
    # The tape's level meets dj.jacobian's: a hyper-dual while the tape exists.
    inner = dj.jacobian(lambda z: z * y, x)
    # d/dx_k of diag(sin x)_ij: delta_ij delta_ik cos(x_i)
    np.testing.assert_allclose(tape.jacobian(inner, x),
                               np.einsum("ij,ik->ijk", np.eye(3), np.diag(np.cos(x))))
    del tape, xs
    with pytest.raises(TypeError, match="dj.GradientTape that no longer exists"):
        dj.jacobian(lambda z: z * y, x)


def test_nested_transforms_still_nest():
    """Perturbation confusion stays impossible, and jacobian of jacobian is the Hessian."""
    x = np.array(1.7)
    d = dj.jacobian(lambda a: a * dj.jacobian(lambda b: a + b, np.array(2.0)), x)
    assert float(d) == 1.0
    for n in JACOBIAN_SIZES:
        x = point(n)

        def g(z):
            return np.sum(np.sin(z) * z)

        H = dj.jacobian(lambda z: dj.jacobian(g, z), x)
        np.testing.assert_allclose(H, np.diag(2 * np.cos(x) - x * np.sin(x)), atol=1e-12)


def test_transforms_on_other_threads_do_not_make_each_other_stale():
    """Each transform's tags are live while it runs, whichever thread runs it."""
    x = point(3)
    started, release = threading.Event(), threading.Event()
    results = {}

    def slow(z):
        started.set()
        release.wait(10)
        return np.exp(z) * z

    def long_running():
        results["slow"] = dj.jacobian(slow, x)

    thread = threading.Thread(target=long_running)
    thread.start()
    started.wait(10)
    for _ in range(50):
        results["fast"] = dj.hessian(lambda z: np.sum(z ** 3), x)
    release.set()
    thread.join()
    np.testing.assert_allclose(results["slow"], complex_step_jacobian(lambda z: np.exp(z) * z, x))
    np.testing.assert_allclose(results["fast"], np.diag(6 * x))


# ------------------------------------------------------------------ jets from other processes

CHILD = """
import pickle, sys
import numpy as np
import dualjac as dj
for _ in range(3):                      # advance this process's tags
    dj.jacobian(lambda z: z * z, np.ones(3))
kept = {}
dj.jacobian(lambda z: kept.setdefault("dual", z * 10.0), np.array([1.0, 2.0, 3.0]))
dj.hessian(lambda z: np.sum(kept.setdefault("hyper", z * 10.0)), np.array([1.0, 2.0, 3.0]))
kept["standalone"] = dj.DualArray(np.array([1.0, 2.0]), np.array([[1.0], [3.0]]))
with open(sys.argv[1], "wb") as out:
    pickle.dump(kept, out)
"""


@pytest.fixture(scope="module")
def foreign_jets(tmp_path_factory):
    path = tmp_path_factory.mktemp("jets") / "jets.pickle"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-c", CHILD, str(path)], check=True, env=env)
    with open(path, "rb") as handle:
        return pickle.load(handle)


@pytest.mark.parametrize("n_before", [0, 5])
def test_jet_from_another_process_is_refused(foreign_jets, n_before):
    for _ in range(n_before):           # whatever tag this process is at
        dj.jacobian(lambda z: z * z, np.ones(3))
    x = np.array([0.5, 1.0, 1.5])
    for name in ("dual", "hyper"):
        w = foreign_jets[name]
        with pytest.raises(TypeError, match="unpickled from another process"):
            dj.jacobian(lambda z: z * w, x)
        with pytest.raises(TypeError, match="unpickled from another process"):
            dj.jacobian(lambda z: w * 1.0, x)
        with pytest.raises(TypeError, match="unpickled from another process"):
            dj.hessian(lambda z: np.sum(z * w), x)
    # What the message suggests: its values, as a constant (witness: diag(w)).
    w = foreign_jets["dual"]
    np.testing.assert_allclose(dj.jacobian(lambda z: z * np.array(w.value), x),
                               np.diag([10.0, 20.0, 30.0]))


def test_foreign_jet_carrying_our_exact_tag_is_refused():
    """Tag serials are per process: a foreign jet may carry the very number of the
    transform now running. It still does not alias our seeds."""
    x = np.array([1.0, 2.0, 3.0])

    def f(z):
        buf = np.ascontiguousarray(np.stack([z.value * 10.0, *np.eye(3)], -1))
        w = _core.unpickle_jet(dj.DualArray, buf, 1, 3, 0, z.tag1, 0, 1, 0, b"another process")
        return z * w

    with pytest.raises(TypeError, match="unpickled from another process"):
        dj.jacobian(f, x)


def test_foreign_jets_of_one_level_still_combine(foreign_jets):
    w = foreign_jets["dual"]
    v = pickle.loads(pickle.dumps(w))   # (same process now: same local tag)
    s = w + v * 2.0
    np.testing.assert_allclose(s.value, [30.0, 60.0, 90.0])
    np.testing.assert_allclose(s.tangent, 30.0 * np.eye(3))


def test_standalone_jet_from_another_process_stays_standalone(foreign_jets):
    s = foreign_jets["standalone"]
    y = np.sin(s)
    np.testing.assert_allclose(y.value, np.sin([1.0, 2.0]))
    np.testing.assert_allclose(y.tangent[:, 0], np.cos([1.0, 2.0]) * [1.0, 3.0])
    # An outer level of a transform (it existed before the transform started).
    J = dj.jacobian(lambda z: z * z, s)
    np.testing.assert_allclose(J.value, np.diag([2.0, 4.0]))
    np.testing.assert_allclose(J.tangent[..., 0], np.diag([2.0, 6.0]))


def _child_jet(queue):
    kept = []
    dj.jacobian(lambda z: kept.append(z * 10.0) or z, np.array([1.0, 2.0, 3.0]))
    queue.put(pickle.dumps(kept[0]))


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_jet_from_a_multiprocessing_child_is_refused(method):
    """spawn starts tags from scratch; fork continues the parent's serials, so
    the child's tags would otherwise be the parent's next ones exactly."""
    if method not in multiprocessing.get_all_start_methods():
        method = "spawn"
    context = multiprocessing.get_context(method)
    queue = context.Queue()
    child = context.Process(target=_child_jet, args=(queue,))
    child.start()
    blob = queue.get(timeout=120)
    child.join(120)
    w = pickle.loads(blob)
    x = np.array([0.5, 1.0, 1.5])
    with pytest.raises(TypeError, match="unpickled from another process"):
        dj.jacobian(lambda z: z * w, x)


# ------------------------------------------------------------------ pickling in this process

@pytest.mark.parametrize("n", JACOBIAN_SIZES)
def test_pickle_round_trip_inside_a_transform_is_a_faithful_copy(n):
    x = point(n)

    def f(z):
        y = pickle.loads(pickle.dumps(np.sin(z)))
        return copy.deepcopy(y) * z

    np.testing.assert_allclose(dj.jacobian(f, x), complex_step_jacobian(lambda z: np.sin(z) * z, x),
                               atol=1e-12)


def test_pickled_inside_unpickled_after_return_is_refused():
    x = point(3)
    blobs = []
    dj.jacobian(lambda z: blobs.append(pickle.dumps(z)) or z, x)
    w = pickle.loads(blobs[0])
    raises_stale(lambda: dj.jacobian(lambda z: z * w, x), "dj.jacobian")


def test_hessian_jet_pickles_with_its_parts():
    x = point(3)
    blobs = []
    dj.hessian(lambda z: blobs.append(pickle.dumps(np.sin(z))) or np.sum(z), x)
    y = pickle.loads(blobs[0])
    assert type(y) is dj.HyperDualArray and y.symmetric
    np.testing.assert_allclose(y.d1, np.diag(np.cos(x)))
    np.testing.assert_allclose(y.d12, np.einsum("i,ij,ik->ijk", -np.sin(x), np.eye(3), np.eye(3)))


# ------------------------------------------------------------------ the DualArray constructor

def by_hand_sine(z):
    return dj.DualArray(np.sin(z.value), np.cos(z.value)[..., None] * z.tangent)


@pytest.mark.parametrize("n", JACOBIAN_SIZES)
def test_constructor_inside_jacobian_is_refused(n):
    x = point(n)
    for f in (by_hand_sine, lambda z: z + by_hand_sine(z), lambda z: np.stack([z, by_hand_sine(z)])):
        with pytest.raises(TypeError, match=r"dj.DualArray\(value, tangent\) inside dj.jacobian") as info:
            dj.jacobian(f, x)
        assert "dj.stop_gradient" in str(info.value) and "dj.jvp" in str(info.value)


@pytest.mark.parametrize("n", HESSIAN_SIZES)
def test_constructor_inside_hessian_is_refused(n):
    x = point(n)

    def f(z):
        c = dj.DualArray(np.array(z.value), np.ones(z.shape + (1,)))
        return np.sum(z * c)

    with pytest.raises(TypeError, match=r"dj.DualArray\(value, tangent\) inside dj.hessian"):
        dj.hessian(f, x)
    def inner(w):        # (w is a hyper-dual here: it has no single tangent)
        return w * dj.DualArray(np.array(w.value), np.ones(w.shape + (1,)))

    with pytest.raises(TypeError, match=r"dj.DualArray\(value, tangent\) inside dj.jacobian"):
        dj.jacobian(lambda z: dj.jacobian(inner, z), x)


@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_constructor_inside_batch_transforms_is_refused(shape):
    x = np.linspace(0.5, 1.5, int(np.prod(shape))).reshape(shape)
    with pytest.raises(TypeError, match=r"dj.DualArray\(value, tangent\) inside dj.batch_jacobian"):
        dj.batch_jacobian(lambda z: z * dj.DualArray(np.array(z.value), np.ones(z.shape + (1,))), x)


def test_constructor_is_forward_mode_outside_transforms():
    x = point(3)
    t = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 1.0]])
    y = np.exp(dj.DualArray(x, t)) * x
    np.testing.assert_allclose(y.value, np.exp(x) * x)
    np.testing.assert_allclose(y.tangent, (np.exp(x) * x)[:, None] * t)


def test_constructor_jet_made_before_a_transform_is_its_outer_level():
    """d/ds of J(x + s t), J = jacobian of z * c(s) with c = DualArray(c0, t)."""
    x, c0, t = point(3), np.array([2.0, 3.0, 4.0]), np.array([1.0, -1.0, 0.5])
    c = dj.DualArray(c0, t[:, None])
    J = dj.jacobian(lambda z: z * c, x)
    np.testing.assert_allclose(J.value, np.diag(c0))
    np.testing.assert_allclose(J.tangent[..., 0], np.diag(t))
    J = dj.jacobian(lambda z: z * z, dj.DualArray(x, t[:, None]))
    np.testing.assert_allclose(J.value, np.diag(2 * x))
    np.testing.assert_allclose(J.tangent[..., 0], np.diag(2 * t))


def test_stop_gradient_is_the_constant_the_message_suggests():
    x = point(3)
    J = dj.jacobian(lambda z: z * dj.stop_gradient(np.sin(z)), x)
    np.testing.assert_allclose(J, np.diag(np.sin(x)))


# ------------------------------------------------------------------ guards of every jet kind

def jet_of_kind(kind):
    """A kept jet of each kind: dense, banded (jacobian of 80), deferred (400 x 3)."""
    kept = []
    if kind == "DualArray":
        return dj.DualArray(point(3), np.eye(3))
    if kind == "BandedJet":
        dj.jacobian(lambda z: kept.append(z) or z, point(80))
    else:
        dj.batch_jacobian(lambda z: kept.append(z * 2.0) or z, point(1200).reshape(400, 3))
    assert type(kept[0]).__name__ == kind
    return kept[0]


KINDS = ["DualArray", "BandedJet", "DeferredJet"]
CONVERSIONS = {
    "round()": round, "float()": float, "int()": int, "complex()": complex,
    "using a dual array as an index": lambda a: [0, 1][a], ".item()": lambda a: a.item(),
    ".tolist()": lambda a: a.tolist(),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("what", list(CONVERSIONS))
def test_conversion_guards_are_the_same_for_every_jet_kind(kind, what):
    jet = jet_of_kind(kind)
    with pytest.raises(TypeError, match="would silently drop the derivatives") as info:
        CONVERSIONS[what](jet)
    assert what in str(info.value)


@pytest.mark.parametrize("kind", KINDS)
def test_every_jet_kind_pickles_as_the_jet_it_stands_for(kind):
    jet = jet_of_kind(kind)
    dense = jet if kind == "DualArray" else (jet.densify() if kind == "BandedJet" else jet.compute())
    copy_ = pickle.loads(pickle.dumps(jet))
    assert type(copy_) is type(dense)
    np.testing.assert_array_equal(copy_.buf, dense.buf)
    assert (copy_.tag1, copy_.tag2, copy_.deps1) == (dense.tag1, dense.tag2, dense.deps1)


def test_sort_in_place_of_banded_and_deferred_jets_is_not_dropped():
    """x.sort() sorts x in place; on a banded / deferred jet the transform runs f
    again on dense jets rather than sorting a copy. Witness: the permutation."""
    x = np.linspace(1.5, 0.5, 80) ** 2         # decreasing: sorting reverses it

    def sorted_copy(z):
        y = z * 1.0
        y.sort()
        return y

    np.testing.assert_array_equal(dj.jacobian(sorted_copy, x), np.eye(80)[::-1])
    rows = np.array([[3.0, 1.0, 2.0]] * 400)

    def sorted_rows(z):
        y = z * 1.0
        y.sort(axis=1)
        return y

    expected = np.eye(3)[[1, 2, 0]]
    np.testing.assert_array_equal(dj.batch_jacobian(sorted_rows, rows), np.broadcast_to(expected, (400, 3, 3)))
    for kind in ("BandedJet", "DeferredJet"):
        with pytest.raises(TypeError, match="outside the transform"):
            jet_of_kind(kind).sort()


def write_through_view(op):
    """out's values after `v = out[:]; v <op>= c`: ndarray semantics update out."""
    def f(z):
        out = z * 1.0
        view = out[:]
        if op == "%":
            view %= 1.0
        else:
            view //= 2.0
        return out * z
    return f


@pytest.mark.parametrize("n", JACOBIAN_SIZES)
def test_floordiv_and_mod_in_place_write_through_views(n):
    x = point(n) + 1.0
    value, J = dj.value_and_jacobian(write_through_view("%"), x)
    np.testing.assert_allclose(value, (x % 1.0) * x)
    np.testing.assert_allclose(J, np.diag(x + x % 1.0))      # d/dx [(x mod 1) x]
    value, J = dj.value_and_jacobian(write_through_view("//"), x)
    np.testing.assert_allclose(value, np.floor(x / 2.0) * x)
    np.testing.assert_allclose(J, np.diag(np.floor(x / 2.0)))


def test_matmul_in_place_writes_through_views():
    M = np.array([[1.0, 2.0], [-0.5, 3.0]])

    def f(z):
        out = z.reshape(2, 2) * 1.0
        view = out[:]
        view @= M
        return out.ravel()

    x = point(4)
    np.testing.assert_allclose(dj.jacobian(f, x),
                               complex_step_jacobian(lambda z: (z.reshape(2, 2) @ M).ravel(), x))


def test_copy_of_a_jet_copies_its_data_as_ndarray_does():
    a = dj.DualArray(point(3), np.eye(3))
    for b in (copy.copy(a), copy.deepcopy(a)):
        b[0] = 7.0
        assert a.value[0] == 0.5 and b.value[0] == 7.0


def test_a_pickle_whose_buffer_does_not_fit_its_level_is_refused():
    with pytest.raises(ValueError, match="components"):
        _core.unpickle_jet(dj.DualArray, np.zeros((3, 2)), 1, 3, 0, 0, 0, 1, 0, None)
    with pytest.raises(ValueError, match="not a pickled jet"):
        _core.unpickle_jet(dj.DualArray, np.zeros((3, 4)), 2, 3, 0, 0, 0, 1, 0, None)


@pytest.mark.parametrize("second_order", [dj.hessian, dj.batch_hessian, dj.value_gradient_hessian])
def test_stale_source_of_a_second_order_transform_is_called_stale(second_order):
    x = point(6).reshape(2, 3)
    kept = kept_from(dj.jacobian, x)
    with pytest.raises(TypeError, match="a jet from a dj.jacobian call that has returned was used in dj"):
        second_order(lambda z: np.sum(z * z), kept)
