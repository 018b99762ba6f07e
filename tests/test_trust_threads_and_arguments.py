"""Trust under threads, and every public argument checked.

- Deferred jets (src_c/_deferred.pxi) shared between threads inside f: pending
  nodes computed from several threads at once, and pending nodes that escape
  into other threads, give the serial result bit for bit, and the eager one
  (dj.set_deferred_threshold(0)), itself checked against complex step.
- A batch transform with workers=k whose f runs another one with workers=k
  finishes (guarded by a timeout, so a deadlock fails instead of hanging).
- Count arguments (parallel_iterations, rows_per_chunk, workers), jvp / hvp
  directions and empty sources: wrong values raise errors that name the
  argument; right ones give the witness's derivatives.
- Shape errors of structural functions on jets are NumPy's own message for the
  user's array, never one about the internal buffer (its component axis), for
  dense, hyper-dual, banded and deferred jets.
"""

import sys
import threading
import warnings

import numpy as np
import pytest

import dualjac as dj
from banding import banded_from, deferred_from
from witness import complex_step_jacobian, witness_hessian

# ---------------------------------------------------------------- deferred jets in threads

ROWS = 20_000          # x (ROWS, 3): 60000 elements, deferred at the default threshold
X = np.random.default_rng(11).uniform(0.5, 1.5, (ROWS, 3))
REPETITIONS = 30


def in_threads(jobs):
    """Each job on its own thread, all released together; their results in order."""
    results, errors = [None] * len(jobs), []
    barrier = threading.Barrier(len(jobs))

    def work(k):
        try:
            barrier.wait()
            results[k] = jobs[k]()
        except BaseException as error:      # re-raised on the caller's thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def serially(jobs):
    return [job() for job in jobs]


def shared_pending_nodes(z, run):
    """Threads that each reduce an expression of the same pending node s and the
    same source views v, w (none computed before the threads start)."""
    v, w = z[:, :2], z[:, 1:]
    s = np.sin(v) * w
    parts = run([lambda: np.sum(s * w + v ** 2, axis=1),
                 lambda: np.sum(np.exp(v) - np.cos(s) * v, axis=1),
                 lambda: np.sum(v * s * 3.0 + np.sqrt(w), axis=1)])
    return parts[0] + 2 * parts[1] - parts[2]


def escaped_pending_nodes(z, run):
    """Pending nodes recorded by f, each computed by another thread (a[...] computes
    a deferred jet; on an ordinary jet it is a view)."""
    v = z[:, :2]
    a = np.sin(v) * v + z[:, 1:]
    b = np.exp(a) * v
    c = b * a - v
    parts = run([lambda: a[...], lambda: b[...], lambda: c[...]])
    return np.sum(parts[0] * parts[1] + parts[2], axis=1)


def row_witness(f, x, rows):
    """Complex-step Jacobians of f's first rows (rows are independent), serially."""
    return np.stack([complex_step_jacobian(lambda r: f(r[None], serially)[0], x[i])
                     for i in range(rows)])


def check_shared_between_threads(transform, f, x):
    with deferred_from(0):
        eager = transform(lambda z: f(z, serially), x)
    with deferred_from(1):
        serial = transform(lambda z: f(z, serially), x)
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)      # threads switch inside the transforms
        try:
            threaded = [transform(lambda z: f(z, in_threads), x) for _ in range(REPETITIONS)]
        finally:
            sys.setswitchinterval(interval)
    np.testing.assert_allclose(serial, eager, rtol=1e-14, atol=1e-14)
    for k, result in enumerate(threaded):
        np.testing.assert_array_equal(result, serial, err_msg=f"repetition {k}")
    return eager


