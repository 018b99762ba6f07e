"""Graph coloring and decompression (dualjac.coloring) against outside witnesses:
color counts known in closed form (bands, the 5-point stencil, paths, stars),
validity checked by direct definitions written here (no two columns of one color
in a row; no two-colored path on four vertices, by enumeration) and by SciPy's
sparse finite differences, and exact recovery of random matrices from their
products with the seed matrix."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dualjac import coloring

FORMATS = ("csr", "csc", "coo", "dense")


# --------------------------------------------------------------------------
# Patterns with known colorings, and the definitions the colorings must meet
# --------------------------------------------------------------------------

def band(m, n, width):
    """m x n pattern with `width` consecutive nonzeros per full row, around the diagonal."""
    i, j = np.arange(m)[:, None], np.arange(n)[None, :]
    return sp.csr_array((j - i >= -(width // 2)) & (j - i <= (width - 1) // 2))


def five_point_stencil(k):
    """Jacobian pattern of the 5-point stencil on a k x k grid (row-major)."""
    identity = sp.eye_array(k, dtype=bool)
    chain = sp.diags_array([np.ones(k - 1), np.ones(k), np.ones(k - 1)], offsets=[-1, 0, 1],
                           dtype=bool)
    return sp.csr_array(sp.kron(chain, identity) + sp.kron(identity, chain))


def arrow(n):
    """One dense row and column plus the diagonal (the star graph K_{1, n-1})."""
    pattern = np.eye(n, dtype=bool)
    pattern[0, :] = pattern[:, 0] = True
    return pattern


def random_pattern(rng, m, n, density):
    return sp.random_array((m, n), density=density, rng=rng, format="csr").astype(bool)


def random_symmetric_pattern(rng, n, density):
    half = random_pattern(rng, n, n, density)
    return sp.csr_array(half + half.T + sp.eye_array(n, dtype=bool))


def assert_columns_orthogonal(pattern, colors):
    """Definition: no row holds two nonzeros in columns of one color."""
    dense = sp.csr_array(pattern).toarray() != 0
    for row in dense:
        row_colors = colors[np.flatnonzero(row)]
        assert len(set(row_colors.tolist())) == len(row_colors)


def assert_star_coloring(pattern, colors):
    """Definition: adjacent vertices differ and no path on four vertices
    (enumerated) uses only two colors."""
    dense = sp.csr_array(pattern).toarray() != 0
    dense = (dense | dense.T) & ~np.eye(len(dense), dtype=bool)
    neighbors = [np.flatnonzero(row).tolist() for row in dense]
    for a in range(len(dense)):
        for b in neighbors[a]:
            assert colors[a] != colors[b]
            for c in neighbors[b]:
                for d in neighbors[c]:
                    if len({a, b, c, d}) == 4:
                        assert len({colors[a], colors[b], colors[c], colors[d]}) >= 3


def random_values_on(pattern, rng, symmetric=False):
    """Dense matrix with random values on the pattern's entries, a quarter of
    them exact zeros (stored entries that must stay stored)."""
    structure = sp.csr_array(pattern).toarray() != 0
    values = rng.standard_normal(structure.shape) * structure
    values[rng.random(structure.shape) < 0.25] = 0.0
    if symmetric:
        values = np.tril(values) + np.tril(values, -1).T
    return values


# --------------------------------------------------------------------------
# Column coloring: counts with closed forms
# --------------------------------------------------------------------------

@pytest.mark.parametrize("order", coloring.COLUMN_ORDERS)
@pytest.mark.parametrize("width", range(1, 8))
def test_band_of_width_w_needs_w_colors(width, order):
    # A full row holds w columns, so w colors are needed; j mod w shows w suffice.
    for shape in [(30, 30), (40, 30), (30, 40), (300, 300)]:
        pattern = band(*shape, width)
        colors = coloring.column_coloring(pattern, order=order)
        assert colors.dtype == np.int64 and colors.shape == (shape[1],)
        assert colors.max() + 1 == width
        assert_columns_orthogonal(pattern, colors)


@pytest.mark.parametrize("order", ["auto", "dsatur", "smallest_last"])
@pytest.mark.parametrize("k", [5, 20, 60])
def test_five_point_stencil_needs_five_colors(k, order):
    # Each row is a plus of 5 columns (so >= 5); (a + 2 b) mod 5 shows 5 suffice.
    pattern = five_point_stencil(k)
    colors = coloring.column_coloring(pattern, order=order)
    assert colors.max() + 1 == 5
    assert_columns_orthogonal(pattern, colors)


def test_auto_order_falls_back_to_largest_first_on_costly_patterns(monkeypatch):
    rng = np.random.default_rng(8)
    pattern = random_pattern(rng, 60, 50, 0.2)
    monkeypatch.setattr(coloring, "DSATUR_PAIR_LIMIT", 0)
    colors = coloring.column_coloring(pattern)
    assert np.array_equal(colors, coloring.column_coloring(pattern, order="largest_first"))
    assert_columns_orthogonal(pattern, colors)
    stencil = five_point_stencil(20)
    assert np.array_equal(coloring.column_coloring(stencil),
                          coloring.column_coloring(stencil, order="largest_first"))
    assert coloring.column_coloring(band(50, 50, 4)).max() + 1 == 4


@pytest.mark.parametrize("order", coloring.COLUMN_ORDERS)
def test_every_order_colors_validly(order):
    rng = np.random.default_rng(1)
    for pattern in [five_point_stencil(7), band(20, 25, 4), random_pattern(rng, 30, 40, 0.1)]:
        colors = coloring.column_coloring(pattern, order=order)
        assert_columns_orthogonal(pattern, colors)
        assert set(colors.tolist()) == set(range(colors.max() + 1))


def test_dense_block_needs_one_color_per_column():
    colors = coloring.column_coloring(np.ones((4, 9), dtype=bool))
    assert sorted(colors.tolist()) == list(range(9))


def test_empty_pattern_uses_one_color_and_decompresses_to_zeros():
    pattern = sp.csr_array((6, 4), dtype=bool)
    colors = coloring.column_coloring(pattern)
    assert colors.tolist() == [0, 0, 0, 0]
    assert coloring.seed_matrix(colors).shape == (4, 1)
    jacobian = coloring.decompress_columns(np.zeros((6, 1)), pattern, colors)
    assert jacobian.shape == (6, 4) and jacobian.nnz == 0
    assert np.array_equal(jacobian.toarray(), np.zeros((6, 4)))


def test_no_columns_use_no_colors():
    colors = coloring.column_coloring(np.zeros((3, 0), dtype=bool))
    assert colors.shape == (0,)
    assert coloring.seed_matrix(colors).shape == (0, 0)
    assert coloring.decompress_columns(np.zeros((3, 0)), np.zeros((3, 0)), colors).shape == (3, 0)


def test_pattern_formats_agree():
    # The stored entries are the structure, whatever their values or format.
    rng = np.random.default_rng(2)
    reference = random_pattern(rng, 25, 30, 0.15)
    dense = reference.toarray()
    spellings = [dense, dense.astype(float), sp.csr_matrix(dense), sp.csc_array(reference),
                 sp.lil_array(reference), sp.dia_array(reference), dense.tolist()]
    coo = sp.coo_array(reference)
    doubled = sp.coo_array((np.r_[coo.data, coo.data], (np.r_[coo.row, coo.row],
                                                        np.r_[coo.col, coo.col])), shape=coo.shape)
    spellings.append(doubled)
    expected = coloring.column_coloring(reference)
    for spelling in spellings:
        assert np.array_equal(coloring.column_coloring(spelling), expected)


def test_seed_matrix_is_the_one_hot_of_the_colors():
    colors = np.array([2, 0, 1, 0, 2])
    expected = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]], dtype=float)
    assert np.array_equal(coloring.seed_matrix(colors), expected)
    assert coloring.seed_matrix(colors, dtype=np.int8).dtype == np.int8


# --------------------------------------------------------------------------
# Row coloring
# --------------------------------------------------------------------------

def test_row_coloring_recovers_rows_from_transposed_compression():
    rng = np.random.default_rng(3)
    pattern = random_pattern(rng, 40, 25, 0.12)
    colors = coloring.row_coloring(pattern)
    assert colors.shape == (40,)
    assert_columns_orthogonal(pattern.T, colors)
    jacobian = random_values_on(pattern, rng)
    compressed = coloring.seed_matrix(colors).T @ jacobian
    recovered = coloring.decompress_columns(compressed.T, pattern.T, colors, format="dense").T
    assert np.array_equal(recovered, jacobian)
    assert coloring.row_coloring(band(30, 30, 3)).max() + 1 == 3


# --------------------------------------------------------------------------
# Star coloring: counts with closed forms, against distance-2 coloring
# --------------------------------------------------------------------------

@pytest.mark.parametrize("order", coloring.STAR_ORDERS)
def test_tridiagonal_hessian_needs_three_colors(order):
    # A path on >= 4 vertices: 2 colors would two-color the path itself.
    pattern = band(40, 40, 3)
    colors = coloring.star_coloring(pattern, order=order)
    assert colors.max() + 1 == 3
    assert_star_coloring(pattern, colors)


@pytest.mark.parametrize("flip", [False, True])
def test_arrow_hessian_needs_two_colors(flip):
    # The hub alone in one color, every leaf in the other; distance-2 needs n.
    pattern = arrow(30)[::-1, ::-1] if flip else arrow(30)
    colors = coloring.star_coloring(pattern)
    assert colors.max() + 1 == 2
    assert_star_coloring(pattern, colors)
    assert coloring.column_coloring(pattern).max() + 1 == 30


@pytest.mark.parametrize("k", [5, 20, 60])
def test_laplacian_star_coloring_meets_the_grid_bound(k):
    # Grids have star chromatic number 5 (Fertin, Raspaud & Reed 2004); the
    # distance-2 coloring (always a star coloring) also needs 5 here.
    pattern = five_point_stencil(k)
    colors = coloring.star_coloring(pattern)
    assert colors.max() + 1 <= 5
    assert colors.max() + 1 <= coloring.column_coloring(pattern).max() + 1
    coloring.check_coloring(pattern, colors, kind="star")
    if k == 5:
        assert_star_coloring(pattern, colors)


def test_star_coloring_of_random_hessians_is_valid_and_not_worse_than_distance_two():
    rng = np.random.default_rng(4)
    for n, density in [(30, 0.03), (30, 0.1), (40, 0.05)]:
        pattern = random_symmetric_pattern(rng, n, density)
        colors = coloring.star_coloring(pattern)
        assert_star_coloring(pattern, colors)
        distance_two = coloring.column_coloring(pattern)
        assert_star_coloring(pattern, distance_two)
        assert colors.max() <= distance_two.max()


def test_upper_triangle_pattern_is_symmetrized():
    pattern = sp.triu(sp.csr_array(arrow(12)))
    colors = coloring.star_coloring(pattern)
    assert_star_coloring(arrow(12), colors)
    assert colors.max() + 1 == 2


# --------------------------------------------------------------------------
# Exact decompression
# --------------------------------------------------------------------------

@pytest.mark.parametrize("shape,density", [((30, 20), 0.05), ((20, 30), 0.2), ((50, 50), 0.02),
                                           ((1, 15), 0.5), ((15, 1), 0.5)])
def test_jacobian_decompresses_exactly_in_every_format(shape, density):
    rng = np.random.default_rng(hash((shape, density)) % 2**32)
    dense_pattern = random_pattern(rng, *shape, density).toarray()
    dense_pattern[0, :] = False  # an empty row
    dense_pattern[:, -1] = shape[1] == 1  # an empty column (unless it is the only one)
    pattern = sp.csr_array(dense_pattern)
    colors = coloring.column_coloring(pattern)
    jacobian = random_values_on(pattern, rng)
    compressed = jacobian @ coloring.seed_matrix(colors)
    for format in FORMATS:
        recovered = coloring.decompress_columns(compressed, pattern, colors, format=format)
        dense = recovered if format == "dense" else recovered.toarray()
        assert np.array_equal(dense, jacobian)
        if format != "dense":
            assert recovered.format == format and isinstance(recovered, sp.sparray)
            assert recovered.nnz == pattern.nnz


def test_colors_serve_as_scipy_column_groups():
    # SciPy's sparse finite differences (complex step) with our colors as its
    # column groups reproduce the analytic Jacobian of f(x) = A x^2 + sin x.
    from scipy.optimize._numdiff import approx_derivative
    rng = np.random.default_rng(9)
    n = 60
    coupling = sp.csr_array(sp.random_array((n, n), density=0.05, rng=rng)
                            + sp.eye_array(n))
    pattern = coupling != 0
    colors = coloring.column_coloring(pattern)
    x = rng.standard_normal(n)
    analytic = coupling.toarray() * (2 * x) + np.diag(np.cos(x))
    scipy_jacobian = approx_derivative(lambda z: coupling @ z**2 + np.sin(z), x, method="cs",
                                       sparsity=(pattern, colors))
    assert np.allclose(scipy_jacobian.toarray(), analytic, rtol=1e-13, atol=1e-13)
    ours = coloring.decompress_columns(analytic @ coloring.seed_matrix(colors), pattern, colors)
    assert np.array_equal(ours.toarray(), analytic)


def test_decompressed_structure_is_the_pattern_whatever_the_values():
    # Structural entries whose value is 0.0 stay stored, so repeated calls with
    # one pattern give identical structures.
    rng = np.random.default_rng(5)
    pattern = random_pattern(rng, 40, 30, 0.1)
    colors = coloring.column_coloring(pattern)
    expected = {"csr": sp.csr_array(pattern), "csc": sp.csc_array(pattern)}
    for values in [random_values_on(pattern, rng), np.zeros(pattern.shape)]:
        compressed = values @ coloring.seed_matrix(colors)
        for format, reference in expected.items():
            recovered = coloring.decompress_columns(compressed, pattern, colors, format=format)
            assert np.array_equal(recovered.indptr, reference.indptr)
            assert np.array_equal(recovered.indices, reference.indices)
        coo = coloring.decompress_columns(compressed, pattern, colors, format="coo")
        assert set(zip(*coo.coords)) == set(zip(*pattern.nonzero()))


def test_numeric_pattern_with_stored_zeros_keeps_them():
    jacobian = sp.csr_array((np.array([0.0, 2.0, 0.0]), (np.array([0, 1, 2]), np.array([0, 1, 0]))),
                            shape=(3, 2))
    colors = coloring.column_coloring(jacobian)
    compressed = jacobian.toarray() @ coloring.seed_matrix(colors)
    recovered = coloring.decompress_columns(compressed, jacobian, colors)
    assert recovered.nnz == 3
    assert np.array_equal(recovered.toarray(), jacobian.toarray())


@pytest.mark.parametrize("n,density", [(20, 0.05), (40, 0.08), (60, 0.02), (1, 1.0)])
def test_hessian_decompresses_exactly_and_symmetrically(n, density):
    rng = np.random.default_rng(n)
    pattern = random_symmetric_pattern(rng, n, density)
    colors = coloring.star_coloring(pattern)
    hessian = random_values_on(pattern, rng, symmetric=True)
    compressed = hessian @ coloring.seed_matrix(colors)
    for format in FORMATS:
        recovered = coloring.decompress_symmetric(compressed, pattern, colors, format=format)
        dense = recovered if format == "dense" else recovered.toarray()
        assert np.array_equal(dense, hessian)
        if format != "dense":
            assert recovered.nnz == pattern.nnz


@pytest.mark.parametrize("k", [5, 20])
def test_laplacian_hessian_decompresses_exactly(k):
    pattern = five_point_stencil(k)
    hessian = 4 * np.eye(k * k) - (pattern.toarray() & ~np.eye(k * k, dtype=bool))
    colors = coloring.star_coloring(pattern)
    recovered = coloring.decompress_symmetric(hessian @ coloring.seed_matrix(colors), pattern,
                                              colors)
    assert np.array_equal(recovered.toarray(), hessian)


def test_symmetric_decompression_reads_each_pair_once():
    # With an asymmetric H the two triangles cannot both be right; the result is
    # still exactly symmetric, each pair taken from the lower triangle's reading.
    pattern = band(6, 6, 3)
    colors = coloring.star_coloring(pattern)
    rng = np.random.default_rng(6)
    values = random_values_on(pattern, rng)
    recovered = coloring.decompress_symmetric(values @ coloring.seed_matrix(colors), pattern,
                                              colors, format="dense")
    assert np.array_equal(recovered, recovered.T)


def test_distance_two_colors_also_decompress_hessians():
    rng = np.random.default_rng(7)
    pattern = random_symmetric_pattern(rng, 30, 0.08)
    colors = coloring.column_coloring(pattern)
    hessian = random_values_on(pattern, rng, symmetric=True)
    recovered = coloring.decompress_symmetric(hessian @ coloring.seed_matrix(colors), pattern,
                                              colors, format="dense")
    assert np.array_equal(recovered, hessian)


# --------------------------------------------------------------------------
# Property tests over random patterns
# --------------------------------------------------------------------------

@st.composite
def patterns(draw, square=False):
    m = draw(st.integers(1, 10))
    n = m if square else draw(st.integers(1, 10))
    cells = draw(st.lists(st.booleans(), min_size=m * n, max_size=m * n))
    return np.array(cells, dtype=bool).reshape(m, n)


@settings(max_examples=60, deadline=None)
@given(patterns(), st.sampled_from(coloring.COLUMN_ORDERS), st.integers(0, 2**32 - 1))
def test_property_column_coloring_recovers_every_jacobian(pattern, order, seed):
    colors = coloring.column_coloring(pattern, order=order)
    assert_columns_orthogonal(pattern, colors)
    coloring.check_coloring(pattern, colors)
    jacobian = random_values_on(pattern, np.random.default_rng(seed))
    recovered = coloring.decompress_columns(jacobian @ coloring.seed_matrix(colors), pattern,
                                            colors, format="dense")
    assert np.array_equal(recovered, jacobian)


@settings(max_examples=60, deadline=None)
@given(patterns(square=True), st.sampled_from(coloring.STAR_ORDERS), st.integers(0, 2**32 - 1))
def test_property_star_coloring_recovers_every_hessian(pattern, order, seed):
    colors = coloring.star_coloring(pattern, order=order)
    assert_star_coloring(pattern, colors)
    coloring.check_coloring(pattern, colors, kind="star")
    symmetric = pattern | pattern.T | np.eye(len(pattern), dtype=bool)
    hessian = random_values_on(symmetric, np.random.default_rng(seed), symmetric=True)
    recovered = coloring.decompress_symmetric(hessian @ coloring.seed_matrix(colors), pattern,
                                              colors, format="dense")
    assert np.array_equal(recovered, hessian)


@settings(max_examples=60, deadline=None)
@given(patterns(square=True), st.integers(0, 2**32 - 1))
def test_property_check_coloring_agrees_with_the_definitions(pattern, seed):
    # Random colorings with few colors: valid and invalid ones both occur.
    colors = np.random.default_rng(seed).integers(0, 3, size=len(pattern))
    for kind, definition in [("column", assert_columns_orthogonal),
                             ("star", assert_star_coloring)]:
        try:
            definition(pattern, colors)
            valid = True
        except AssertionError:
            valid = False
        if valid:
            coloring.check_coloring(pattern, colors, kind=kind)
        else:
            with pytest.raises(ValueError):
                coloring.check_coloring(pattern, colors, kind=kind)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

def test_check_coloring_names_a_column_conflict():
    pattern = np.array([[1, 0, 1], [0, 1, 0]], dtype=bool)
    coloring.check_coloring(pattern, [0, 0, 1])
    with pytest.raises(ValueError, match=r"columns 0 and 2 both have color 0 and share row 0"):
        coloring.check_coloring(pattern, [0, 1, 0])
    with pytest.raises(ValueError, match=r"rows 0 and 1 both have color 0 and share column 1"):
        coloring.check_coloring(np.array([[1, 1], [0, 1]]), [0, 0], kind="row")


def test_check_coloring_names_a_two_colored_path():
    path = band(4, 4, 3)
    with pytest.raises(ValueError, match=r"vertices 1 and 2 are adjacent .* both have color 1"):
        coloring.check_coloring(path, [0, 1, 1, 0], kind="star")
    with pytest.raises(ValueError, match=r"the path 0 - 1 - 2 - 3 uses only colors"):
        coloring.check_coloring(path, [0, 1, 0, 1], kind="star")
    with pytest.raises(ValueError, match=r"H\[2, 1\] cannot be recovered: row 2 has another"):
        coloring.decompress_symmetric(np.zeros((4, 2)), path, [0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"H\[1, 0\] cannot be recovered: vertices 1 and 0 are"):
        coloring.decompress_symmetric(np.zeros((3, 1)), np.ones((3, 3)), [0, 0, 0])


def test_bad_arguments_are_named():
    pattern = band(5, 5, 3)
    colors = coloring.column_coloring(pattern)
    cases = [
        (lambda: coloring.column_coloring(pattern, order="random"), ValueError, "order must be"),
        (lambda: coloring.star_coloring(pattern, order="dsatur"), ValueError, "order must be"),
        (lambda: coloring.column_coloring(np.ones(5)), ValueError, "must be a 2-D"),
        (lambda: coloring.column_coloring(np.array([["a"]])), TypeError, "bool or numeric"),
        (lambda: coloring.star_coloring(np.ones((2, 3))), ValueError, "must be square"),
        (lambda: coloring.decompress_columns(np.zeros((5, 2)), pattern, colors), ValueError,
         r"5 x 3 matrix J @ seed_matrix\(colors\)"),
        (lambda: coloring.decompress_columns(np.zeros((5, 3)), pattern, colors[:4]), ValueError,
         r"one color per column of the pattern \(5\)"),
        (lambda: coloring.decompress_columns(np.zeros((5, 3)), pattern, colors, format="bsr"),
         ValueError, "format must be one of"),
        (lambda: coloring.seed_matrix([0.0, 1.5]), TypeError, "colors must be integers"),
        (lambda: coloring.seed_matrix([0, -1]), ValueError, "colors must be >= 0"),
        (lambda: coloring.check_coloring(pattern, colors, kind="acyclic"), ValueError,
         "kind must be one of"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
