# Deferred jets: row operations. A batch transform's rows are independent, so
# anything that mixes the numbers of one row only (a reduction along a row axis,
# broadcasting within a row, indexing, np.stack / np.concatenate along a row
# axis, a row times a constant matrix) is a node of the program too. A node's
# numbers of one row are its "lanes" (the row part of its shape, C order); in the
# program's scratch each lane is its own run of the chunk's rows
# (_deferred_programs.pxi), so a row operation reads and writes whole lanes:
#   LANES    lane l of the result is lane table[l, 1] of part table[l, 0]
#            (indexing, reshape, new axes, np.stack, np.concatenate)
#   REDUCE   lane l of the result from the lanes table[l, :] of its operand:
#            a sum (np.sum, np.mean), the element chosen by value (np.max,
#            np.min), a running sum (np.cumsum), a product's value (np.prod)
#   MATMUL   lane l = sum_j lanes table[l, j] times weights[l, j] (x @ W)
# Each does an element's arithmetic in eager's order (np.sum of the buffer adds
# a row's elements one by one from 0; np.prod's derivatives are _pairwise_
# products, reductions.py), so results keep eager's bits. Products (x @ W, an
# einsum of two rows) sum in index order from 0, where eager code hands them to
# BLAS or einsum's own loops: those agree with eager's to rounding.

cdef enum:
    LANES = -3
    REDUCE = -4
    MATMUL = -5

cdef enum:                   # what a REDUCE node computes
    R_SUM = 0
    R_MEAN = 1
    R_MAX = 2
    R_MIN = 3
    R_PRODUCT_VALUE = 4      # a = the pairwise products, b = the operand (the value)
    R_CUMSUM = 5             # table[l] = (the lane before l along the axis or -1, l)

cdef object NO_VALUE = np._NoValue
import operator


cdef bint same_program(list parts):
    """Can these jets be lanes of one program (one sweep, level and number of rows)?"""
    cdef DeferredJet first = <DeferredJet>parts[0], part
    for item in parts:
        if type(item) is not DeferredJet:
            return False
        part = <DeferredJet>item
        if (part.sweep is not first.sweep or not part.shape or part.rows != first.rows
                or part.level is not first.level
                and (part.level.order != first.level.order or part.level.tag1 != first.level.tag1
                     or part.level.tag2 != first.level.tag2)):
            return False
    return True


cdef object constants_as_inputs(list parts):
    """The parts of a join with each constant among deferred jets as an input of their
    program (np.ones((b, 1)) beside x: a bias column); None when there is no deferred jet,
    or a constant that would change the result (another number of rows, a dtype that
    promotes the jets')."""
    cdef DeferredJet proto = None
    for part in parts:
        if type(part) is DeferredJet:
            proto = <DeferredJet>part
            break
    if proto is None:
        return None
    joined = []
    for part in parts:
        if type(part) is not DeferredJet:
            part = constant_input(proto, part)
            if part is None:
                return None
        joined.append(part)
    return joined


cdef object constant_input(DeferredJet proto, object c):
    """Constant c as an input of proto's program: its values gathered as the source's are,
    every derivative part zero (a lane seed of -1), as eager code makes a constant part
    of a join a jet with zero derivatives. None unless c is an array or sequence of
    numbers of proto's number of rows whose dtype leaves the jets' as it is."""
    if type(c) is not cnp.ndarray and type(c) is not list and type(c) is not tuple:
        return None
    try:
        arr = np.asarray(c)
    except (TypeError, ValueError):
        return None
    dtype = proto.level.buf.dtype
    if (arr.ndim == 0 or arr.shape[0] != proto.rows or arr.dtype.kind not in "biuf"
            or np.result_type(dtype, arr) != dtype):
        return None
    return constant_over(proto, np.array(arr, dtype=dtype, order="C", copy=True))  # (copied)


