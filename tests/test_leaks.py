"""Memory and reference-count hygiene of the C types and the transforms.

* 100,000 calls of dj.jacobian and of dj.hessian on a tiny function: neither the
  memory NumPy and Python allocate (tracemalloc) nor the process's resident size
  (/proc/self/statm) grows after a warm-up;
* every other transform (and the tape, nesting, seed chunks, errors raised inside
  f, the in-place level raise of `out[i] = hyper_dual`), 5,000 calls each: no
  traced growth;
* reference counts of the inputs, of f, of the values f captures and of the
  DualArray / HyperDualArray types are back where they were;
* a DualArray (or HyperDualArray) that is dropped releases its buffer at once,
  with no garbage collection needed, and so does every jet a transform creates;
  the number of jets alive (gc.get_objects) returns to its baseline.
"""

import gc
import os
import sys
import tracemalloc
import weakref

import numpy as np
import pytest

import dualjac as dj
from dualjac._core import _Jet

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss():
    """Resident set size in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


X = np.array([0.3, -0.7])
XB = np.array([[0.3, -0.7], [1.1, 0.4], [-0.2, 0.9]])
V = np.array([1.0, -0.5])
C = np.array([1.5, 2.0])


def f(z):
    return np.sin(z) * z + C


def g(z):
    return np.sum(np.sin(z) * z * C)


def taped(z):
    with dj.GradientTape(persistent=True) as tape:
        zs = tape.watch(z)
        y = f(zs)
    return tape.jacobian(y, zs), tape.gradient(y, zs)


def nested_tapes(z):
    with dj.GradientTape() as outer:
        zs = outer.watch(z)
        with dj.GradientTape() as inner:
            zi = inner.watch(zs)
            y = f(zi)
        first = inner.jacobian(y, zi)
    return outer.jacobian(first, zs)


def store_raises_level(z):
    """out = zeros_like(inner dual); out[0] = outer dual * ...: out turns hyper-dual in place."""
    def inner(p):
        def h(w):
            out = np.zeros_like(w)
            out[0] = p * w[0]
            out[1] = w[1] * w[1]
            return out
        return dj.jacobian(h, z)
    return dj.jacobian(inner, np.array(2.0))


def refused_inside_f(z):
    try:
        dj.jacobian(lambda w: np.asarray(w), z)
    except TypeError:
        return None
    raise AssertionError("np.asarray(dual) must raise")


TRANSFORMS = {
    "value_and_jacobian": lambda: dj.value_and_jacobian(f, X),
    "jacobian_of_a_structure": lambda: dj.jacobian(lambda s: s["a"] * s["b"][0],
                                                   {"a": X, "b": [C]}),
    "chunked_jacobian": lambda: dj.jacobian(f, X, parallel_iterations=1),
    "batch_jacobian": lambda: dj.batch_jacobian(f, XB),
    "batch_hessian": lambda: dj.batch_hessian(f, XB),
    "gradient": lambda: dj.gradient(f, X),
    "jvp": lambda: dj.jvp(f, X, V),
    "hvp": lambda: dj.hvp(g, X, V),
    "value_gradient_hessian": lambda: dj.value_gradient_hessian(g, X),
    "nested_jacobians": lambda: dj.jacobian(lambda z: dj.jacobian(f, z), X),
    "tape": lambda: taped(X),
    "nested_tapes": lambda: nested_tapes(X),
    "store_raises_level": lambda: store_raises_level(X),
    "refused_inside_f": lambda: refused_inside_f(X),
}


def measure(call, calls, warmup):
    """(traced bytes growth, RSS growth, top allocation differences) over `calls` calls."""
    for _ in range(warmup):      # caches, free lists, allocator arenas
        call()
    gc.collect()
    tracemalloc.start()
    try:
        first = tracemalloc.take_snapshot()
        traced = tracemalloc.get_traced_memory()[0]
        resident = rss()
        for _ in range(calls):
            call()
        gc.collect()
        resident = rss() - resident
        traced = tracemalloc.get_traced_memory()[0] - traced
        top = tracemalloc.take_snapshot().compare_to(first, "lineno")[:5] if traced > 16384 else []
    finally:
        tracemalloc.stop()
    return traced, resident, top


@pytest.mark.parametrize("name, call", [
    ("jacobian", lambda: dj.jacobian(f, X)),
    ("hessian", lambda: dj.hessian(g, X)),
])
def test_100k_calls_do_not_grow_memory(name, call):
    traced, resident, top = measure(call, 100_000, 2_000)
    print(f"{name}: 100,000 calls, traced growth {traced} B, RSS growth {resident / 1024:.0f} KiB")
    assert traced < 64 * 1024, f"{traced} bytes still allocated after 100,000 calls:\n" + \
        "\n".join(map(str, top))
    assert resident < 4 << 20, f"resident size grew {resident / 2**20:.1f} MB"


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_other_transforms_do_not_grow_memory(name):
    traced, resident, top = measure(TRANSFORMS[name], 5_000, 300)
    assert traced < 32 * 1024, f"{name}: {traced} bytes still allocated after 5,000 calls:\n" + \
        "\n".join(map(str, top))
    assert resident < 4 << 20, f"{name}: resident size grew {resident / 2**20:.1f} MB"


def test_reference_counts_are_restored():
    x, xb, v, c = X.copy(), XB.copy(), V.copy(), C.copy()
    structure = {"a": x, "b": [c]}

    def fc(z):                   # captures c
        return np.sin(z) * z + c

    def gc_(z):
        return np.sum(fc(z) * c)

    watched = [x, xb, v, c, structure, structure["b"], fc, gc_, dj.DualArray, dj.HyperDualArray,
               np.ndarray]
    before = [sys.getrefcount(o) for o in watched]
    for _ in range(500):
        dj.jacobian(fc, x)
        dj.value_and_jacobian(fc, x)
        dj.jacobian(fc, x, parallel_iterations=1)
        dj.jacobian(lambda s: s["a"] * s["b"][0], structure)
        dj.hessian(gc_, x)
        dj.batch_jacobian(fc, xb)
        dj.batch_hessian(fc, xb)
        dj.gradient(fc, x)
        dj.jvp(fc, x, v)
        dj.hvp(gc_, x, v)
        dj.value_gradient_hessian(gc_, x)
        dj.jacobian(lambda z: dj.jacobian(fc, z), x)
        taped(x)
        nested_tapes(x)
        store_raises_level(x)
        refused_inside_f(x)
    after = [sys.getrefcount(o) for o in watched]
    names = ["x", "xb", "v", "captured c", "structure", "structure['b']", "f", "g",
             "DualArray", "HyperDualArray", "np.ndarray"]
    assert after == before, {n: (b, a) for n, b, a in zip(names, before, after) if a != b}


def test_constructor_keeps_no_reference_to_its_arguments():
    value, tangent = np.ones(3), np.eye(3)
    counts = sys.getrefcount(value), sys.getrefcount(tangent)
    duals = [dj.DualArray(value, tangent) for _ in range(1000)]
    del duals
    assert (sys.getrefcount(value), sys.getrefcount(tangent)) == counts


def test_a_dropped_dual_array_releases_its_buffer():
    gc.disable()            # freed by reference counting alone, not by the collector
    try:
        d = dj.DualArray(np.ones(3), np.eye(3))
        buf = d.buf
        assert sys.getrefcount(buf) == 3          # buf, getrefcount's argument, d
        del d
        assert sys.getrefcount(buf) == 2
        ref = weakref.ref(buf)
        del buf
        assert ref() is None

        d = dj.DualArray(np.ones((2, 3)), np.ones((2, 3, 4)))
        results = {"product": d * d, "sin": np.sin(d), "row": d[0], "reshape": d.reshape(3, 2),
                   "stack": np.stack([d, d]), "sum": np.sum(d, axis=0), "matmul": d @ np.ones(3),
                   "inplace": d.copy()}
        results["inplace"] += d
        refs = {name: weakref.ref(r.buf) for name, r in results.items()}
        source = weakref.ref(d.buf)
        del results
        assert [name for name, r in refs.items() if r() is not None] == []
        del d
        assert source() is None

        seen = []

        def cube_sum(z):            # z: a HyperDualArray
            seen.append(weakref.ref(z.buf))
            return np.sum(z ** 3)
        assert dj.hessian(cube_sum, np.ones(3)).shape == (3, 3)
        assert seen[0]() is None
    finally:
        gc.enable()


def test_transforms_release_every_jet_they_create():
    refs = []

    def spy(z):
        refs.append(weakref.ref(z.buf))
        y = f(z)
        refs.append(weakref.ref(y.buf))
        return y

    def spy_scalar(z):
        return np.sum(spy(z))

    gc.disable()
    try:
        for name, call in {
            "jacobian": lambda: dj.jacobian(spy, X),
            "value_and_jacobian": lambda: dj.value_and_jacobian(spy, X),
            "chunks": lambda: dj.jacobian(spy, X, parallel_iterations=1),
            "hessian": lambda: dj.hessian(spy_scalar, X),
            "batch_jacobian": lambda: dj.batch_jacobian(spy, XB),
            "batch_hessian": lambda: dj.batch_hessian(spy, XB),
            "jvp": lambda: dj.jvp(spy, X, V),
            "hvp": lambda: dj.hvp(spy_scalar, X, V),
            "nested": lambda: dj.jacobian(lambda z: dj.jacobian(spy, z), X),
            "tape": lambda: taped_spy(X, spy),
        }.items():
            refs.clear()
            result = call()
            del result
            alive = sum(r() is not None for r in refs)
            assert refs and alive == 0, f"{name}: {alive} of {len(refs)} buffers still alive"
    finally:
        gc.enable()


def taped_spy(z, spy):
    with dj.GradientTape() as tape:
        zs = tape.watch(z)
        y = spy(zs)
    return tape.jacobian(y, zs)


def jets_alive():
    return sum(isinstance(o, _Jet) for o in gc.get_objects())


def test_number_of_live_jets_returns_to_baseline():
    gc.collect()
    baseline = jets_alive()
    keep = [dj.DualArray(np.ones(2), np.eye(2)) for _ in range(10)]
    assert jets_alive() == baseline + 10          # jets are tracked by the collector
    del keep
    assert jets_alive() == baseline
    for _ in range(200):
        for call in TRANSFORMS.values():
            call()
        dj.jacobian(f, X)
        dj.hessian(g, X)
    assert jets_alive() == baseline               # without a collection
    gc.collect()
    assert jets_alive() == baseline and gc.garbage == []


def test_release_memory_empties_the_block_cache():
    """Large sweeps leave reusable blocks cached (at most 128 MB); release_memory frees them."""
    from dualjac import _core
    x = np.random.default_rng(0).uniform(0.5, 1.5, (50_000, 3))
    dj.batch_jacobian(lambda z: np.sin(z) * z[:, :1], x)
    assert 0 < _core.block_cache_bytes() <= 128 * 1024 * 1024
    assert dj.release_memory() > 0
    assert _core.block_cache_bytes() == 0
