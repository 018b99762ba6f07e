# The source of a deferred sweep and its views before they are seeded: each element's
# values and seed numbers, and, for the programs' gathers, each lane's offset and seed
# (src_c/_deferred.pxi records the operations on them).


cdef DeferredJet seed_input(object array, _Jet level, object make_dense, object sweep):
    """The seeded source as an input that is not seeded yet: level is a jet of
    the transform (its first row, seeded), make_dense() seeds the whole source."""
    cdef DeferredJet d = DeferredJet.__new__(DeferredJet)
    d.level = level
    d.make_dense = make_dense
    d.sweep = sweep
    d.row = -1
    d.variant = -1
    d.deps1 = jdeps1(level)
    d.deps2 = jdeps2(level)
    set_seed_views(d, array, seed_map_of((<object>array).shape), True)
    return d


cdef dict SEED_MAPS = {}


cdef cnp.ndarray seed_map_of(tuple shape):
    """Each element's seed number for a batch source of this shape (the row's flat
    index, repeated down the batch axis: a read-only broadcast view), kept for reuse."""
    cdef object found = SEED_MAPS.get(shape)
    if found is None:
        if len(SEED_MAPS) >= 32:
            SEED_MAPS.clear()
        row_shape = shape[1:]
        seeds = np.arange(math_prod(row_shape), dtype=np.intp).reshape(row_shape)
        found = SEED_MAPS[shape] = np.broadcast_to(seeds, shape)
    return <cnp.ndarray>found


cdef DeferredJet seed_view(DeferredJet parent, object key):
    """parent[key] for a source not seeded yet: the same index on its values and seeds."""
    cdef DeferredJet d = DeferredJet.__new__(DeferredJet)
    d.level = parent.level
    d.parent = parent
    d.key = key
    d.sweep = parent.sweep
    d.row = -1
    d.variant = -1
    d.deps1 = parent.deps1
    d.deps2 = parent.deps2
    # (an integer index gives NumPy scalars: 0-d arrays then)
    values = np.asarray(parent.seed_values[key])
    set_seed_views(d, values, seeds_of_view(parent, key, values))
    return d


cdef bint has_array_item(tuple key):
    for item in key:
        if type(item) is list or type(item) is cnp.ndarray:
            return True
    return False


cdef bint has_ellipsis(tuple items):
    """Ellipsis among the items (by identity: `in` would compare index arrays)."""
    for item in items:
        if item is Ellipsis:
            return True
    return False


cdef cnp.ndarray seeds_of_view(DeferredJet parent, object key, cnp.ndarray values):
    """The seed of each element of parent[key]. A fancy index that takes every row and
    picks within them (x[:, [0, 2]], np.take(x, i, axis=1)) copies the seed map; its
    rows are the first row's, kept as a broadcast view so that the view stays seeded
    (a basic index keeps the map's broadcast rows by itself)."""
    if type(key) is tuple and len(key) > 1 and values.ndim >= 1 and has_array_item(<tuple>key):
        if type(key[0]) is slice and key[0] == slice(None):
            first_row = (slice(0, 1),) + key[1:]
        elif key[0] is Ellipsis and not has_ellipsis(key[1:]):
            first_row = (slice(0, 1),) + key        # (an error if ... stands for no axis)
        else:
            first_row = None
        if first_row is not None:
            try:
                first = np.asarray(parent.seed_map[first_row])
            except IndexError:
                first = None
            if (first is not None and first.ndim == values.ndim
                    and first.shape[1:] == (<object>values).shape[1:]):
                return np.broadcast_to(first, (<object>values).shape)
    return np.asarray(parent.seed_map[key])


cdef void set_seed_views(DeferredJet d, cnp.ndarray values, cnp.ndarray seed_map,
                         bint whole_source=False) except *:
    """d's seeded values: the elements' values and seed numbers (seed_map), and, when the
    seed does not vary down the rows, each lane's offset and seed for the programs.
    whole_source: seed_map is the source's own (seed_map_of), whose lanes depend on the
    shape and strides only, and are kept."""
    d.seed_values = values
    d.seed_map = seed_map
    set_shape(d, (<object>values).shape)
    d.lane_offsets = d.lane_seeds = None
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(values), k
    if values.descr.type_num != cnp.PyArray_TYPE(d.level.buf) or values.size == 0:
        return
    for k in range(values.ndim):
        if values.strides[k] % itemsize:
            return
    if values.ndim and values.shape[0] > 1 and seed_map.strides[0] != 0:
        return                            # the seed varies down the rows (x.T, x[0])
    if values.ndim == 0:
        d.row_stride = 0
        d.lane_offsets = ZERO_OFFSET
        d.lane_seeds = seed_array(<Py_ssize_t>seed_map[()])
        return
    d.row_stride = values.strides[0] // itemsize
    if values.ndim == 1:             # (a column x[:, j]: no NumPy calls)
        d.lane_offsets = ZERO_OFFSET
        d.lane_seeds = seed_array(<Py_ssize_t>seed_map[0])
        return
    if not whole_source:
        d.lane_offsets, d.lane_seeds = lane_layout(values, seed_map)
        return
    key = ((<object>values).shape[1:], (<object>values).strides[1:], itemsize)
    layout = SOURCE_LAYOUTS.get(key)
    if layout is None:
        if len(SOURCE_LAYOUTS) >= 64:
            SOURCE_LAYOUTS.clear()
        layout = SOURCE_LAYOUTS[key] = lane_layout(values, seed_map)
    d.lane_offsets, d.lane_seeds = layout


cdef dict SOURCE_LAYOUTS = {}     # the whole source's lanes (offsets, seeds) by row shape and strides


cdef tuple lane_layout(cnp.ndarray values, cnp.ndarray seed_map):
    """(offsets, seeds) of the lanes of rows of two or more axes: each lane's offset from
    the first one (items) and its seed, read-only (kept and shared)."""
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(values)
    offsets = np.zeros((1,) + (<object>values).shape[1:], np.intp)
    for k in range(1, values.ndim):
        step = np.arange(values.shape[k], dtype=np.intp) * (values.strides[k] // itemsize)
        offsets = offsets + step.reshape((-1,) + (1,) * (values.ndim - 1 - k))
    offsets = np.ascontiguousarray(offsets.reshape(-1))
    seeds = np.ascontiguousarray(np.asarray(seed_map[:1], np.intp).reshape(-1))
    offsets.flags.writeable = False
    seeds.flags.writeable = False
    return offsets, seeds


cdef object ZERO_OFFSET = np.zeros(1, np.intp)
cdef object NO_SEED = np.full(1, -1, np.intp)
NO_SEED.flags.writeable = False
cdef list SEED_ARRAYS = []


cdef object seed_array(Py_ssize_t seed):
    """[seed] as a read-only intp array, kept for reuse (-1: no seed, a constant's lane)."""
    if seed < 0:
        return NO_SEED
    while len(SEED_ARRAYS) <= seed:
        one = np.full(1, len(SEED_ARRAYS), np.intp)
        one.flags.writeable = False
        SEED_ARRAYS.append(one)
    return SEED_ARRAYS[seed]