cdef object constant_over(DeferredJet proto, cnp.ndarray values):
    """The input of proto's program holding values (of proto's dtype, with its rows first,
    possibly a broadcast down them, which no one else may write to) and zero derivatives;
    None when a program cannot gather them."""
    cdef DeferredJet d = DeferredJet.__new__(DeferredJet)
    d.level = proto.level
    d.sweep = proto.sweep
    d.row = -1
    d.variant = -1
    d.make_dense = lambda: constant_jet(proto.level, values)
    shape = (<object>values).shape
    seeds = kept(NO_SEED_MAPS, shape,        # (-1 everywhere: a read-only broadcast)
                 lambda: np.broadcast_to(np.full(shape[1:], -1, np.intp), shape))
    key = (shape, (<object>values).strides, values.descr.type_num,
           cnp.PyArray_TYPE(proto.level.buf))
    layout = CONSTANT_LAYOUTS.get(key)
    if layout is None:             # (where each lane is: it depends on the layout only)
        set_seed_views(d, values, seeds)
        layout = (d.lane_offsets, d.lane_seeds, d.row_stride)
        kept(CONSTANT_LAYOUTS, key, lambda: layout)     # (no closure over d: a cycle)
    else:
        d.seed_values, d.seed_map = values, seeds
        set_shape(d, shape)
        d.lane_offsets, d.lane_seeds, d.row_stride = layout
    return None if d.lane_offsets is None else d


cdef dict CONSTANT_LAYOUTS = {}
cdef dict NO_SEED_MAPS = {}


cdef object kept(dict cache, object key, object make):
    """cache[key], made by make() and kept when missing (a cache of at most 64 entries)."""
    found = cache.get(key)
    if found is None:
        if len(cache) >= 64:
            cache.clear()
        found = cache[key] = make()
    return found


cdef _Jet constant_jet(_Jet level, cnp.ndarray values):
    """The jet of level's kind that eager code makes of a constant: zero derivatives."""
    cdef cnp.ndarray buf = np.zeros((<object>values).shape + (level.buf.shape[level.buf.ndim - 1],),
                                    values.dtype)
    buf[..., 0] = values
    cdef _Jet jet = new_like(level, buf)
    set_deps(jet, 0, 0)
    return jet


cdef DeferredJet lanes_node(list parts, object table, tuple shape):
    """The LANES node of shape `shape` whose lane l is lane table[l, 1] of parts[table[l, 0]]."""
    cdef DeferredJet d = pending_node(<DeferredJet>parts[0], LANES, -1, tuple(parts), None, shape)
    d.table = np.ascontiguousarray(table, dtype=np.intp).reshape(-1, 2)
    return bounded(d)


cdef object lane_numbers(DeferredJet a):
    return np.arange(a.lanes, dtype=np.intp).reshape(a.shape[1:])


cdef object pick_lanes(DeferredJet a, object lanes, tuple shape):
    """a's lanes `lanes` (an array of the result's row shape) as a node of `shape`."""
    return picked(a, pick_table(a.shape, lanes, shape), shape)


cdef object pick_table(tuple shape_a, object lanes, tuple shape):
    """pick_lanes's LANES table (one part), or None when it would be the operand itself."""
    flat = np.asarray(lanes, np.intp).reshape(-1)
    if shape == shape_a and np.array_equal(flat, np.arange(flat.size)):
        return None
    return np.stack([np.zeros_like(flat), flat], axis=1)


cdef object picked(DeferredJet a, object table, tuple shape):
    return a if table is None else lanes_node([a], table, shape)


# Recording a row operation derives its lane tables from shapes and arguments only;
# f records the same operations on the same shapes call after call, so the tables
# are kept, keyed by what they depend on: deriving them again would take a large share
# of the time of recording f (see benchmarks/batch.py's newaxis spellings).
cdef dict ROW_PLANS = {}
cdef object NOT_A_ROW_OPERATION = object()


cdef object stored_plan(object key, object plan):
    """plan kept under key; its arrays made read-only (nodes share them)."""
    if len(ROW_PLANS) >= 1024:
        ROW_PLANS.clear()
    for part in (plan if type(plan) is tuple else (plan,)):
        if type(part) is cnp.ndarray:
            part.flags.writeable = False
    ROW_PLANS[key] = plan
    return plan


cdef inline bint int_or_none(object v):
    return v is None or type(v) is int


cdef object key_signature(tuple items):
    """A hashable form of an index of ints, slices of ints, None and Ellipsis (slices
    are not hashable before Python 3.12), or None for anything else."""
    signature = []
    for item in items:
        if item is None or item is Ellipsis or type(item) is int:
            signature.append(item)
        elif type(item) is slice and int_or_none((<slice>item).start) \
                and int_or_none((<slice>item).stop) and int_or_none((<slice>item).step):
            signature.append((slice, item.start, item.stop, item.step))
        else:
            return None
    return tuple(signature)


cdef object shape_of(tuple shape, object function, object argument):
    """The shape of function(an array of `shape`, argument), computed on a broadcast dummy."""
    try:
        return tuple(np.shape(function(np.broadcast_to(np.empty((), np.int8), shape), argument)))
    except (IndexError, ValueError, TypeError):
        return None


