# Read-out of colored sweeps of a sum of local terms (dualjac/_sparse_hessian.py).
#
# A term element's lanes are its value, one derivative per color and the derivative along the
# probe seed. Each color lane is the derivative with respect to the one source of that color
# the element depends on, so it is added to that source's gradient entry; the probe lane must
# equal the colored lanes weighted by those sources' probe weights, or f's structure changed
# since it was traced. One pass over the lanes does both (NumPy needed a copy, a gather, a
# bincount and six passes for the check).


@cython.boundscheck(False)
@cython.wraparound(False)
def add_term_gradient(const real[:, :] lanes, double scale,
                      const cnp.int64_t[:, ::1] source_of, const double[:, ::1] probe_weight,
                      Py_ssize_t first, double[::1] gradient, double tolerance):
    """Add scale * lanes[e, 1 + a] to gradient[source_of[first + e, a]] for every element e
    and color a that has a source, and check the probe lane (the last) of every element.

    Returns (excess, largest): the largest |colored - probed| - tolerance * magnitude over the
    elements (NaN and inf are not disagreements) and the largest finite magnitude; the caller
    refuses the sweep when excess > tolerance * largest over all terms."""
    cdef Py_ssize_t m = lanes.shape[0], colors = source_of.shape[1], e, a, r
    cdef cnp.int64_t j
    cdef double v, weighted, along, probed, magnitude, excess = -INFINITY, largest = 0.0
    if lanes.shape[1] != colors + 2 or first < 0 or first + m > source_of.shape[0]:
        raise ValueError("add_term_gradient: lanes do not match the plan")
    with nogil:
        for e in range(m):
            r = first + e
            along = 0.0
            magnitude = 0.0
            for a in range(colors):
                j = source_of[r, a]
                if j < 0:
                    continue
                v = scale * lanes[e, 1 + a]
                gradient[j] += v
                weighted = v * probe_weight[r, a]
                along += weighted
                magnitude += fabs(weighted)
            probed = scale * lanes[e, 1 + colors]
            magnitude += fabs(probed)
            if fabs(along - probed) - tolerance * magnitude > excess:
                excess = fabs(along - probed) - tolerance * magnitude
            if isfinite(magnitude) and magnitude > largest:
                largest = magnitude
    return excess, largest
