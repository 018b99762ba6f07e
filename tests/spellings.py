"""One computation in many NumPy spellings, for the spelling-equivalence tests.

The computation is a first-order stencil along the last axis, with a boundary
term: y[..., 0] = edge(x[..., 0]) and y[..., i] = step(x[..., i - 1], x[..., i]).
Each spelling below computes exactly that with a different NumPy idiom: slices
joined, an output array filled through slices, views or `out=`, in-place
operators through aliases and function arguments, padding, rolling, masks,
stacks, reshape and transpose views. Every spelling also runs on plain (and
complex) ndarrays, which gives the complex-step witness.
"""

import numpy as np


def by_concatenate(edge, step, x):
    return np.concatenate([edge(x[..., :1]), step(x[..., :-1], x[..., 1:])], axis=-1)


def by_slice_assignment(edge, step, x):
    out = np.zeros_like(x)
    out[..., :1] = edge(x[..., :1])
    out[..., 1:] = step(x[..., :-1], x[..., 1:])
    return out


def by_empty_like(edge, step, x):
    out = np.empty_like(x)
    out[..., 1:] = step(x[..., :-1], x[..., 1:])
    out[..., :1] = edge(x[..., :1])
    return out


def by_views_filled_in_place(edge, step, x):
    out = np.zeros_like(x)
    head, tail = out[..., :1], out[..., 1:]
    head[...] = edge(x[..., :1])
    tail[...] = step(x[..., :-1], x[..., 1:])
    return out


def by_out_argument(edge, step, x):
    out = np.zeros_like(x)
    np.add(edge(x[..., :1]), 0.0, out=out[..., :1])
    np.multiply(step(x[..., :-1], x[..., 1:]), 1.0, out=out[..., 1:])
    return out


def by_in_place_through_alias(edge, step, x):
    out = np.zeros_like(x)
    tail = out[..., 1:]
    tail += step(x[..., :-1], x[..., 1:])
    head = out[..., :1]
    head += edge(x[..., :1])
    return out


def _accumulate(buffer, value):
    buffer += value


def by_in_place_in_a_function(edge, step, x):
    out = np.zeros_like(x)
    _accumulate(out[..., 1:], step(x[..., :-1], x[..., 1:]))
    _accumulate(out[..., :1], edge(x[..., :1]))
    return out


def by_in_place_on_the_whole(edge, step, x):
    out = np.zeros_like(x)
    _accumulate(out, by_concatenate(edge, step, x))
    return out


def _first(x):
    return np.arange(x.shape[-1]) == 0


def by_pad_and_where(edge, step, x):
    previous = np.pad(x[..., :-1], [(0, 0)] * (x.ndim - 1) + [(1, 0)])
    return np.where(_first(x), edge(x), step(previous, x))


def by_roll_and_where(edge, step, x):
    return np.where(_first(x), edge(x), step(np.roll(x, 1, axis=-1), x))


def by_stack(edge, step, x):
    parts = [edge(x[..., 0])]
    parts += [step(x[..., i - 1], x[..., i]) for i in range(1, x.shape[-1])]
    return np.stack(parts, axis=-1)


def by_reshape_view(edge, step, x):
    out = np.zeros_like(x)
    grid = out.reshape(x.shape[:-1] + (1, x.shape[-1]))
    grid[..., 0, 1:] = step(x[..., :-1], x[..., 1:])
    grid[..., 0, :1] = edge(x[..., :1])
    return out


def by_transpose_view(edge, step, x):
    out = np.zeros_like(x)
    columns = out.T
    columns[1:] = step(x[..., :-1], x[..., 1:]).T
    columns[:1] = edge(x[..., :1]).T
    return out


SPELLINGS = [by_concatenate, by_slice_assignment, by_empty_like, by_views_filled_in_place,
             by_out_argument, by_in_place_through_alias, by_in_place_in_a_function,
             by_in_place_on_the_whole, by_pad_and_where, by_roll_and_where, by_stack,
             by_reshape_view, by_transpose_view]

# Elementwise pieces, smooth and finite on the test points (also as complex).
EDGES = {
    "sin": np.sin,
    "square": lambda t: t * t,
    "affine": lambda t: 3.0 * t - 1.0,
    "exp": np.exp,
}
STEPS = {
    "product": lambda a, b: a * b,
    "difference": lambda a, b: b - a,
    "sin_times_exp": lambda a, b: np.sin(a) * np.exp(0.5 * b),
    "tanh_sum": lambda a, b: np.tanh(a + 2.0 * b),
    "ratio": lambda a, b: a / (2.0 + b * b),
    "copy_left": lambda a, b: a + 0.0 * b,
}