@pytest.mark.parametrize("f", [shared_pending_nodes, escaped_pending_nodes])
def test_batch_jacobian_with_deferred_jets_shared_between_threads(f):
    eager = check_shared_between_threads(dj.batch_jacobian, f, X)
    np.testing.assert_allclose(eager[:4], row_witness(f, X, 4), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("f", [shared_pending_nodes, escaped_pending_nodes])
def test_batch_hessian_with_deferred_jets_shared_between_threads(f):
    x = X[:3000]          # hyper-duals of 10 numbers: 9000 elements, deferred too
    eager = check_shared_between_threads(dj.batch_hessian, f, x)
    for i in range(3):    # central differences of complex-step gradients
        expected = witness_hessian(lambda r: f(r[None], serially)[0], x[i])
        np.testing.assert_allclose(eager[i], expected, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- nested workers

def run_with_timeout(work, seconds=120):
    """work() on a daemon thread: a deadlock fails the test instead of hanging it."""
    outcome = {}

    def target():
        try:
            outcome["result"] = work()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: deadlocked"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


@pytest.mark.parametrize("rows", [40, 4000])       # 4000 x 3: deferred
def test_batch_jacobian_with_workers_nested_in_one_with_workers(rows):
    x = np.random.default_rng(3).uniform(0.5, 1.5, (rows, 3))

    def cube_derivative(z):          # 3 z**2 per element, from an inner batch Jacobian
        inner = dj.batch_jacobian(lambda w: w ** 3, z, workers=2, rows_per_chunk=rows // 8)
        return np.sum(inner, axis=2)

    J = run_with_timeout(lambda: dj.batch_jacobian(cube_derivative, x, workers=2))
    expected = np.zeros((rows, 3, 3))
    expected[:, [0, 1, 2], [0, 1, 2]] = 6 * x
    np.testing.assert_allclose(J, expected, rtol=1e-14)


# ---------------------------------------------------------------- count arguments

BAD_COUNTS = [(0, ValueError), (-1, ValueError), ("2", TypeError), (2.5, TypeError),
              (True, TypeError), (np.float64(2), TypeError)]

BATCH = np.random.default_rng(5).uniform(0.5, 1.5, (10, 3))


def batch_sin(z):
    return np.sin(z) * z[:, :1]


COUNT_ARGUMENTS = {
    "batch_jacobian rows_per_chunk":
        lambda k: dj.batch_jacobian(batch_sin, BATCH, rows_per_chunk=k),
    "batch_jacobian workers": lambda k: dj.batch_jacobian(batch_sin, BATCH, workers=k),
    "batch_jacobian parallel_iterations":
        lambda k: dj.batch_jacobian(batch_sin, BATCH, parallel_iterations=k),
    "batch_hessian rows_per_chunk":
        lambda k: dj.batch_hessian(lambda z: np.sum(batch_sin(z), 1), BATCH, rows_per_chunk=k),
    "batch_hessian workers":
        lambda k: dj.batch_hessian(lambda z: np.sum(batch_sin(z), 1), BATCH, workers=k),
    "jacobian parallel_iterations":
        lambda k: dj.jacobian(np.sin, BATCH[0], parallel_iterations=k),
    "value_and_jacobian parallel_iterations":
        lambda k: dj.value_and_jacobian(np.sin, BATCH[0], parallel_iterations=k)[1],
    "gradient parallel_iterations":
        lambda k: dj.gradient(lambda z: np.sum(np.sin(z)), BATCH[0], parallel_iterations=k),
}


def count_witness(name):
    if name.startswith("batch_jacobian"):
        return np.stack([complex_step_jacobian(lambda r: batch_sin(r[None])[0], row)
                         for row in BATCH])
    if name.startswith("batch_hessian"):
        H = np.zeros((10, 3, 3))
        for j in range(3):             # sum_j sin(z_j) z_0: H_jj and the z_0 cross terms
            H[:, j, j] += -np.sin(BATCH[:, j]) * BATCH[:, 0]
            H[:, j, 0] += np.cos(BATCH[:, j])
            H[:, 0, j] += np.cos(BATCH[:, j])
        return H
    if name.startswith("gradient"):
        return np.cos(BATCH[0])
    return np.diag(np.cos(BATCH[0]))


@pytest.mark.parametrize("name", sorted(COUNT_ARGUMENTS))
@pytest.mark.parametrize("bad, error", BAD_COUNTS, ids=lambda v: repr(v))
def test_bad_count_arguments_are_rejected_by_name(name, bad, error):
    argument = name.split()[1]
    with pytest.raises(error, match=f"{argument} must be a positive integer or None"):
        COUNT_ARGUMENTS[name](bad)


@pytest.mark.parametrize("name", sorted(COUNT_ARGUMENTS))
@pytest.mark.parametrize("good", [None, 1, 3, np.int64(2), 100])
def test_good_count_arguments_give_the_witness(name, good):
    np.testing.assert_allclose(COUNT_ARGUMENTS[name](good), count_witness(name),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bad, error", BAD_COUNTS, ids=lambda v: repr(v))
def test_gradient_tape_checks_parallel_iterations(bad, error):
    with dj.GradientTape(persistent=True) as tape:
        x = tape.watch(BATCH)
        y = np.sin(x)
    for method in (tape.jacobian, tape.batch_jacobian):
        with pytest.raises(error, match="parallel_iterations must be a positive integer"):
            method(y, x, parallel_iterations=bad)
    np.testing.assert_allclose(tape.batch_jacobian(y, x, parallel_iterations=2),
                               np.stack([np.diag(np.cos(row)) for row in BATCH]), rtol=1e-15)


def test_rows_per_chunk_minus_one_no_longer_returns_uninitialised_rows():
    with pytest.raises(ValueError, match="rows_per_chunk"):
        dj.batch_jacobian(batch_sin, BATCH, rows_per_chunk=-1)
    with pytest.raises(ValueError, match="rows_per_chunk"):
        dj.batch_hessian(lambda z: np.sum(z ** 2, 1), BATCH, rows_per_chunk=-1)


def test_unconnected_gradients_spelling_is_checked():
    for transform in (dj.jacobian, dj.gradient, dj.batch_jacobian):
        with pytest.raises(ValueError, match="unconnected_gradients"):
            transform(lambda z: z * 2, BATCH, unconnected_gradients="zeros")


# ---------------------------------------------------------------- empty sources

EMPTY_TARGETS = {
    "prod": (np.prod, lambda z: np.prod(z)),
    "sum": (np.sum, lambda z: np.sum(z)),
    "prod axis 0": (lambda z: np.prod(z.reshape(0, 3), axis=0),
                    lambda z: np.prod(z.reshape(0, 3), axis=0)),
    "prod keepdims": (lambda z: np.prod(z, keepdims=True), lambda z: np.prod(z, keepdims=True)),
}


@pytest.mark.parametrize("name", sorted(EMPTY_TARGETS))
def test_jacobian_of_an_empty_source(name):
    f, plain = EMPTY_TARGETS[name]
    x = np.ones(0)
    J = dj.jacobian(f, x)
    expected = complex_step_jacobian(plain, x)       # no columns: zeros of the right shape
    assert J.shape == expected.shape == np.shape(plain(x)) + (0,)
    np.testing.assert_array_equal(J, expected)
    value = dj.value_and_jacobian(f, x)[0]
    np.testing.assert_array_equal(value, plain(x))   # NumPy's empty product is 1


def test_gradient_and_hessian_of_an_empty_source():
    x = np.ones(0)
    assert dj.gradient(np.prod, x).shape == (0,)
    H = dj.hessian(np.prod, x)
    assert H.shape == (0, 0)
    y, g, H = dj.value_gradient_hessian(np.prod, x)
    assert y == 1.0 and g.shape == (0,) and H.shape == (0, 0)


def test_mean_of_an_empty_source_is_numpys_nan_with_its_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value, J = dj.value_and_jacobian(np.mean, np.ones(0))
    assert any("Mean of empty slice" in str(w.message) for w in caught)
    assert np.isnan(value) and J.shape == (0,)


@pytest.mark.parametrize("reduction", [np.prod, np.max, np.min, np.sum])
@pytest.mark.parametrize("transform", ["batch_jacobian", "batch_hessian", "jacobian"])
def test_reductions_over_a_batch_of_no_rows(reduction, transform):
    x = np.ones((0, 3))
    result = getattr(dj, transform)(lambda z: reduction(z, axis=1), x)
    shape = {"batch_jacobian": (0, 3), "batch_hessian": (0, 3, 3), "jacobian": (0, 0, 3)}
    assert result.shape == shape[transform]


# ---------------------------------------------------------------- jvp / hvp directions

def quadratic(z):
    return np.sum(z ** 2 * z[0])


def test_jvp_and_hvp_reject_a_missing_direction():
    x = np.array([1.0, 2.0])
    for call in (lambda: dj.jvp(np.sin, x, None), lambda: dj.hvp(quadratic, x, None)):
        with pytest.raises(TypeError, match="v is None"):
            call()
    with pytest.raises(TypeError, match=r"v\['b'\] is None"):
        dj.jvp(lambda s: s["a"] * s["b"], {"a": x, "b": x}, {"a": x, "b": None})


@pytest.mark.parametrize("who", ["jvp", "hvp"])
def test_jvp_and_hvp_reject_a_direction_of_another_shape(who):
    x = np.array([1.0, 2.0])
    call = (lambda v: dj.jvp(np.sin, x, v)) if who == "jvp" else (lambda v: dj.hvp(quadratic, x, v))
    with pytest.raises(ValueError, match=r"v must have x's shape \(2,\), got \(3,\)"):
        call(np.ones(3))
    with pytest.raises(ValueError, match=r"v must have x's shape \(2,\), got \(2, 1\)"):
        call(np.ones((2, 1)))


def test_jvp_directions_must_nest_as_x_does():
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])

    def f(s):
        return s["a"] * np.sin(s["b"])

    with pytest.raises(ValueError, match=r"x's keys \['a', 'b'\], got \['a', 'c'\]"):
        dj.jvp(f, {"a": x, "b": y}, {"a": x, "c": y})
    with pytest.raises(ValueError, match=r"v\['b'\] must have x\['b'\]'s shape \(2,\), got \(3,\)"):
        dj.jvp(f, {"a": x, "b": y}, {"a": x, "b": np.ones(3)})
    with pytest.raises(ValueError, match="list or tuple of 2 directions"):
        dj.jvp(lambda s: s[0] * s[1], [x, y], [x])
    # right keys: the directional derivative, against complex step
    v = {"a": np.array([0.5, -1.0]), "b": np.array([2.0, 0.25])}
    _, tangent = dj.jvp(f, {"a": x, "b": y}, v)
    h = 1e-20
    expected = np.imag(f({"a": x + 1j * h * v["a"], "b": y + 1j * h * v["b"]})) / h
    np.testing.assert_allclose(tangent, expected, rtol=1e-14)


def test_hvp_with_a_right_direction_matches_the_witness():
    x, v = np.array([1.0, 2.0, 0.5]), np.array([0.3, -1.0, 2.0])
    # quadratic = z0 * sum(z**2): H = 2 z0 I + 2 (e0 z^T + z e0^T)
    H = 2 * x[0] * np.eye(3)
    H[0, :] += 2 * x
    H[:, 0] += 2 * x
    np.testing.assert_allclose(dj.hvp(quadratic, x, v), H @ v, rtol=1e-14)


# ---------------------------------------------------------------- shape errors

STRUCTURAL = {
    "reshape": lambda z: z.reshape(4, 3, 7),
    "np.reshape -1": lambda z: np.reshape(z, (11, -1)),
    "broadcast_to": lambda z: np.broadcast_to(z, (3, 2)),
    "tile": lambda z: np.tile(z, (2, -1)),
    "moveaxis": lambda z: np.moveaxis(z, 0, 4),
    "transpose": lambda z: np.transpose(z, (0, 3)),
    "transpose repeated": lambda z: z.transpose(0, 0),
    "expand_dims": lambda z: np.expand_dims(z, 4),
    "sum axis": lambda z: np.sum(z, axis=5),
    "swapaxes": lambda z: np.swapaxes(z, 0, 3),
    "squeeze": lambda z: np.squeeze(z, 0),
    "repeat": lambda z: np.repeat(z, 2, axis=3),
    "diagonal": lambda z: np.diagonal(z, 0, 0, 3),
    "take_along_axis": lambda z: np.take_along_axis(z, np.zeros((3, 2, 1), int), axis=1),
    "too many indices": lambda z: z[:, :, 0],
    "boolean index": lambda z: z[np.ones((2, 2, 2, 2), bool)],
    "where": lambda z: np.where(np.ones(4, bool), z, 0.0),
    "set item of another shape": lambda z: set_item(z, 0, np.ones(5)),
    "set item, a jet of another shape": lambda z: set_item(z, 0, z[:, :2] * 2.0),
    "set item, too many indices": lambda z: set_item(z, (0, 0, 0), 1.0),
    "set a slice into a bigger array": lambda z: set_item(z, slice(None), np.tile(z, (2, 1))),
}


def set_item(z, key, value):
    """out[key] = value on a copy of z (a jet's copy is writable in every kind)."""
    out = np.zeros(z.shape, like=z) + z
    out[key] = value
    return out

# How each jet kind is made: (transform, source)
JET_KINDS = {
    "dense": (lambda g, x: dj.jacobian(g, x), np.ones((6, 7))),
    "hyper-dual": (lambda g, x: dj.hessian(lambda z: np.sum(g(z)), x), np.ones((2, 3))),
    "banded": (lambda g, x: dj.jacobian(g, x), np.ones((10, 7))),
    "banded hessian": (lambda g, x: dj.hessian(lambda z: np.sum(g(z)), x), np.ones((6, 7))),
    "deferred": (lambda g, x: dj.batch_jacobian(g, x), np.ones((2000, 7))),
    "deferred hessian": (lambda g, x: dj.batch_hessian(g, x), np.ones((2000, 7))),
}


def numpy_error(g, shape):
    try:
        g(np.ones(shape))
    except Exception as error:
        return error
    raise AssertionError("NumPy accepts it")


@pytest.mark.parametrize("kind", sorted(JET_KINDS))
@pytest.mark.parametrize("name", sorted(STRUCTURAL))
def test_shape_errors_are_numpys_for_the_users_array(kind, name):
    transform, x = JET_KINDS[kind]
    g = STRUCTURAL[name]
    expected = numpy_error(g, x.shape)
    with pytest.raises(type(expected)) as raised:
        transform(g, x)
    assert str(raised.value) == str(expected)


def test_reshape_message_of_the_reported_case():
    with pytest.raises(ValueError, match=r"^cannot reshape array of size 42 into shape \(4,3,7\)$"):
        dj.jacobian(lambda z: z.reshape(4, 3, 7), np.ones(42))
    with banded_from(1):
        with pytest.raises(ValueError, match=r"size 42 into shape \(4,3,7\)$"):
            dj.jacobian(lambda z: z.reshape(4, 3, 7), np.ones(42))


# ---------------------------------------------------------------- f, x and flags

TRANSFORMS_OF_F = {
    "jacobian": lambda f: dj.jacobian(f, np.ones(3)),
    "value_and_jacobian": lambda f: dj.value_and_jacobian(f, np.ones(3)),
    "gradient": lambda f: dj.gradient(f, np.ones(3)),
    "jvp": lambda f: dj.jvp(f, np.ones(3), np.ones(3)),
    "hessian": lambda f: dj.hessian(f, np.ones(3)),
    "value_gradient_hessian": lambda f: dj.value_gradient_hessian(f, np.ones(3)),
    "hvp": lambda f: dj.hvp(f, np.ones(3), np.ones(3)),
    "batch_jacobian": lambda f: dj.batch_jacobian(f, np.ones((2, 3))),
    "batch_hessian": lambda f: dj.batch_hessian(f, np.ones((2, 3))),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS_OF_F))
def test_f_must_be_callable(name):
    with pytest.raises(TypeError, match=rf"dualjac\.{name}: f must be a function of x, got int"):
        TRANSFORMS_OF_F[name](3)


@pytest.mark.parametrize("x", [None, "abc"], ids=["None", "str"])
def test_a_source_that_is_not_an_array_is_named(x):
    with pytest.raises(TypeError, match=f"float32 or float64 arrays.*from {type(x).__name__}"):
        dj.jacobian(lambda z: z, x)


@pytest.mark.parametrize("flag", ["yes", -1, 0, 2.5])
def test_check_independence_is_true_false_or_a_row_count(flag):
    with pytest.raises((TypeError, ValueError), match="check_independence"):
        dj.batch_jacobian(lambda z: z * z, np.ones((3, 2)), check_independence=flag)


@pytest.mark.parametrize("flag, rows", [(True, 3), (2, 2), (False, 0)])
def test_check_independence_accepted_values(flag, rows):
    x = np.arange(1.0, 7.0).reshape(3, 2)
    expected = np.einsum("bi,ij->bij", 2 * x, np.eye(2))
    np.testing.assert_array_equal(dj.batch_jacobian(lambda z: z * z, x, check_independence=flag),
                                  expected)
    if rows:
        with pytest.raises(ValueError, match="rows are not independent"):
            dj.batch_jacobian(lambda z: z * z[::-1], x, check_independence=flag)


@pytest.mark.parametrize("n", ["2", 0, None, 1.5])
def test_set_num_threads_names_its_argument(n):
    with pytest.raises((TypeError, ValueError), match="set_num_threads"):
        dj.set_num_threads(n)


def test_unconnected_gradients_says_what_is_accepted():
    with pytest.raises(ValueError, match="use 'none', 'zero'"):
        dj.jacobian(lambda z: z, np.ones(2), unconnected_gradients="zeros")


def test_tape_gradient_output_gradients_must_match_the_target():
    x = np.array([1.0, 2.0, 3.0])
    with dj.GradientTape(persistent=True) as tape:
        watched = tape.watch(x)
        y = watched ** 2
    weights = np.array([1.0, 0.5, 2.0])
    np.testing.assert_allclose(tape.gradient(y, watched, output_gradients=weights), 2 * x * weights)
    with pytest.raises(ValueError, match=r"output_gradients must have the target's shape \(3,\), got \(4,\)"):
        tape.gradient(y, watched, output_gradients=np.ones(4))


def test_jvp_direction_of_one_array_may_be_a_list():
    x = np.array([1.0, 2.0, 3.0])
    value, tangent = dj.jvp(lambda z: np.sin(z), x, [1.0, 0.0, 2.0])
    np.testing.assert_allclose(tangent, np.cos(x) * [1.0, 0.0, 2.0], rtol=1e-15)
    with pytest.raises(ValueError, match=r"v must have x's shape \(3,\), got \(2,\)"):
        dj.jvp(lambda z: z, x, [1.0, 2.0])