cdef object deferred_index(DeferredJet a, object key):
    """a[key] as a LANES node when the key takes all rows (y[:, 0], y[..., None],
    y[:, 1:], y[:, [0, 2]]); None otherwise (a[key] of the computed jet)."""
    if not a.shape:
        return None
    plan = kept_index_plan(a.shape, key)
    if plan is NOT_A_ROW_OPERATION:
        return None
    basic = key_signature(key if type(key) is tuple else (key,)) is not None
    result = picked(a, plan[0], plan[1])
    if result is a and not basic:
        return fresh_copy(a)        # an index of lists taking every lane in order: a copy
    return viewed(a, result, basic)


cdef object kept_index_plan(tuple shape, object key):
    """index_plan, kept for keys of ints, slices, None and Ellipsis."""
    items = key if type(key) is tuple else (key,)
    signature = key_signature(items)
    if signature is None:
        return index_plan(shape, key, items)
    plan = ROW_PLANS.get(("index", shape, signature))
    if plan is None:
        plan = stored_plan(("index", shape, signature), index_plan(shape, key, items))
    return plan


cdef object index_plan(tuple shape_a, object key, tuple items):
    """(table, shape) of a[key] for a of shape_a (see deferred_index), or NOT_A_ROW_OPERATION."""
    advanced = 0
    for item in items:
        if isinstance(item, (list, np.ndarray)):
            if np.asarray(item).dtype.kind not in "iu":
                return NOT_A_ROW_OPERATION
            advanced += 1
        elif not (item is None or item is Ellipsis or type(item) is int or type(item) is slice
                  or isinstance(item, np.integer)):
            return NOT_A_ROW_OPERATION
    if advanced > 1 or not items:
        return NOT_A_ROW_OPERATION
    first = items[0]
    real = sum(1 for item in items if item is not None and item is not Ellipsis)
    if type(first) is slice and first == slice(None):
        rest = items[1:]
    elif first is Ellipsis and len(shape_a) - real >= 1:
        rest = (Ellipsis,) + items[1:]
    else:
        return NOT_A_ROW_OPERATION
    shape = shape_of(shape_a, operator.getitem, key)
    if shape is None or not shape or shape[0] != shape_a[0]:
        return NOT_A_ROW_OPERATION
    lanes = np.arange(math_prod(shape_a[1:]), dtype=np.intp).reshape(shape_a[1:])[rest]
    if (shape_a[0],) + np.shape(lanes) != shape:
        return NOT_A_ROW_OPERATION
    return pick_table(shape_a, lanes, shape), shape


def _row_reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    """np.reshape keeping the rows: the same lanes in the same order."""
    if type(a) is not DeferredJet or order != "C" or copy is False:
        return None
    target = shape_of((<DeferredJet>a).shape, np.reshape, newshape if shape is None else shape)
    return reshaped(<DeferredJet>a, target)


cdef object reshaped(DeferredJet a, object target):
    if target is None or not target or not a.shape or target[0] != a.rows:
        return None
    return viewed(a, pick_lanes(a, np.arange(a.lanes), target), True)


def _row_expand_dims(a, axis):
    if type(a) is not DeferredJet:
        return None
    return reshaped(<DeferredJet>a, shape_of((<DeferredJet>a).shape, np.expand_dims, axis))


cdef object row_axis(object axis, Py_ssize_t ndim):
    """axis (an int) as a row axis >= 1, or None."""
    if type(axis) is not int and not isinstance(axis, np.integer):
        return None
    ax = int(axis)
    if ax < -ndim or ax >= ndim:
        return None
    ax = ax + ndim if ax < 0 else ax
    return ax if ax >= 1 else None


cdef object rows_joined(args, kwargs, bint stack):
    """np.stack / np.concatenate of deferred jets along a row axis, as LANES."""
    if len(args) > 2 or set(kwargs) - {"axis"} or (len(args) == 2 and kwargs):
        return None
    if not args or type(args[0]) not in (list, tuple) or not args[0]:
        return None
    parts = constants_as_inputs(list(args[0]))
    axis = args[1] if len(args) == 2 else kwargs.get("axis", 0)
    if parts is None or not same_program(parts):
        return None
    first = <DeferredJet>parts[0]
    ax = row_axis(axis, len(first.shape) + (1 if stack else 0))
    if ax is None:
        return None
    key = ("join", tuple([(<DeferredJet>part).shape for part in parts]), ax, stack)
    plan = ROW_PLANS.get(key)
    if plan is None:
        plan = stored_plan(key, join_plan(parts, first, ax, stack))
    if plan is NOT_A_ROW_OPERATION:
        return None
    cdef DeferredJet joined = lanes_node(parts, plan[0], plan[1])
    joined.fresh = True              # (a new array: f may write into it)
    return joined


