"""Spelling independence: one computation written in many NumPy spellings
(tests/spellings.py: slices joined, output arrays filled through slices, views,
`out=` and in-place operators through aliases and function arguments, np.pad,
np.roll, np.where, np.stack, reshape and transpose views) gives the same values,
the same derivatives and the same connectivity in every transform, at sizes on
both sides of every threshold: the C fast path and dense jets, banded jets
(dj.jacobian >= 64 elements, dj.hessian >= 12), seed chunks (> 128 seeds) and
deferred jets (batch transforms >= 1024 elements).

The witness is the complex step of the plain-NumPy computation. Examples are
drawn by hypothesis; DUALJAC_LONG_TESTS=1 runs many more (random) examples.
"""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualjac as dj
from spellings import EDGES, SPELLINGS, STEPS
from witness import complex_step_jacobian, witness_hessian

LONG = os.environ.get("DUALJAC_LONG_TESTS") == "1"
SETTINGS = settings(max_examples=300 if LONG else 4, deadline=None, derandomize=not LONG)

# (size, what it exercises)
JACOBIAN_SIZES = [3, 70, 140]      # C fast path + dense; banded; banded + seed chunks
HESSIAN_SIZES = [4, 16]            # dense; banded
BATCH_SHAPES = [(3, 4), (300, 4)]  # eager jets; deferred jets

computations = st.tuples(st.sampled_from(sorted(EDGES)), st.sampled_from(sorted(STEPS)),
                         st.integers(0, 2**31 - 1))


def instance(computation, shape):
    """(edge, step, x) of a drawn computation, x in [0.2, 1.2)."""
    edge, step, seed = computation
    x = np.random.default_rng(seed).random(shape) + 0.2
    return EDGES[edge], STEPS[step], x


def each_spelling(edge, step):
    return [(spelling.__name__, lambda z, s=spelling: s(edge, step, z)) for spelling in SPELLINGS]


def assert_close(got, expected, who, rtol=1e-12, atol=1e-12):
    assert got is not None, f"{who}: None (unconnected) where the witness is connected"
    assert got.shape == expected.shape, f"{who}: shape {got.shape}, expected {expected.shape}"
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=who)


@pytest.mark.parametrize("n", JACOBIAN_SIZES)
@SETTINGS
@given(computation=computations)
def test_jacobian_value_and_connectivity(n, computation):
    edge, step, x = instance(computation, (n,))
    unused = np.ones(2)
    expected = complex_step_jacobian(lambda z: SPELLINGS[0](edge, step, z), x)
    value = SPELLINGS[0](edge, step, x)
    for name, f in each_spelling(edge, step):
        assert_close(dj.jacobian(f, x), expected, f"jacobian, {name}, n={n}")
        y, J = dj.value_and_jacobian(f, x)
        assert_close(y, value, f"value_and_jacobian value, {name}")
        assert_close(J, expected, f"value_and_jacobian, {name}")
        both = dj.jacobian(lambda s: f(s[0]), (x, unused))
        assert both[1] is None, f"{name}: an unused source must be unconnected"
        assert_close(both[0], expected, f"jacobian of two sources, {name}")
        zero = dj.jacobian(lambda s: f(s[0]), (x, unused), unconnected_gradients="zero")
        assert_close(zero[1], np.zeros((n, 2)), f"unconnected 'zero', {name}")


@pytest.mark.parametrize("n", JACOBIAN_SIZES)
@SETTINGS
@given(computation=computations)
def test_gradient_and_tape(n, computation):
    edge, step, x = instance(computation, (n,))
    expected = complex_step_jacobian(lambda z: SPELLINGS[0](edge, step, z), x)
    for name, f in each_spelling(edge, step):
        assert_close(dj.gradient(f, x), expected.sum(0), f"gradient, {name}")
        with dj.GradientTape() as tape:
            watched = tape.watch(x)
            y = f(watched)
        assert_close(tape.jacobian(y, watched), expected, f"tape.jacobian, {name}")


