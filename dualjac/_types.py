"""Type aliases of the public signatures (annotations only: nothing here runs at call time)."""

from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, Sequence, Union

import numpy as np
from numpy.typing import NDArray

# Derivatives, values and patterns: NumPy arrays of any dtype (a transform's result has
# its source's floating dtype).
Array = NDArray[Any]

# One source array. Inside f it is a dual array standing in for this array (NumPy's
# operators and functions work on it), hence f is typed as a function of an ndarray.
Leaf = Union[NDArray[Any], np.generic, float]

# Several sources: a list / tuple / dict nesting of arrays (TensorFlow's nest). A transform
# returns the same structure, so its result is typed Any.
Nest = Union[Mapping[Any, Any], Sequence[Any]]

# f of one array; f of any source (an array or a nest). What f returns is typed Any: a
# transform's own result (an ndarray, or None where unconnected) is a valid return, so
# that nesting transforms (`dj.jacobian(lambda z: dj.jacobian(f, z), x)`) type-checks.
ArrayFunction = Callable[[NDArray[Any]], Any]
Function = Callable[[Any], Any]

# Sparse results: a scipy.sparse array for "csr" / "csc" / "coo", an ndarray for "dense"
# (Any to a type checker without SciPy's type stubs; Any at run time, where importing
# SciPy here would make `import dualjac` need it).
Format = Literal["csr", "csc", "coo", "dense"]
if TYPE_CHECKING:
    from scipy.sparse import sparray
    Sparse = Union[sparray, NDArray[Any]]
else:
    Sparse = Any

# A sparsity pattern: a scipy.sparse matrix or array, or a dense 2-D array.
Pattern = Any
ColumnOrder = Literal["auto", "dsatur", "largest_first", "smallest_last", "natural"]
StarOrder = Literal["largest_first", "smallest_last", "natural"]