cdef object join_plan(list parts, DeferredJet first, Py_ssize_t ax, bint stack):
    """(table, shape) of rows_joined, or NOT_A_ROW_OPERATION."""
    # Row shapes that join (else not recorded: NumPy's error, eagerly): the same but along
    # the axis (stack: the same)
    k = ax - 1                       # the axis among a row's axes
    row = first.shape[1:]
    sizes = []
    for part in parts:
        other = (<DeferredJet>part).shape[1:]
        if stack and other != row or not stack and (
                len(other) != len(row) or other[:k] != row[:k] or other[k + 1:] != row[k + 1:]):
            return NOT_A_ROW_OPERATION
        sizes.append(1 if stack else other[k])
    # Result lane (o, p, i) in C order: lane o * inner_p + i of part p, o over the
    # axes before the joined one, i over the part's axes from it on.
    outer = math_prod(row[:k])
    inner = [math_prod((<DeferredJet>part).shape[1:][k:]) for part in parts]
    table = [(p, o * inner[p] + i) for o in range(outer) for p in range(len(parts))
             for i in range(inner[p])]
    shape = (first.rows,) + row[:k] + ((len(parts),) + row[k:] if stack
                                       else (sum(sizes),) + row[k + 1:])
    return np.array(table, np.intp).reshape(-1, 2), shape


def _row_stack(*args, **kwargs):
    return rows_joined(args, kwargs, True)


def _row_concatenate(*args, **kwargs):
    return rows_joined(args, kwargs, False)


def _row_column_stack(tup):
    """np.column_stack: rows of one number as columns, the others as they are, joined
    along axis 1."""
    if type(tup) not in (list, tuple):
        return None
    tup = constants_as_inputs(list(tup))
    if tup is None or not all(len((<DeferredJet>p).shape) >= 1 for p in tup):
        return None
    columns = [p[:, None] if len((<DeferredJet>p).shape) == 1 else p for p in tup]
    return rows_joined((columns, 1), {}, False)


def _row_hstack(tup, *, dtype=None, casting="same_kind"):
    """np.hstack of rows that are arrays: np.concatenate along axis 1 (rows of one number
    join along axis 0, across rows: not recorded)."""
    if dtype is not None or type(tup) not in (list, tuple):
        return None
    tup = constants_as_inputs(list(tup))
    if tup is None or not all(len((<DeferredJet>p).shape) >= 2 for p in tup):
        return None
    return rows_joined((tup, 1), {}, False)


# ------------------------------------------------------------------ reductions

cdef object row_axes(DeferredJet a, object axis):
    """axis (an int or a tuple) as sorted row axes >= 1, or None."""
    if axis is None or not a.shape:
        return None
    items = axis if type(axis) is tuple else (axis,)
    axes = []
    for item in items:
        ax = row_axis(item, len(a.shape))
        if ax is None or ax in axes:
            return None
        axes.append(ax)
    return sorted(axes)


cdef object reduce_table(DeferredJet a, list axes, bint keepdims):
    """(table, shape): each result lane's operand lanes (C order of the reduced axes)."""
    key = ("reduce", a.shape, tuple(axes), keepdims)
    plan = ROW_PLANS.get(key)
    return plan if plan is not None else stored_plan(key, new_reduce_table(a, axes, keepdims))


cdef object new_reduce_table(DeferredJet a, list axes, bint keepdims):
    kept = [k for k in range(1, len(a.shape)) if k not in axes]
    lanes = np.transpose(lane_numbers(a), [k - 1 for k in kept] + [k - 1 for k in axes])
    count = math_prod(tuple(a.shape[k] for k in axes))
    shape = tuple(1 if k in axes else a.shape[k] for k in range(len(a.shape))) if keepdims \
        else tuple(a.shape[k] for k in range(len(a.shape)) if k not in axes)
    return np.ascontiguousarray(lanes.reshape(-1, count)), shape


