"""np.fft functions whose result is real for real input.

fftshift / ifftshift are rolls (NumPy's own definition, a composition the sparsity tracer
runs). irfft, irfft2, irfftn and hfft read a real array as a Hermitian half-spectrum with
zero imaginary parts and return a real array; they are linear, so NumPy's own function
applied to every component of the jet's buffer (value and partials alike, the component
axis kept out of the transformed axes) is exact at every order. The transforms whose result
is complex (fft, rfft, ihfft, ...) are refused with a TypeError that says so: dual arrays
are real.
"""

import numpy as np

from .jets import normalize_axes, normalize_axis, on_buffer, on_value_shape, reject_out
from .registry import implements, implements_composite, refuses


def _shifts(shape, axes, inverse):
    """np.fft.fftshift's rolls: half of each axis length (rounded so that ifftshift undoes it)."""
    if axes is None:
        axes = tuple(range(len(shape)))
    half = (lambda n: -(n // 2)) if inverse else (lambda n: n // 2)
    if isinstance(axes, (int, np.integer)):
        return half(shape[axes]), axes
    return [half(shape[ax]) for ax in axes], axes


@implements_composite(np.fft.fftshift)
def fftshift(x, axes=None):
    return np.roll(x, *_shifts(np.shape(x), axes, False))


@implements_composite(np.fft.ifftshift)
def ifftshift(x, axes=None):
    return np.roll(x, *_shifts(np.shape(x), axes, True))


def _one_axis_real_transform(transform):
    """The rule of a 1-D transform with real output (irfft, hfft): linear, so NumPy's
    transform of the buffer along the axis."""
    def rule(a, n=None, axis=-1, norm=None, out=None):
        reject_out(out, f"np.fft.{transform.__name__}")
        return on_buffer(a, on_value_shape(
            a, lambda v: transform(v, n, axis, norm),
            lambda: transform(a.buf, n, normalize_axis(axis, a.ndim), norm)))
    rule.__name__ = transform.__name__
    return rule


irfft = implements(np.fft.irfft)(_one_axis_real_transform(np.fft.irfft))
hfft = implements(np.fft.hfft)(_one_axis_real_transform(np.fft.hfft))


def _transformed_axes(ndim, s, axes):
    """NumPy's axes of an n-dimensional transform: all, or the last len(s) when s is given."""
    if axes is None:
        return tuple(range(ndim)) if s is None else tuple(range(ndim - len(s), ndim))
    return normalize_axes(tuple(axes), ndim)


@implements(np.fft.irfftn)
def irfftn(a, s=None, axes=None, norm=None, out=None):
    reject_out(out, "np.fft.irfftn")
    return on_buffer(a, on_value_shape(
        a, lambda v: np.fft.irfftn(v, s, axes, norm),
        lambda: np.fft.irfftn(a.buf, s, _transformed_axes(a.ndim, s, axes), norm)))


@implements(np.fft.irfft2)
def irfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    reject_out(out, "np.fft.irfft2")
    return on_buffer(a, on_value_shape(
        a, lambda v: np.fft.irfft2(v, s, axes, norm),
        lambda: np.fft.irfftn(a.buf, s, _transformed_axes(a.ndim, s, axes), norm)))


refuses(np.fft.fft, np.fft.ifft, np.fft.fft2, np.fft.ifft2, np.fft.fftn, np.fft.ifftn,
        np.fft.rfft, np.fft.rfft2, np.fft.rfftn, np.fft.ihfft,
        why="returns a complex array, and dual arrays are real. Differentiate a real "
            "function of the signal instead (np.fft.irfft, np.fft.hfft and the shifts have "
            "rules), or write the transform as real products with cos and sin matrices.")