def assert_second_order_agrees(transform, scalar, x, witness_at, who):
    """transform (dj.hessian or dj.batch_hessian) of scalar(spelling) is the same
    for every spelling, and the reference spelling's matches finite differences
    of complex-step gradients at witness_at (x, or one of its rows)."""
    reference = transform(scalar(SPELLINGS[0]), x)
    index = () if witness_at is x else (-1,)
    assert_close(reference[index], witness_hessian(scalar(SPELLINGS[0]), witness_at),
                 f"{who} witness", rtol=1e-6, atol=1e-6)
    for spelling in SPELLINGS:
        assert_close(transform(scalar(spelling), x), reference, f"{who}, {spelling.__name__}")


@pytest.mark.parametrize("n", HESSIAN_SIZES)
@SETTINGS
@given(computation=computations)
def test_hessian(n, computation):
    edge, step, x = instance(computation, (n,))
    weights = np.linspace(0.5, 1.5, n)

    def scalar(spelling):
        return lambda z: np.sum(weights * spelling(edge, step, z) ** 2)

    assert_second_order_agrees(dj.hessian, scalar, x, x, f"hessian, n={n}")


@pytest.mark.parametrize("shape", BATCH_SHAPES)
@SETTINGS
@given(computation=computations)
def test_batch_jacobian(shape, computation):
    edge, step, x = instance(computation, shape)
    rows = [0, shape[0] - 1]
    expected = [complex_step_jacobian(lambda r: SPELLINGS[0](edge, step, r), x[i]) for i in rows]
    for name, f in each_spelling(edge, step):
        got = dj.batch_jacobian(f, x)
        assert got.shape == shape + shape[1:], name
        for i, witness in zip(rows, expected):
            assert_close(got[i], witness, f"batch_jacobian row {i}, {name}, shape {shape}")
        with dj.GradientTape() as tape:
            watched = tape.watch(x, batch=True)
            y = f(watched)
        assert_close(tape.batch_jacobian(y, watched), got, f"tape.batch_jacobian, {name}")


@pytest.mark.parametrize("shape", BATCH_SHAPES)
@SETTINGS
@given(computation=computations)
def test_batch_hessian(shape, computation):
    edge, step, x = instance(computation, shape)

    def per_row(spelling):
        return lambda z: np.sum(spelling(edge, step, z) ** 2, axis=-1)

    assert_second_order_agrees(dj.batch_hessian, per_row, x, x[-1], f"batch_hessian, shape {shape}")


# Per-row reductions broadcast back: keepdims, [..., None] and expand_dims.
REDUCTION_SPELLINGS = {
    "keepdims": lambda z: z / np.sum(z * z, axis=-1, keepdims=True),
    "newaxis": lambda z: z / np.sum(z * z, axis=-1)[..., None],
    "expand_dims": lambda z: z / np.expand_dims(np.sum(z * z, axis=-1), -1),
    "einsum": lambda z: z / np.einsum("...i,...i->...", z, z)[..., None],
}


@pytest.mark.parametrize("shape", [(3, 4), (400, 4)])   # eager; deferred (>= 1024 elements)
def test_reductions_broadcast_back_agree(shape):
    x = np.random.default_rng(1).random(shape) + 0.2
    rows = [0, shape[0] - 1]
    witness = [complex_step_jacobian(REDUCTION_SPELLINGS["keepdims"], x[i]) for i in rows]
    for name, f in REDUCTION_SPELLINGS.items():
        got = dj.batch_jacobian(f, x)
        for i, expected in zip(rows, witness):
            assert_close(got[i], expected, f"batch_jacobian row {i}, {name}")
        assert_close(dj.jacobian(f, x[0]), witness[0], f"jacobian, {name}")
        H = dj.batch_hessian(lambda z: np.sum(f(z), axis=-1), x)
        assert_close(H[-1], witness_hessian(lambda r: np.sum(f(r)), x[-1]),
                     f"batch_hessian, {name}", rtol=1e-6, atol=1e-6)