cdef object reduce_node(DeferredJet a, int kind, list axes, bint keepdims):
    table, shape = reduce_table(a, axes, keepdims)
    if table.shape[1] == 0:
        return None                  # empty: as eagerly (its identity, or NumPy's error)
    cdef DeferredJet d = pending_node(a, REDUCE, kind, a, None, shape)
    d.table = table
    return bounded(d)


cdef bint own_dtype(DeferredJet a, object dtype):
    """dtype= of a reduction: none, or the jet's own (which the dense rules ignore too)."""
    try:
        return dtype is None or np.dtype(dtype) == a.level.buf.dtype
    except TypeError:
        return False           # (the dense path raises NumPy's error)


cdef object plain_reduction(a, axis, int kind, dtype=None, out=None, keepdims=False,
                            initial=NO_VALUE, where=NO_VALUE):
    """np.sum / np.mean / np.max / np.min along row axes, as the dense rules compute them
    (reductions.py): where= masks the operand first (np.where with the reduction's
    neutral fill), initial= joins the result after (+ for a sum, np.maximum / np.minimum
    for an extremum)."""
    if (type(a) is not DeferredJet or not own_dtype(<DeferredJet>a, dtype) or out is not None
            or type(keepdims) is not bool):
        return None
    axes = row_axes(<DeferredJet>a, axis)
    if axes is None:
        return None
    masked = masked_operand(<DeferredJet>a, where, REDUCTION_FILL[kind])
    if masked is None:
        return None
    result = reduce_node(<DeferredJet>masked, kind, axes, keepdims)
    if result is None or initial is NO_VALUE or initial is None:
        return result
    return result + initial if kind == R_SUM else REDUCTION_JOIN[kind](result, initial)


# What where= puts in place of a masked element: nothing a sum from 0 gains from (+0:
# a partial sum from +0 is never -0, and p + 0 is p), nothing an extremum picks over a
# kept element; and how initial= joins the result (the dense rules' np.maximum / np.minimum).
cdef dict REDUCTION_FILL = {R_SUM: 0.0, R_MEAN: 0.0, R_MAX: -np.inf, R_MIN: np.inf}
cdef dict REDUCTION_JOIN = {R_MAX: np.maximum, R_MIN: np.minimum}


cdef object masked_operand(DeferredJet a, object where, object fill):
    """a for where=True; else np.where(where, a, fill), recorded, for a boolean where= that
    broadcasts to a's shape (a plain array or a DeferredMask); None for anything else (the
    dense path then takes it, or raises NumPy's error)."""
    if where is NO_VALUE or where is True:
        return a
    if type(where) is DeferredMask:
        shape = where.shape
    elif isinstance(where, _JetProtocol):
        return None
    else:
        mask = np.asarray(where)
        if mask.dtype != np.bool_:
            return None
        shape = mask.shape
    try:
        if tuple(np.broadcast_shapes(shape, a.shape)) != tuple(a.shape):
            return None
    except ValueError:
        return None
    masked = deferred_where(where, a, fill)
    return masked if type(masked) is DeferredJet else None


def _row_sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=NO_VALUE,
                    where=NO_VALUE):
    return plain_reduction(a, axis, R_SUM, dtype, out, keepdims, initial, where)


def _row_mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=NO_VALUE):
    if where is NO_VALUE or where is True:
        return plain_reduction(a, axis, R_MEAN, dtype, out, keepdims, NO_VALUE, NO_VALUE)
    # as reductions.mean: the masked sum over the kept elements' counts
    total = plain_reduction(a, axis, R_SUM, dtype, out, keepdims, NO_VALUE, where)
    if total is None:
        return None
    return total / mean_counts(where, (<DeferredJet>a).shape, axis, keepdims,
                               (<DeferredJet>a).level.buf.dtype)


def mean_counts(where, shape, axis, keepdims, dtype):
    """np.mean's divisors under where=: the kept elements counted per result element,
    as NumPy counts them (where= broadcast to the operand's shape), in the operand's
    dtype (exact below 2**24 elements), so that the sum over them is NumPy's value."""
    kept = np.broadcast_to(np.asarray(where), shape)
    return np.sum(kept, axis=axis, keepdims=keepdims).astype(dtype)


def _row_max(a, axis=None, out=None, keepdims=False, initial=NO_VALUE, where=NO_VALUE):
    return plain_reduction(a, axis, R_MAX, None, out, keepdims, initial, where)


def _row_min(a, axis=None, out=None, keepdims=False, initial=NO_VALUE, where=NO_VALUE):
    return plain_reduction(a, axis, R_MIN, None, out, keepdims, initial, where)


