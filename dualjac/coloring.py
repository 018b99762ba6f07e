"""Graph coloring and decompression for sparse Jacobians and Hessians.

A sparse m x n Jacobian J costs one forward sweep per *color* instead of one per
column: columns that share no row (structurally orthogonal columns) get the same
color, f runs once on dual arrays seeded with the n x c 0/1 matrix
S = seed_matrix(colors), and every structural nonzero of J is read back from the
compressed B = J @ S, since J[i, j] is the only term of B[i, colors[j]].

Hessians are symmetric, which allows fewer colors: a *star coloring* (adjacent
vertices differ, and every path on four vertices uses at least three colors) lets
every H[i, j] be read from B = H @ S either at B[i, colors[j]] or at
B[j, colors[i]].

    colors = column_coloring(pattern)            # int64, one color per column
    B = J_times(seed_matrix(colors))             # m x c, one sweep per color
    J = decompress_columns(B, pattern, colors)   # scipy.sparse.csr_array

References: Gebremedhin, Manne & Pothen, "What color is your Jacobian? Graph
coloring for computing derivatives", SIAM Review 47 (2005); "New acyclic and star
coloring algorithms with application to computing Hessians", SIAM J. Sci.
Comput. 29 (2007); Brelaz, "New methods to color the vertices of a graph",
CACM 22 (1979) for the saturation (DSATUR) order.

Conventions:
- A pattern is any scipy.sparse matrix or array (its *stored* entries are the
  structure, whatever their values) or a dense 2-D array (its nonzeros).
- Every column gets a color, so a pattern with n >= 1 columns and no nonzeros
  uses one color (all columns color 0); n = 0 columns use none.
- Decompressed matrices keep every structural entry stored, zero or not, in
  canonical order (sorted indices, no duplicates), so every call with one
  pattern returns the same sparsity structure: a solver can reuse a symbolic
  factorization.
- Hessian patterns are symmetrized (P or P.T) and always include the diagonal.
- Cost (Python steps; see column_coloring for how its default order follows): column
  coloring by DSATUR (or smallest-last) is O(sum over rows of nnz(row)^2), the
  column intersection graph being built as P.T @ P; by largest-first or natural
  order O(nnz). Star coloring is O(sum over vertices of their neighbors'
  degrees). Decompression is vectorized, O(nnz).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, DTypeLike, NDArray

from ._types import Array, ColumnOrder, Format, Pattern, Sparse, StarOrder

__all__ = ["column_coloring", "row_coloring", "star_coloring", "seed_matrix",
           "decompress_columns", "decompress_symmetric", "check_coloring",
           "COLUMN_ORDERS", "STAR_ORDERS", "FORMATS"]

COLUMN_ORDERS = ("auto", "dsatur", "largest_first", "smallest_last", "natural")
DSATUR_PAIR_LIMIT = 3_000_000
STAR_ORDERS = ("largest_first", "smallest_last", "natural")
FORMATS = ("csr", "csc", "coo", "dense")


# --------------------------------------------------------------------------
# Input normalization
# --------------------------------------------------------------------------

def _as_pattern(pattern):
    """The structure of `pattern` as a canonical bool csr_array (sorted
    indices, no duplicates, data all True)."""
    if sp.issparse(pattern):
        coo = sp.coo_array(pattern)
        if coo.ndim != 2:
            raise ValueError(f"a sparsity pattern must be 2-D (m x n); got shape {coo.shape}")
        shape, (rows, cols) = coo.shape, coo.coords
    else:
        dense = np.asarray(pattern)
        if dense.ndim != 2:
            raise ValueError(f"a sparsity pattern must be a 2-D array or a scipy.sparse "
                             f"matrix (m x n); got shape {dense.shape}")
        if not (dense.dtype == bool or np.issubdtype(dense.dtype, np.number)):
            raise TypeError(f"a dense sparsity pattern must be bool or numeric; got dtype "
                            f"{dense.dtype}: pass `pattern != 0` or a scipy.sparse matrix")
        shape, (rows, cols) = dense.shape, np.nonzero(dense)
    structure = sp.csr_array((np.ones(len(rows), dtype=bool), (rows, cols)), shape=shape)
    structure.sum_duplicates()
    structure.sort_indices()
    return structure


def _as_symmetric_pattern(pattern):
    """A square pattern made symmetric, with the whole diagonal stored."""
    structure = _as_pattern(pattern)
    m, n = structure.shape
    if m != n:
        raise ValueError(f"a Hessian pattern must be square (n x n); got {m} x {n}")
    symmetric = structure + structure.T + sp.eye_array(n, dtype=bool, format="csr")
    return _as_pattern(symmetric)


def _as_colors(colors, n, what):
    """`colors` as an int64 vector of length n (any length if n is None) with
    entries >= 0."""
    colors = np.asarray(colors)
    if colors.ndim != 1 or (n is not None and len(colors) != n):
        count = "" if n is None else f" ({n})"
        raise ValueError(f"colors must be a 1-D array with one color per {what}{count}; "
                         f"got shape {colors.shape}")
    if colors.size and not np.issubdtype(colors.dtype, np.integer):
        raise TypeError(f"colors must be integers (as returned by the coloring functions); "
                        f"got dtype {colors.dtype}")
    colors = colors.astype(np.int64, copy=False)
    if colors.size and colors.min() < 0:
        raise ValueError(f"colors must be >= 0; got {colors.min()} for {what} "
                         f"{int(np.argmin(colors))}")
    return colors


def _num_colors(colors):
    return int(colors.max()) + 1 if colors.size else 0


def _check_format(format):
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}; got {format!r}")


def _check_order(order, allowed):
    if order not in allowed:
        raise ValueError(f"order must be one of {allowed}; got {order!r}")


def _adjacency(graph):
    """A csr graph as Python lists (indices, bounds): the neighbors of v are
    indices[bounds[v]:bounds[v + 1]]. The greedy loops visit one vertex at a
    time, where Python lists are several times faster than NumPy scalars; the
    loops slice a vertex's neighbors when they need them, since 1e5 short lists
    kept alive would cost more to build (and to garbage-collect) than the
    slices."""
    return graph.indices.tolist(), graph.indptr.tolist()


def _without_diagonal(structure):
    rows, cols = _entries(structure)
    off_diagonal = rows != cols
    graph = sp.csr_array((structure.data[off_diagonal], (rows[off_diagonal], cols[off_diagonal])),
                         shape=structure.shape)
    graph.sort_indices()
    return graph


def _entries(structure):
    """Row and column index of every stored entry of a csr_array."""
    rows = np.repeat(np.arange(structure.shape[0]), np.diff(structure.indptr))
    return rows, structure.indices


# --------------------------------------------------------------------------
# Vertex orders
# --------------------------------------------------------------------------

def _largest_first(indices, bounds):
    """Vertices by decreasing degree, ties in natural order."""
    return np.argsort(-np.diff(bounds), kind="stable").tolist()


def _smallest_last(indices, bounds):
    """Matula & Beck: repeatedly remove a vertex of least remaining degree; color
    in the reverse order of removal (each vertex then has few colored neighbors
    when it is colored)."""
    n = len(bounds) - 1
    degree = np.diff(bounds).tolist()
    buckets = [dict() for _ in range(max(degree, default=0) + 1)]
    for v in range(n):
        buckets[degree[v]][v] = None
    removed = [False] * n
    removal = []
    lowest = 0
    for _ in range(n):
        # Removing one vertex lowers its neighbors' degrees by at most one.
        lowest = max(lowest - 1, 0)
        while not buckets[lowest]:
            lowest += 1
        v, _ = buckets[lowest].popitem()
        removed[v] = True
        removal.append(v)
        for w in indices[bounds[v]:bounds[v + 1]]:
            if not removed[w]:
                del buckets[degree[w]][w]
                degree[w] -= 1
                buckets[degree[w]][w] = None
    return removal[::-1]


_STAR_ORDERS = {"largest_first": _largest_first, "smallest_last": _smallest_last,
                "natural": lambda indices, bounds: range(len(bounds) - 1)}


# --------------------------------------------------------------------------
# Distance-1 greedy coloring (of the column intersection graph)
#
# The greedy loops run one vertex at a time in Python; a set of colors is kept
# as the bits of a Python int (bit c set: color c present), which makes union,
# membership and "smallest color not present" single integer operations.
# --------------------------------------------------------------------------

def _lowest_clear_bit(mask):
    """The smallest color absent from a color mask."""
    return (~mask & (mask + 1)).bit_length() - 1


def _colors_of(bits):
    return np.array([bit.bit_length() - 1 for bit in bits], dtype=np.int64)


def _greedy_columns(structure, order):
    """Each column in `order` takes the smallest color not yet used in any of
    its rows: the greedy coloring of the column intersection graph without
    building that graph (O(nnz) steps). bit[j] is 1 << color of column j and
    used_in_row[i] the mask of the colors row i has seen."""
    by_column = structure.tocsc()
    by_column.sort_indices()
    rows_of, bounds = _adjacency(by_column)
    used_in_row = [0] * structure.shape[0]
    bit = [0] * structure.shape[1]
    for j in order:
        rows = rows_of[bounds[j]:bounds[j + 1]]
        forbidden = 0
        for i in rows:
            forbidden |= used_in_row[i]
        new = 1 << _lowest_clear_bit(forbidden)
        bit[j] = new
        for i in rows:
            used_in_row[i] |= new
    return _colors_of(bit)


def _static_column_order(structure, order):
    n = structure.shape[1]
    if order == "natural":
        return range(n)
    if order == "largest_first":
        # The degree counted through shared rows (a column sharing two rows with
        # another counts it twice): an O(nnz) stand-in for the exact degree.
        row_sizes = np.diff(structure.indptr)
        degree = structure.T.astype(np.int64) @ row_sizes
        return np.argsort(-degree, kind="stable").tolist()
    return _smallest_last(*_adjacency(_intersection_graph(structure)))


def _intersection_graph(structure):
    """Columns adjacent when they share a row (each column also its own neighbor)."""
    graph = (structure.T @ structure).tocsr()
    graph.sort_indices()
    return graph


def _distance_two_pairs(structure):
    """Sum over rows of nnz(row)^2: the size of the column intersection graph
    counted with multiplicity, the work of a DSATUR coloring."""
    row_sizes = np.diff(structure.indptr).astype(np.int64)
    return int(row_sizes @ row_sizes)


def _dsatur(indices, bounds):
    """Greedy in saturation order (Brelaz): next is an uncolored vertex whose
    colored neighbors show the most distinct colors. On stencils this follows
    the grid like a wave and finds the optimal 5 colors of the 2-D 5-point
    stencil, where the static orders need up to 7.

    Vertices wait in one stack per saturation; a vertex whose saturation grows
    is pushed again one level up and its old entry, now stale, is skipped when
    reached (cheaper than removing it). Popping from the top of the stack means
    that among equally saturated vertices the one reached last goes first,
    which keeps the wave compact; vertex 0 starts."""
    n = len(bounds) - 1
    bit = [0] * n
    seen = [0] * n          # mask of the colors among v's colored neighbors
    saturation = [0] * n    # number of bits of seen[v]
    most = int(np.diff(bounds).max(initial=0))
    stacks = [list(range(n - 1, -1, -1))] + [[] for _ in range(most + 1)]
    top = 0
    for _ in range(n):
        while True:
            stack = stacks[top]
            if not stack:
                top -= 1
                continue
            v = stack.pop()
            if not bit[v] and saturation[v] == top:
                break
        new = 1 << _lowest_clear_bit(seen[v])
        bit[v] = new
        for w in indices[bounds[v]:bounds[v + 1]]:
            if not bit[w] and not seen[w] & new:
                seen[w] |= new
                level = saturation[w] = saturation[w] + 1
                stacks[level].append(w)
                if level > top:
                    top = level
    return _colors_of(bit)


def column_coloring(pattern: Pattern, order: ColumnOrder = "auto") -> NDArray[np.int64]:
    """Colors of the columns of an m x n sparsity pattern such that two columns
    sharing a nonzero row differ (a distance-2 coloring of the bipartite graph,
    i.e. a coloring of the column intersection graph). Returns an int64 array of
    length n with colors 0 .. c-1.

    order: "dsatur" (saturation order: w colors for a band of width w and the
    optimal 5 for the 2-D 5-point stencil), or a static greedy order
    "largest_first", "smallest_last", "natural" (6 or 7 on that stencil for the
    first and last; smallest-last finds 5 but costs more than DSATUR). DSATUR
    takes Python steps per pair of columns sharing a row, largest-first and
    natural per nonzero. The default "auto" is DSATUR while those pairs number
    at most DSATUR_PAIR_LIMIT, else largest-first: up to that many pairs DSATUR's
    time stays within a small factor of largest-first's, and beyond it DSATUR's
    steps keep growing with the pairs (the square of each row's nonzeros) where
    largest-first's grow only with the nonzeros.
    A coloring is usually computed once per pattern and reused for every
    Jacobian, each color costing a sweep, hence the preference for fewer colors."""
    _check_order(order, COLUMN_ORDERS)
    structure = _as_pattern(pattern)
    if order == "auto":
        dsatur_affordable = _distance_two_pairs(structure) <= DSATUR_PAIR_LIMIT
        order = "dsatur" if dsatur_affordable else "largest_first"
    if order == "dsatur":
        return _dsatur(*_adjacency(_intersection_graph(structure)))
    return _greedy_columns(structure, _static_column_order(structure, order))


def row_coloring(pattern: Pattern, order: ColumnOrder = "auto") -> NDArray[np.int64]:
    """Colors of the rows of an m x n pattern such that two rows sharing a
    nonzero column differ: the rows of S.T @ J for S = seed_matrix(colors)
    determine J (reverse-mode compression). Same orders as column_coloring."""
    return column_coloring(_as_pattern(pattern).T, order=order)


def seed_matrix(colors: ArrayLike, dtype: DTypeLike = np.float64) -> Array:
    """The n x c 0/1 seed matrix of a coloring: S[j, colors[j]] = 1."""
    colors = np.asarray(colors)
    colors = _as_colors(colors, len(colors) if colors.ndim == 1 else None, "column")
    seeds = np.zeros((len(colors), _num_colors(colors)), dtype=dtype)
    seeds[np.arange(len(colors)), colors] = 1
    return seeds


# --------------------------------------------------------------------------
# Star coloring (Hessians)
# --------------------------------------------------------------------------

def _greedy_star(indices, bounds, order):
    """Greedy star coloring in `order`: each vertex v takes the smallest color
    that makes no path on four vertices through v two-colored, given the colors
    already placed (the rule of Gebremedhin, Manne & Pothen 2007, with per-vertex
    color masks in place of their explicit 2-colored stars).

    twice[x] marks the colors held by at least two colored neighbors of x
    (once[x]: by at least one). Giving v the color of x forms the two-colored path
      v - w - x - y  when x has a second neighbor y of w's color (twice[x]), and
      x - w - v - w' when v has two neighbors w, w' of one color (twice[v]: v
                     would be the hub of their star, so no neighbor of w may
                     take v's color);
    these, with v's neighbors' colors, are exactly the forbidden colors.
    bit[x] is 1 << color of x, 0 while x is uncolored."""
    n = len(bounds) - 1
    bit = [0] * n
    once = [0] * n
    twice = [0] * n
    for v in order:
        forbidden = 0
        twice_v = twice[v]
        neighbors_v = indices[bounds[v]:bounds[v + 1]]
        for w in neighbors_v:
            bit_w = bit[w]
            if not bit_w:
                continue
            forbidden |= bit_w
            neighbors_w = indices[bounds[w]:bounds[w + 1]]
            if twice_v & bit_w:
                for x in neighbors_w:
                    if x != v:
                        forbidden |= bit[x]
            else:
                for x in neighbors_w:
                    if twice[x] & bit_w:
                        forbidden |= bit[x]
        new = 1 << _lowest_clear_bit(forbidden)
        bit[v] = new
        for w in neighbors_v:
            if once[w] & new:
                twice[w] |= new
            else:
                once[w] |= new
    return _colors_of(bit)


def star_coloring(pattern: Pattern, order: StarOrder = "largest_first") -> NDArray[np.int64]:
    """Colors of the n vertices of a symmetric n x n pattern (a Hessian's; it is
    symmetrized and its diagonal assumed) forming a star coloring: adjacent
    vertices differ and every path on four vertices uses at least three colors,
    so decompress_symmetric recovers every H[i, j] from B = H @ seed_matrix(colors).
    A column coloring (distance-2) of the pattern is a star coloring too, but
    star colorings can be far smaller: an arrow pattern (one dense row and
    column) needs 2 colors instead of n; a tri-diagonal one or the 2-D 5-point
    Laplacian needs 3 or 5 either way. Returns int64 colors 0 .. c-1.

    order: "largest_first" (default), "smallest_last" or "natural"."""
    _check_order(order, STAR_ORDERS)
    graph = _without_diagonal(_as_symmetric_pattern(pattern))
    indices, bounds = _adjacency(graph)
    return _greedy_star(indices, bounds, _STAR_ORDERS[order](indices, bounds))


# --------------------------------------------------------------------------
# Decompression
# --------------------------------------------------------------------------

def _as_compressed(compressed, rows, colors, product):
    compressed = np.asarray(compressed)
    expected = (rows, _num_colors(colors))
    if compressed.shape != expected:
        raise ValueError(f"compressed must be the {expected[0]} x {expected[1]} matrix "
                         f"{product} @ seed_matrix(colors); got shape {compressed.shape}")
    if not (np.issubdtype(compressed.dtype, np.number) or compressed.dtype == bool):
        raise TypeError(f"compressed must be numeric; got dtype {compressed.dtype}")
    return compressed


def _in_format(matrix, format):
    if format == "csr":
        return matrix
    if format == "csc":
        return matrix.tocsc()
    if format == "coo":
        return matrix.tocoo()
    return matrix.toarray()


def decompress_columns(compressed: ArrayLike, pattern: Pattern, colors: ArrayLike,
                       format: Format = "csr") -> Sparse:
    """The m x n Jacobian J from compressed = J @ seed_matrix(colors) (m x c):
    J[i, j] = compressed[i, colors[j]] for every structural nonzero (i, j).
    Exact when colors is a column coloring of pattern (check_coloring verifies).

    format: "csr", "csc", "coo" (scipy.sparse csr_array / csc_array /
    coo_array, every structural entry stored, zeros included) or "dense"."""
    _check_format(format)
    structure = _as_pattern(pattern)
    m, n = structure.shape
    colors = _as_colors(colors, n, "column of the pattern")
    compressed = _as_compressed(compressed, m, colors, "J")
    rows = np.repeat(np.arange(m), np.diff(structure.indptr))
    values = compressed[rows, colors[structure.indices]]
    jacobian = sp.csr_array((values, structure.indices, structure.indptr), shape=(m, n))
    return _in_format(jacobian, format)


class _RowColorCounts:
    """How many entries of each row of a pattern have each color: a dense
    (row, color) table when it is not much larger than the pattern (O(nnz)),
    else the sorted distinct (row, color) keys with their counts."""

    def __init__(self, structure, colors):
        self.colors = colors
        self.num_colors = max(_num_colors(colors), 1)
        rows, cols = _entries(structure)
        keys = rows * self.num_colors + colors[cols]
        size = structure.shape[0] * self.num_colors
        if size <= 4 * len(keys) + 4096:
            self.distinct, self.counts = None, np.bincount(keys, minlength=size)
        else:
            self.distinct, self.counts = np.unique(keys, return_counts=True)

    def __call__(self, rows, cols):
        """For each k: the entries of row rows[k] with the color of column cols[k]."""
        wanted = rows * self.num_colors + self.colors[cols]
        if self.distinct is None:
            return self.counts[wanted]
        if len(self.distinct) == 0:
            return np.zeros(len(wanted), dtype=np.int64)
        position = np.minimum(np.searchsorted(self.distinct, wanted), len(self.distinct) - 1)
        return np.where(self.distinct[position] == wanted, self.counts[position], 0)


def _raise_unrecoverable(lower, upper, colors):
    """Name an entry H[i, j] that decompression cannot read, and why (an
    off-diagonal one: a diagonal entry fails only with an off-diagonal one)."""
    k = int(np.argmax(lower != upper))
    i, j = int(lower[k]), int(upper[k])
    if colors[i] == colors[j]:
        reason = f"vertices {i} and {j} are adjacent and both have color {colors[i]}"
    else:
        reason = (f"row {i} has another entry of color {colors[j]} and row {j} another of "
                  f"color {colors[i]}")
    raise ValueError(f"H[{i}, {j}] cannot be recovered: {reason}, so colors is not a star "
                     f"coloring of this pattern (use star_coloring(pattern))")


def decompress_symmetric(compressed: ArrayLike, pattern: Pattern, colors: ArrayLike,
                         format: Format = "csr") -> Sparse:
    """The symmetric n x n Hessian H from compressed = H @ seed_matrix(colors)
    (n x c), for a star coloring of pattern (symmetrized, diagonal included).

    Each pair {i, j} with i >= j is read at compressed[i, colors[j]] when j is
    the only vertex of row i (of the pattern, i itself included) with color
    colors[j], else at compressed[j, colors[i]] when i is the only one of its
    color in row j; both triangles get that one number, so the result is exactly
    symmetric. Raises ValueError if neither holds (colors is then not a star
    coloring of pattern). Formats as for decompress_columns."""
    _check_format(format)
    structure = _as_symmetric_pattern(pattern)
    n = structure.shape[0]
    colors = _as_colors(colors, n, "row/column of the pattern")
    compressed = _as_compressed(compressed, n, colors, "H")
    rows = np.repeat(np.arange(n), np.diff(structure.indptr))
    cols = structure.indices
    lower, upper = np.maximum(rows, cols), np.minimum(rows, cols)
    same_color_in_row = _RowColorCounts(structure, colors)
    direct = same_color_in_row(lower, upper) == 1
    mirrored = same_color_in_row(upper, lower) == 1
    unrecoverable = ~(direct | mirrored)
    if unrecoverable.any():
        _raise_unrecoverable(lower[unrecoverable], upper[unrecoverable], colors)
    values = np.where(direct, compressed[lower, colors[upper]], compressed[upper, colors[lower]])
    hessian = sp.csr_array((values, cols, structure.indptr), shape=(n, n))
    return _in_format(hessian, format)


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------

def _first_shared_color(structure, colors):
    """(row, column, column) of two entries of one row with one color, or None."""
    rows, cols = _entries(structure)
    keys = rows * max(_num_colors(colors), 1) + colors[cols]
    by_key = np.argsort(keys, kind="stable")
    clash = np.flatnonzero(keys[by_key][1:] == keys[by_key][:-1])
    if not clash.size:
        return None
    first, second = by_key[clash[0]], by_key[clash[0] + 1]
    return int(rows[first]), int(cols[first]), int(cols[second])


def _check_columns(structure, colors, line, other):
    shared = _first_shared_color(structure, colors)
    if shared is not None:
        row, a, b = shared
        raise ValueError(
            f"{line}s {a} and {b} both have color {colors[a]} and share {other} {row}: "
            f"their entries would add up in one compressed {line} (use {line}_coloring(pattern))")


def _check_star(structure, colors):
    graph = _without_diagonal(structure)
    rows, cols = _entries(graph)
    same = np.flatnonzero(colors[rows] == colors[cols])
    if same.size:
        i, j = int(rows[same[0]]), int(cols[same[0]])
        raise ValueError(f"vertices {i} and {j} are adjacent (H[{i}, {j}] is in the pattern) "
                         f"and both have color {colors[i]} (use star_coloring(pattern))")
    same_color_in_row = _RowColorCounts(graph, colors)
    ambiguous = (same_color_in_row(rows, cols) >= 2) & (same_color_in_row(cols, rows) >= 2)
    if ambiguous.any():
        k = int(np.argmax(ambiguous))
        i, j = int(rows[k]), int(cols[k])
        before = _other_neighbor_with_color(graph, i, colors[j], j, colors)
        after = _other_neighbor_with_color(graph, j, colors[i], i, colors)
        raise ValueError(
            f"the path {before} - {i} - {j} - {after} uses only colors {colors[j]} and "
            f"{colors[i]}, so H[{i}, {j}] cannot be read from H @ seed_matrix(colors): not a "
            f"star coloring (use star_coloring(pattern))")


def _other_neighbor_with_color(graph, vertex, color, excluded, colors):
    nbrs = graph.indices[graph.indptr[vertex]:graph.indptr[vertex + 1]]
    return int(next(w for w in nbrs if colors[w] == color and w != excluded))


def check_coloring(pattern: Pattern, colors: ArrayLike,
                   kind: Literal["column", "row", "star"] = "column") -> None:
    """Raise ValueError naming a conflict unless `colors` is valid for `pattern`:
    kind="column": no two columns sharing a row have one color;
    kind="row": no two rows sharing a column have one color;
    kind="star": a star coloring of the symmetrized pattern (adjacent vertices
    differ; no path on four vertices uses only two colors)."""
    kinds = ("column", "row", "star")
    if kind not in kinds:
        raise ValueError(f"kind must be one of {kinds}; got {kind!r}")
    if kind == "star":
        structure = _as_symmetric_pattern(pattern)
        _check_star(structure, _as_colors(colors, structure.shape[0], "vertex"))
    elif kind == "column":
        structure = _as_pattern(pattern)
        _check_columns(structure, _as_colors(colors, structure.shape[1], "column"),
                       "column", "row")
    else:
        structure = _as_pattern(pattern).T.tocsr()
        structure.sort_indices()
        _check_columns(structure, _as_colors(colors, structure.shape[1], "row"),
                       "row", "column")
