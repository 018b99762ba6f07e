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
- Cost: column coloring is O(sum over rows of nnz(row)^2) (the column
  intersection graph is built as P.T @ P); star coloring is O(sum over vertices
  of the degrees of their neighbors); decompression is O(nnz) plus one sort.
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["column_coloring", "row_coloring", "star_coloring", "seed_matrix",
           "decompress_columns", "decompress_symmetric", "check_coloring",
           "COLUMN_ORDERS", "STAR_ORDERS", "FORMATS"]

COLUMN_ORDERS = ("dsatur", "largest_first", "smallest_last", "natural")
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


def _neighbor_lists(graph):
    """Adjacency lists (Python lists: the greedy loops index them one vertex at a
    time, where lists are several times faster than NumPy scalars)."""
    indices = graph.indices.tolist()
    bounds = graph.indptr.tolist()
    return [indices[start:stop] for start, stop in zip(bounds, bounds[1:])]


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

def _largest_first(neighbors):
    """Vertices by decreasing degree, ties in natural order."""
    degrees = np.fromiter(map(len, neighbors), dtype=np.int64, count=len(neighbors))
    return np.argsort(-degrees, kind="stable").tolist()


def _smallest_last(neighbors):
    """Matula & Beck: repeatedly remove a vertex of least remaining degree; color
    in the reverse order of removal (each vertex then has few colored neighbors
    when it is colored)."""
    n = len(neighbors)
    degree = [len(nbrs) for nbrs in neighbors]
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
        for w in neighbors[v]:
            if not removed[w]:
                del buckets[degree[w]][w]
                degree[w] -= 1
                buckets[degree[w]][w] = None
    return removal[::-1]


_STATIC_ORDERS = {"largest_first": _largest_first, "smallest_last": _smallest_last,
                  "natural": lambda neighbors: range(len(neighbors))}


# --------------------------------------------------------------------------
# Distance-1 greedy coloring (of the column intersection graph)
# --------------------------------------------------------------------------

def _smallest_color_not_in(forbidden):
    color = 0
    while color in forbidden:
        color += 1
    return color


def _greedy(neighbors, order):
    """Each vertex in `order` takes the smallest color none of its colored
    neighbors has (uncolored ones read as -1, never a color)."""
    color = [-1] * len(neighbors)
    for v in order:
        color[v] = _smallest_color_not_in(set(map(color.__getitem__, neighbors[v])))
    return color


def _dsatur(neighbors):
    """Greedy in saturation order (Brelaz): next is an uncolored vertex whose
    colored neighbors show the most distinct colors. On stencils this follows
    the grid like a wave and finds the optimal 5 colors of the 2-D 5-point
    stencil, where every static order needs 6 or 7.

    Vertices wait in one bucket per saturation (insertion-ordered dicts, popped
    from the end: among equally saturated vertices the one reached last goes
    first, which keeps the wave compact); vertex 0 starts."""
    n = len(neighbors)
    color = [-1] * n
    seen = [set() for _ in range(n)]
    buckets = [dict.fromkeys(range(n - 1, -1, -1))]
    top = 0
    for _ in range(n):
        while not buckets[top]:
            top -= 1
        v, _ = buckets[top].popitem()
        new = _smallest_color_not_in(seen[v])
        color[v] = new
        for w in neighbors[v]:
            colors_near_w = seen[w]
            if color[w] < 0 and new not in colors_near_w:
                saturation = len(colors_near_w)
                del buckets[saturation][w]
                colors_near_w.add(new)
                if saturation + 1 == len(buckets):
                    buckets.append({})
                buckets[saturation + 1][w] = None
                top = max(top, saturation + 1)
    return color


def column_coloring(pattern, order="dsatur"):
    """Colors of the columns of an m x n sparsity pattern such that two columns
    sharing a nonzero row differ (a distance-2 coloring of the bipartite graph,
    i.e. a coloring of the column intersection graph). Returns an int64 array of
    length n with colors 0 .. c-1.

    order: "dsatur" (default: saturation order, w colors for a band of width w
    and 5 for the 2-D 5-point stencil), or a static greedy order:
    "largest_first", "smallest_last", "natural" (cheaper, often more colors)."""
    _check_order(order, COLUMN_ORDERS)
    structure = _as_pattern(pattern)
    intersection = (structure.T @ structure).tocsr()
    intersection.sort_indices()
    neighbors = _neighbor_lists(intersection)
    if order == "dsatur":
        colors = _dsatur(neighbors)
    else:
        colors = _greedy(neighbors, _STATIC_ORDERS[order](neighbors))
    return np.array(colors, dtype=np.int64)


