"""Set operations on values: union1d, intersect1d, setdiff1d, setxor1d and the array API's
unique_values / unique_counts / unique_inverse / unique_all.

NumPy decides which values are in the result, on the values (plain arrays). Each result
value is then one element of the input, gathered with its derivatives: the **first
occurrence** of that value, in ``ar1`` before ``ar2`` where two arrays are joined (as the
existing np.unique rule does). intersect1d takes ``ar1``'s occurrence (a plain ``ar1`` gives
constants). Equal values that differ only in the sign of zero count as one, as in NumPy; the
result's zero is the first occurrence's (NumPy may return the other sign). NaNs are matched
to the NaNs of the input in order. Counts, indices and inverses are NumPy's, plain. NumPy calls only,
so the sparsity tracer runs these as they are (``registry.COMPOSITES``).
"""

import numpy as np

from .compositions import values_of
from .registry import implements_composite


def _first_occurrences(values, chosen):
    """For each element of ``chosen`` (values that occur in the 1-D ``values``), the index of
    its first occurrence in ``values``; the k-th NaN of ``chosen`` is the k-th NaN there."""
    values, chosen = np.asarray(values), np.asarray(chosen)
    order = np.argsort(values, kind="stable")
    first = order[np.searchsorted(values[order], chosen, side="left")] if values.size else (
        np.zeros(chosen.shape, dtype=np.intp))
    nan = np.isnan(chosen) if chosen.dtype.kind == "f" else np.zeros(chosen.shape, bool)
    if nan.any():
        first[nan] = np.flatnonzero(np.isnan(values))[:np.count_nonzero(nan)]
    return first


def _gathered(flat, chosen):
    """The elements of the 1-D ``flat`` that carry NumPy's result values ``chosen``."""
    return np.take(flat, _first_occurrences(values_of(flat), chosen))


def _joined(ar1, ar2):
    return np.concatenate((np.ravel(ar1), np.ravel(ar2)))


@implements_composite(np.union1d)
def union1d(ar1, ar2):
    return _gathered(_joined(ar1, ar2), np.union1d(values_of(ar1), values_of(ar2)))


@implements_composite(np.intersect1d)
def intersect1d(ar1, ar2, assume_unique=False, return_indices=False):
    found = np.intersect1d(values_of(ar1), values_of(ar2), assume_unique, return_indices)
    common = _gathered(np.ravel(ar1), found[0] if return_indices else found)
    return (common,) + tuple(found[1:]) if return_indices else common


@implements_composite(np.setdiff1d)
def setdiff1d(ar1, ar2, assume_unique=False):
    flat = np.ravel(ar1)
    if assume_unique:      # NumPy keeps ar1's order and repeats: a mask of ar1
        keep = ~np.isin(values_of(flat), values_of(ar2), assume_unique=True)
        return np.compress(keep, flat)
    return _gathered(flat, np.setdiff1d(values_of(ar1), values_of(ar2), assume_unique))


@implements_composite(np.setxor1d)
def setxor1d(ar1, ar2, assume_unique=False):
    return _gathered(_joined(ar1, ar2),
                     np.setxor1d(values_of(ar1), values_of(ar2), assume_unique))


@implements_composite(np.unique_values)
def unique_values(x):
    return _gathered(np.ravel(x), np.unique_values(values_of(x)))


@implements_composite(np.unique_counts)
def unique_counts(x):
    found = np.unique_counts(values_of(x))
    return type(found)(_gathered(np.ravel(x), found.values), found.counts)


@implements_composite(np.unique_inverse)
def unique_inverse(x):
    found = np.unique_inverse(values_of(x))
    return type(found)(_gathered(np.ravel(x), found.values), found.inverse_indices)


@implements_composite(np.unique_all)
def unique_all(x):
    """NumPy's indices are the first occurrences: the values are gathered there."""
    found = np.unique_all(values_of(x))
    values = np.take(np.ravel(x), found.indices)
    return type(found)(values, found.indices, found.inverse_indices, found.counts)
