"""Drop-ins for scipy.signal's convolutions: convolve, correlate, fftconvolve.

A convolution is bilinear. With one plain operand it is linear in the other, and SciPy
itself convolves every component of the jet at once (the components ride along a trailing
axis of length 1 in the plain operand). With two jet operands it is the sum, over the
elements of the smaller one, of the other one shifted and scaled by that element (jet
operations: exact products of derivative parts, for every order)."""

import itertools

import numpy as np
import scipy.signal as _signal

from ._common import any_jet, dense, refuse_jets, traced_as_a_whole, value_of
from .._core import _Jet
from ..dispatch.jets import on_buffer

__all__ = ["convolve", "correlate", "fftconvolve"]

_MODES = ("full", "same", "valid")


def _output_shape(shape1, shape2, mode, name):
    if mode not in _MODES:
        raise ValueError(f"dualjac.scipy.signal.{name}: acceptable mode flags are 'valid', "
                         f"'same', or 'full', got {mode!r}")
    if len(shape1) != len(shape2):
        raise ValueError("in1 and in2 should have the same dimensionality")
    if mode == "full":
        return tuple(s1 + s2 - 1 for s1, s2 in zip(shape1, shape2))
    if mode == "same":
        return tuple(shape1)
    if not (all(s1 >= s2 for s1, s2 in zip(shape1, shape2))
            or all(s2 >= s1 for s1, s2 in zip(shape1, shape2))):
        raise ValueError("For 'valid' mode, one must be at least as large as the other in "
                         "every dimension")
    return tuple(abs(s1 - s2) + 1 for s1, s2 in zip(shape1, shape2))


def _centered(full, shape):
    """The middle part of the full convolution that SciPy returns for 'same' and 'valid'."""
    starts = [(f - s) // 2 for f, s in zip(full.shape, shape)]
    return full[tuple(slice(start, start + s) for start, s in zip(starts, shape))]


def _linear_full(jet, plain, use_fft):
    """The full convolution of a jet with a plain array, every component at once."""
    buf = jet.buf
    kernel = np.asarray(plain)[..., None]
    if use_fft:
        out = _signal.fftconvolve(buf, kernel, axes=tuple(range(kernel.ndim - 1)))
    else:
        out = _signal.convolve(buf, kernel, method="direct")
    return on_buffer(jet, out)


def _shifted_sum_full(in1, in2):
    """The full convolution of two jets: sum over k of in1 * in2[k], placed at offset k."""
    if in2.size > in1.size:
        in1, in2 = in2, in1
    total = 0.0
    for k in itertools.product(*map(range, in2.shape)):
        padding = [(i, s2 - 1 - i) for i, s2 in zip(k, in2.shape)]
        total = total + np.pad(in1 * in2[k], padding)
    return total


def _convolve(in1, in2, mode, method, name):
    in1, in2 = dense(in1), dense(in2)
    shape = _output_shape(np.shape(in1), np.shape(in2), mode, name)
    if method not in ("auto", "direct", "fft"):
        raise ValueError(f"dualjac.scipy.signal.{name}: method must be 'auto', 'direct' or "
                         f"'fft', got {method!r}")
    if np.size(value_of(in1)) == 0 or np.size(value_of(in2)) == 0:
        return _signal.convolve(value_of(in1), value_of(in2), mode)     # SciPy's empty result
    if isinstance(in1, _Jet) and isinstance(in2, _Jet):
        full = _shifted_sum_full(in1, in2)
    else:
        jet, plain = (in1, in2) if isinstance(in1, _Jet) else (in2, in1)
        if method == "auto":
            method = _signal.choose_conv_method(value_of(in1), value_of(in2), "full")
        full = _linear_full(jet, plain, method == "fft")
    return _centered(full, shape)


def convolve(in1, in2, mode="full", method="auto"):
    """The N-dimensional convolution of in1 and in2 (mode 'full', 'same' or 'valid')."""
    if not any_jet(in1, in2):
        return _signal.convolve(in1, in2, mode, method)
    return _convolve(in1, in2, mode, method, "convolve")


def correlate(in1, in2, mode="full", method="auto"):
    """The cross-correlation of real in1 and in2: convolve(in1, in2 reversed on every axis)."""
    if not any_jet(in1, in2):
        return _signal.correlate(in1, in2, mode, method)
    in2 = dense(in2)
    return _convolve(in1, np.flip(in2), mode, method, "correlate")


def fftconvolve(in1, in2, mode="full", axes=None):
    """convolve by FFT: the same numbers (to rounding), hence the same rule on jets."""
    if not any_jet(in1, in2):
        return _signal.fftconvolve(in1, in2, mode, axes)
    if axes is not None:
        raise refuse_jets("signal.fftconvolve", "takes axes=None only on jets; convolve along "
                          "some axes by looping over the others, or pass axes=None")
    return _convolve(in1, in2, mode, "fft", "fftconvolve")


# The sparsity tracer's arrays have no buffers: SciPy's function on their values, every
# output depending on every traced input.
for _name in __all__:
    globals()[_name] = traced_as_a_whole(getattr(_signal, _name))(globals()[_name])