def _row_cumsum(a, axis=None, dtype=None, out=None):
    if type(a) is not DeferredJet or not own_dtype(<DeferredJet>a, dtype) or out is not None:
        return None
    cdef DeferredJet d = <DeferredJet>a
    ax = row_axis(axis, len(d.shape)) if axis is not None and d.shape else None
    if ax is None or d.shape[ax] == 0:
        return None
    lanes = lane_numbers(d)
    before = np.full(lanes.shape, -1, np.intp)
    moved = np.moveaxis(before, ax - 1, 0)       # a view: fills `before`
    moved[1:] = np.moveaxis(lanes, ax - 1, 0)[:-1]
    node = pending_node(d, REDUCE, R_CUMSUM, d, None)
    node.table = np.ascontiguousarray(np.stack([before.reshape(-1), lanes.reshape(-1)], 1))
    return bounded(node)


def _row_prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=NO_VALUE,
                     where=NO_VALUE):
    """reductions.prod's pairwise products on lanes (its derivatives), with the
    value multiplied in order (NumPy's np.prod of the values, as eagerly)."""
    if (type(a) is not DeferredJet or not own_dtype(<DeferredJet>a, dtype) or out is not None
            or initial is not NO_VALUE and initial is not None or type(keepdims) is not bool):
        return None       # (with initial=, NumPy's value multiplies it in first)
    axes = row_axes(<DeferredJet>a, axis)
    masked = None if axes is None else masked_operand(<DeferredJet>a, where, 1.0)
    if masked is None:
        return None
    cdef DeferredJet x = <DeferredJet>masked
    table, shape = reduce_table(x, axes, keepdims)
    kept, count = table.shape
    if count == 0:
        return None
    level = pick_lanes(x, table.T.reshape(-1), (x.rows, count * kept))
    while count > 1:
        half = count // 2
        head = deferred_binary(I_MUL, pick_lanes(level, np.arange(half * kept), (x.rows, half * kept)),
                               pick_lanes(level, np.arange(half * kept, 2 * half * kept),
                                          (x.rows, half * kept)))
        if count % 2:
            table2 = [(0, l) for l in range(half * kept)] + [
                (1, l) for l in range(2 * half * kept, count * kept)]
            head = lanes_node([head, level], np.array(table2), (x.rows, (half + 1) * kept))
        level, count = head, (count + 1) // 2 if count % 2 else half
    cdef DeferredJet d = pending_node(x, REDUCE, R_PRODUCT_VALUE, level, x, shape)
    d.table = table
    return bounded(d)


# ------------------------------------------------------------------ products

cdef object deferred_matmul(object x, object w):
    """x @ W, x a deferred jet, W a constant vector or matrix of x's dtype."""
    if type(x) is not DeferredJet or type(w) is not cnp.ndarray:
        return None
    cdef DeferredJet a = <DeferredJet>x
    W = <cnp.ndarray>w
    if len(a.shape) < 2 or W.dtype != a.level.buf.dtype or W.ndim not in (1, 2) \
            or W.shape[0] != a.shape[-1]:
        return None
    n = a.shape[-1]
    p = 1 if W.ndim == 1 else W.shape[1]
    key = ("matmul", a.shape, p)
    table = ROW_PLANS.get(key)
    if table is None:
        lanes = lane_numbers(a).reshape(-1, n)                   # (outer, n)
        table = stored_plan(key, np.ascontiguousarray(np.repeat(lanes, p, axis=0)))  # (outer * p, n)
    outer = table.shape[0] // p
    weights = np.asarray(W).reshape(n, p).T
    # (a copy either way: f may write into W after recording the product)
    weights = np.tile(weights, (outer, 1)) if outer > 1 else np.array(weights, order="C")
    shape = a.shape[:-1] + (() if W.ndim == 1 else (p,))
    if table.shape[1] == 0:
        return None
    cdef DeferredJet d = pending_node(a, MATMUL, -1, a, weights, shape)
    d.table = table
    return bounded(d)