def row_coloring(pattern, order="dsatur"):
    """Colors of the rows of an m x n pattern such that two rows sharing a
    nonzero column differ: the rows of S.T @ J for S = seed_matrix(colors)
    determine J (reverse-mode compression). Same orders as column_coloring."""
    return column_coloring(_as_pattern(pattern).T, order=order)


def seed_matrix(colors, dtype=np.float64):
    """The n x c 0/1 seed matrix of a coloring: S[j, colors[j]] = 1."""
    colors = np.asarray(colors)
    colors = _as_colors(colors, len(colors) if colors.ndim == 1 else None, "column")
    seeds = np.zeros((len(colors), _num_colors(colors)), dtype=dtype)
    seeds[np.arange(len(colors)), colors] = 1
    return seeds


# --------------------------------------------------------------------------
# Star coloring (Hessians)
# --------------------------------------------------------------------------

def _greedy_star(neighbors, order):
    """Greedy star coloring in `order`: each vertex v takes the smallest color
    that makes no path on four vertices through v two-colored, given the colors
    already placed (the rule of Gebremedhin, Manne & Pothen 2007, with per-vertex
    color tallies in place of their explicit 2-colored stars).

    tally[x][c] counts the colored neighbors of x with color c. Giving v the
    color of x forms the two-colored path
      v - w - x - y  when x has a second neighbor y of w's color
                     (tally[x][color[w]] >= 2), and
      x - w - v - w' when v has two neighbors w, w' of one color
                     (tally[v][color[w]] >= 2: v would be the hub of their star);
    these, with v's neighbors' colors, are exactly the forbidden colors."""
    n = len(neighbors)
    color = [-1] * n
    tally = [{} for _ in range(n)]
    for v in order:
        forbidden = set()
        tally_v = tally[v]
        for w in neighbors[v]:
            color_w = color[w]
            if color_w < 0:
                continue
            forbidden.add(color_w)
            v_would_be_hub = tally_v[color_w] >= 2
            for x in neighbors[w]:
                color_x = color[x]
                if color_x >= 0 and x != v and (v_would_be_hub or tally[x][color_w] >= 2):
                    forbidden.add(color_x)
        new = _smallest_color_not_in(forbidden)
        color[v] = new
        for w in neighbors[v]:
            tally[w][new] = tally[w].get(new, 0) + 1
    return color


def star_coloring(pattern, order="largest_first"):
    """Colors of the n vertices of a symmetric n x n pattern (a Hessian's; it is
    symmetrized and its diagonal assumed) forming a star coloring: adjacent
    vertices differ and every path on four vertices uses at least three colors,
    so decompress_symmetric recovers every H[i, j] from B = H @ seed_matrix(colors).
    Uses about half the colors of a column coloring of the same pattern on
    stencils (tri-diagonal: 3; arrow: 2). Returns int64 colors 0 .. c-1.

    order: "largest_first" (default), "smallest_last" or "natural"."""
    _check_order(order, STAR_ORDERS)
    graph = _without_diagonal(_as_symmetric_pattern(pattern))
    neighbors = _neighbor_lists(graph)
    colors = _greedy_star(neighbors, _STATIC_ORDERS[order](neighbors))
    return np.array(colors, dtype=np.int64)


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


def decompress_columns(compressed, pattern, colors, format="csr"):
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


def _same_color_counts(structure, colors, rows, cols):
    """For each k: how many entries of row rows[k] of the pattern have the color
    of column cols[k] (one sort of the pattern's (row, color) keys)."""
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64)
    num_colors = _num_colors(colors)
    entry_rows, entry_cols = _entries(structure)
    distinct, counts = np.unique(entry_rows * num_colors + colors[entry_cols], return_counts=True)
    wanted = rows * num_colors + colors[cols]
    position = np.minimum(np.searchsorted(distinct, wanted), len(distinct) - 1)
    return np.where(distinct[position] == wanted, counts[position], 0)


def decompress_symmetric(compressed, pattern, colors, format="csr"):
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
    direct = _same_color_counts(structure, colors, lower, upper) == 1
    mirrored = _same_color_counts(structure, colors, upper, lower) == 1
    unrecoverable = ~(direct | mirrored)
    if unrecoverable.any():
        k = int(np.argmax(unrecoverable))
        i, j = int(lower[k]), int(upper[k])
        raise ValueError(
            f"H[{i}, {j}] cannot be recovered: row {i} has another entry of color "
            f"{colors[j]} and row {j} another of color {colors[i]}, so colors is not a star "
            f"coloring of this pattern (use star_coloring(pattern))")
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
    ambiguous = ((_same_color_counts(graph, colors, rows, cols) >= 2)
                 & (_same_color_counts(graph, colors, cols, rows) >= 2))
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


def check_coloring(pattern, colors, kind="column"):
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
