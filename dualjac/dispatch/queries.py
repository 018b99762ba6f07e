"""Functions that read values only: indices, searches, tests and shape queries.

Their results carry no derivative (an index or a boolean), so they are NumPy's
own answers on the jets' values.
"""

import functools

import numpy as np

from .._core import STAND_IN_JETS
from .jets import value_of
from .registry import HANDLED, STAND_IN_RULES


def _on_values(function, plain=value_of):
    @functools.wraps(function)
    def impl(*args, **kwargs):
        return function(*[plain(a) for a in args], **{k: plain(v) for k, v in kwargs.items()})
    return impl


def _stand_in_values(a):
    """What a stand-in jet (a DeferredJet or its transpose) reads for a value query: its
    values without computing its derivatives (a pending node's from a program without
    seeds)."""
    return a._values("a value query") if isinstance(a, STAND_IN_JETS) else value_of(a)


for _f in (np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.nonzero,
           np.flatnonzero, np.count_nonzero, np.isclose, np.allclose, np.array_equal,
           np.any, np.all, np.searchsorted, np.iscomplexobj, np.isrealobj, np.result_type,
           np.isscalar, np.isneginf, np.isposinf, np.isreal, np.iscomplex, np.digitize,
           np.argpartition):
    HANDLED[_f] = _on_values(_f)
    STAND_IN_RULES[_f] = _on_values(_f, _stand_in_values)


def _lexsort(keys, axis=-1):
    """Indices, like argsort: computed on the keys' values. (NumPy dispatches
    np.lexsort to dual keys given as a tuple; a list of dual keys is converted by
    NumPy itself first, which the conversion guard refuses.)"""
    if isinstance(keys, (tuple, list)):
        keys = tuple(value_of(k) for k in keys)
    return np.lexsort(value_of(keys), axis=axis)


HANDLED[np.lexsort] = _lexsort