cdef object deferred_left_matmul(object w, object x):
    """W @ X per row: W a constant (p, n) matrix of X's dtype, X a deferred jet whose rows
    end in (n, k) (a column x[..., None] when k = 1): row lane (o, i, c) is
    sum_j W[i, j] X[o, j, c]."""
    if type(x) is not DeferredJet or type(w) is not cnp.ndarray:
        return None
    cdef DeferredJet a = <DeferredJet>x
    W = <cnp.ndarray>w
    if len(a.shape) < 3 or W.dtype != a.level.buf.dtype or W.ndim != 2 or W.shape[1] != a.shape[-2]:
        return None
    p, n, k = W.shape[0], a.shape[-2], a.shape[-1]
    if n == 0:
        return None
    key = ("left matmul", a.shape, p)
    table = ROW_PLANS.get(key)
    if table is None:
        lanes = lane_numbers(a).reshape(-1, n, k).transpose(0, 2, 1)       # (outer, k, n)
        outer = lanes.shape[0]
        table = stored_plan(key, np.ascontiguousarray(
            np.broadcast_to(lanes[:, None], (outer, p, k, n)).reshape(-1, n)))
    outer = table.shape[0] // (p * k)
    # (a copy: f may write into W after recording the product)
    weights = np.array(np.broadcast_to(W[None, :, None, :], (outer, p, k, n)).reshape(-1, n),
                       order="C")
    cdef DeferredJet d = pending_node(a, MATMUL, -1, a, weights, a.shape[:-2] + (p, k))
    d.table = table
    return bounded(d)


cdef object row_product(object x1, object x2):
    """x1 @ x2 with one a deferred jet and the other a constant matrix (either side)."""
    if type(x1) is DeferredJet and type(x2) is DeferredJet:
        return rows_matmul(x1, x2)           # (_deferred_compositions.pxi)
    if type(x1) is DeferredJet:
        return deferred_matmul(x1, x2)
    return deferred_left_matmul(x1, x2)


def _row_matmul(x1, x2, *args, **kwargs):
    return None if args or kwargs else row_product(x1, x2)


def _row_einsum(subscripts, *operands, out=None, optimize=False, dtype=None, **kwargs):
    """np.einsum of a row with a constant matrix ("bi,ij->bj": x @ W; "ij,bj->bi" and
    "bj,ij->bi": x @ W.T) or of two rows of one shape ("bi,bi->b": a product summed over
    row axes). Eager einsum sums each
    derivative part on its own: the two agree to rounding, as matrix products do."""
    if len(operands) != 2 or out is not None or dtype is not None or kwargs:
        return None
    x, y = operands
    # (implicit outputs and leading ellipses spelled out: "...i,...i" is "bi,bi->b")
    parsed = explicit_specs(subscripts, tuple(len((<DeferredJet>a).shape) if type(a) is DeferredJet
                                              else np.ndim(a) for a in operands))
    if parsed is None:
        return None
    (s0, s1), output = parsed
    if type(x) is not DeferredJet and type(y) is DeferredJet:     # the constant first
        x, y, s0, s1 = y, x, s1, s0
    if type(x) is not DeferredJet or not (<DeferredJet>x).shape or len(s0) != len((<DeferredJet>x).shape):
        return None
    if type(y) is DeferredJet:     # a product summed over row axes ("bi,bi->b")
        if s0 != s1 or (<DeferredJet>y).shape != (<DeferredJet>x).shape or not output \
                or output[0] != s0[0] or any(c not in s0 for c in output) \
                or [c for c in s0 if c in output] != list(output):
            # other products of two rows ("bij,bjk->bik"): _deferred_compositions.pxi
            return row_einsum_of_jets(s0, s1, output, x, y)
        product = deferred_binary(I_MUL, x, y)
        axes = tuple(k for k, c in enumerate(s0) if c not in output)
        return product if not axes or product is None else _row_sum(product, axes)
    if type(y) is cnp.ndarray and len(s1) == 2 and s0[-1] in s1 and output == s0[:-1] + s1.replace(s0[-1], ""):
        new = s1.replace(s0[-1], "")
        if new and new not in s0:       # "bi,ij->bj": x @ W; "bj,ij->bi" / "ij,bj->bi": x @ W.T
            return deferred_matmul(x, y if s1[0] == s0[-1] else y.T)
    return None


# What a DeferredJet's __array_function__ records (each returns None for
# anything else: the dense jet's handler then runs on the computed jets).
cdef dict ROW_FUNCTIONS = {
    np.stack: _row_stack, np.concatenate: _row_concatenate, np.reshape: _row_reshape,
    np.column_stack: _row_column_stack, np.hstack: _row_hstack,
    np.expand_dims: _row_expand_dims, np.sum: _row_sum, np.mean: _row_mean,
    np.max: _row_max, np.amax: _row_max, np.min: _row_min, np.amin: _row_min,
    np.prod: _row_prod, np.cumsum: _row_cumsum,
    np.matmul: _row_matmul, np.einsum: _row_einsum, np.where: _row_where, np.clip: _row_clip,
}


# ------------------------------------------------------------------ running row operations

cdef void lanes_step(Step* st, const real* scratch, real* out, Py_ssize_t per_slot,
                     Py_ssize_t chunk, Py_ssize_t K, Py_ssize_t cs, Py_ssize_t m) noexcept nogil:
    """LANES: each result lane a copy of a lane of a part (table: slot, lane)."""
    cdef Py_ssize_t l, s
    cdef const real* src
    for l in range(st.lanes):
        src = scratch + st.table[2 * l] * per_slot + st.table[2 * l + 1] * chunk
        for s in range(K):
            memcpy(out + s * cs + l * chunk, src + s * cs, m * sizeof(real))


cdef inline void row_sums(const real* a, const Py_ssize_t* lanes, const real* weights,
                          Py_ssize_t width, Py_ssize_t chunk, Py_ssize_t K, Py_ssize_t cs,
                          Py_ssize_t m, real* d) noexcept nogil:
    if real is double:
        dj_row_sums_double(a, lanes, weights, width, chunk, K, cs, m, d)
    else:
        dj_row_sums_float(a, lanes, weights, width, chunk, K, cs, m, d)


cdef inline void mean_of_sums(real* d, Py_ssize_t K, Py_ssize_t cs, Py_ssize_t m,
                              Py_ssize_t count) noexcept nogil:
    """Each sum divided by count, as np.mean divides. When count is a power of two its
    reciprocal is exact and x * (1 / count) is the same correctly rounded number as
    x / count, at a multiplication's cost (a division takes several times as long)."""
    cdef Py_ssize_t s, e
    cdef real divisor = <real>count, scale = <real>1 / <real>count
    if count & (count - 1) == 0:
        for s in range(K):
            for e in range(m):
                d[s * cs + e] = d[s * cs + e] * scale
    else:
        for s in range(K):
            for e in range(m):
                d[s * cs + e] = d[s * cs + e] / divisor


cdef void reduce_step(Step* st, const real* a, const real* b, real* out, Py_ssize_t chunk,
                      Py_ssize_t K, Py_ssize_t cs, Py_ssize_t m) noexcept nogil:
    """REDUCE and MATMUL: result lane l from a's lanes table[l, :] (b: a product's
    operand, whose values are multiplied in order)."""
    cdef Py_ssize_t l, j, s, e, w = st.width, pick
    cdef const Py_ssize_t* lanes
    cdef const real* x
    cdef const real* weights = <const real*>st.weights
    cdef real* d
    cdef real best, v
    for l in range(st.lanes):
        lanes = st.table + l * w
        d = out + l * chunk
        if st.op == R_CUMSUM and st.weights == NULL:
            x = a + lanes[1] * chunk
            for s in range(K):
                if lanes[0] < 0:
                    memcpy(d + s * cs, x + s * cs, m * sizeof(real))
                else:
                    for e in range(m):
                        d[s * cs + e] = out[lanes[0] * chunk + s * cs + e] + x[s * cs + e]
            continue
        if st.weights != NULL or st.op == R_SUM or st.op == R_MEAN:
            # x @ W and np.sum: from 0 in index order (src_c/include/row_sums.h)
            row_sums(a, lanes, weights + l * w if st.weights != NULL else <const real*>NULL, w,
                     chunk,
                     K, cs, m, d)
            if st.weights == NULL and st.op == R_MEAN:
                mean_of_sums(d, K, cs, m, w)
            continue
        if st.op == R_PRODUCT_VALUE:                 # pairwise derivatives, value in order
            for s in range(K):
                memcpy(d + s * cs, a + l * chunk + s * cs, m * sizeof(real))
            for e in range(m):
                d[e] = b[lanes[0] * chunk + e]
            for j in range(1, w):
                for e in range(m):
                    d[e] = d[e] * b[lanes[j] * chunk + e]
            continue
        for e in range(m):                           # np.argmax / np.argmin's element
            pick = lanes[0]
            best = a[pick * chunk + e]
            for j in range(1, w):
                if best != best:
                    break
                v = a[lanes[j] * chunk + e]
                if (v > best if st.op == R_MAX else v < best) or v != v:
                    pick = lanes[j]
                    best = v
            for s in range(K):
                d[s * cs + e] = a[pick * chunk + s * cs + e]
