# Deferred jets: writes into an array of f's own. NumPy code often fills or updates a
# new array in place: `out = np.empty_like(x); out[:, 0] = ...`, `y = x * 2; y += 1`,
# `y = np.sin(x); y[y < 0] = 0`. A pending node is written the way NumPy's memory would
# be: the write records a new node (a LANES join of the old contents and the written
# lanes, an np.where for a boolean mask, the operator for `+=`), and the DeferredJet the
# user holds takes the new node's place, while its old contents move to a node of their
# own that the new one reads. So every name of the array sees the write, and every
# result computed from it before the write keeps the values it had, as with NumPy.
#
# A write is recorded only when that is exactly NumPy's semantics:
#   - the jet is a new array (`fresh`): a result of arithmetic, a reduction, np.where,
#     np.stack / np.concatenate, a copy, np.zeros_like / ones_like / full_like /
#     empty_like, an index of lists, or an earlier write; never the source or a view of
#     it. A write into a view of a new array (a basic index, a reshape, a transpose) is
#     that array's write of the lanes the view shows (write_through_view);
#   - every node that reads it (`consumers`: pending nodes holding it as an operand, kept
#     exact as nodes are made, computed and freed; a computed LANES node counts for good)
#     is reached from the written value or the mask (those are computed before the
#     write: they are moved onto the old contents), or is a view of it that nothing reads
#     (it shows the write, as NumPy's views do); no other view reads it;
#   - no comparison result not computed yet holds it, but the mask written with, and
#     its values were not read out (`.value`, `.compute()`: views of them, eagerly)
#     (`holders`);
#   - it is pending, and its own transform is running (f inside the transform).
# A write that cannot be recorded (a value of another kind, `y[x > 0] = g(x[x > 0])`) into
# such an array that nothing reads and nothing holds is made on an ordinary jet of its
# own: the array is computed once into a writable copy, which takes every later write
# (np.piecewise's loop). Anything else raises as before (deferred_write_error: f runs again
# on ordinary jets).


cdef bint in_own_transform(DeferredJet d):
    for root in ACTIVE_ROOTS:
        if root is d.sweep:
            return True
    return False


cdef object readers_from(DeferredJet d, tuple roots, object allowed=None,
                         bint resting_skipped=False):
    """The nodes below roots (not below d) that read d, each once per reference; None
    when one of them is a view of d (a LANES node that is not a new array) other than
    `allowed`. resting_skipped: views of d that nothing reads (resting_views counts
    them) are not readers, unless the written value (roots[0]) is one."""
    found, seen, stack = [], set(), list(roots)
    while stack:
        item = stack.pop()
        if type(item) is DeferredMask:
            item = (<object>item).node
        elif type(item) is DeferredTranspose:
            item = (<object>item).rows
        if type(item) is not DeferredJet or item is d or id(item) in seen:
            continue
        seen.add(id(item))
        node = <DeferredJet>item
        if node.dense is not None or node.row == -1:
            continue
        for operand in operands_of(node):
            if operand is d:
                if node.row == LANES and not node.fresh and node is not allowed:
                    if resting_skipped and node is not roots[0] and node.parent is d \
                            and node.consumers == 0 and node.holders == 0:
                        continue
                    return None
                found.append(node)
            else:
                stack.append(operand)
    return found


# Frames searched for the jets f's variables hold (held_by_frames): f's own and those it
# was called from, up to the transform's, and a margin for helpers f calls.
cdef Py_ssize_t MAX_FRAMES = 64


cdef tuple held_by_frames():
    """The deferred jets held by the variables of the running Python frames (and inside
    the lists, tuples and dicts they hold, one level in): where the results computed from
    an array before a write into it are, when the written value does not reach them."""
    found = []
    frame = sys._getframe(0)
    cdef Py_ssize_t depth = 0
    while frame is not None and depth < MAX_FRAMES:
        try:
            held = list(frame.f_locals.values())
        except Exception:        # (exec's locals may be any mapping: not searched)
            held = []
        for item in held:
            if type(item) is list or type(item) is tuple:
                found.extend(item)
            elif type(item) is dict:
                found.extend((<dict>item).values())
            else:
                found.append(item)
        frame = frame.f_back
        depth += 1
    return tuple(v for v in found if type(v) is DeferredJet or type(v) is DeferredMask
                 or type(v) is DeferredTranspose)


cdef object replaced(object operand, DeferredJet d, DeferredJet old):
    if operand is d:
        return old
    if type(operand) is tuple:
        return tuple(old if p is d else p for p in operand)
    return operand


cdef class MovedReads:
    """The readers of d moved onto old (undone if the write is not recorded after all)."""
    cdef list saved
    cdef Py_ssize_t moved

    def __cinit__(self):
        self.saved = []
        self.moved = 0

    cdef void move(self, list readers, DeferredJet d, DeferredJet old):
        cdef DeferredJet r
        for r in readers:
            if any(s[0] is r for s in self.saved):
                continue
            self.saved.append((r, r.a, r.b))
            r.a = replaced(r.a, d, old)
            r.b = replaced(r.b, d, old)
        self.moved = len(readers)
        old.consumers += self.moved
        d.consumers -= self.moved

    cdef void undo(self, DeferredJet d, DeferredJet old):
        cdef DeferredJet r
        for r, a, b in self.saved:
            r.a, r.b = a, b
        d.consumers += self.moved
        old.consumers -= self.moved


cdef DeferredJet node_copy(DeferredJet source, DeferredJet target):
    """target with source's contents (what it computes and how), as a pending node."""
    target.level, target.dense, target.shape, target.count = (
        source.level, source.dense, source.shape, source.count)
    target.row, target.variant, target.a, target.b = source.row, source.variant, source.a, source.b
    target.amap, target.bmap, target.table = source.amap, source.bmap, source.table
    target.rows, target.lanes, target.sweep = source.rows, source.lanes, source.sweep
    target.make_dense, target.parent, target.key = source.make_dense, source.parent, source.key
    target.seed_values, target.seed_map = source.seed_values, source.seed_map
    target.lane_offsets, target.lane_seeds = source.lane_offsets, source.lane_seeds
    target.row_stride, target.pending = source.row_stride, source.pending
    target.mark, target.number, target.known_values = source.mark, source.number, source.known_values
    target.deps1, target.deps2 = source.deps1, source.deps2
    return target


cdef void count_reads(DeferredJet node, Py_ssize_t step):
    operands = operands_of(node)
    if operands is None:         # (cleared by the cyclic garbage collector)
        return
    for operand in operands:
        if type(operand) is DeferredJet:
            (<DeferredJet>operand).consumers += step


cdef void count_reads_released(DeferredJet node):
    """node is computed: its operands lose its reads (publish drops them). A LANES node
    keeps them: it may be a view, which NumPy would show a later write, and its computed
    jet is a copy."""
    if node.row != LANES and (node.a is not None or node.b is not None):
        count_reads(node, -1)


cdef object write(DeferredJet d, object value, object mask, object make_new, object dense_write,
                  str what):
    """d's write: make_new(old, value) is the written array's node, from the old contents
    (old) and the written value (its reads of d moved onto old), or None when it cannot be
    recorded; dense_write(jet) makes the write on an ordinary jet."""
    if not (d.fresh and in_own_transform(d)):
        raise deferred_write_error(d, what)
    with GRAPH_LOCK:
        if d.dense is None and record_write(d, value, mask, make_new):
            return d
        if d.consumers == 0 and d.holders == 0 and own_dense(d):
            dense_write(d.dense)
            return d
    raise deferred_write_error(d, what)


cdef bint own_dense(DeferredJet d) except -1:
    """d's computed jet as a writable jet of its own (made once; d.dense is read-only when
    anything else computed it, and someone may hold it)."""
    if d.dense is None:
        d.dense = computed(d).copy()
        return True
    return (<_Jet>d.dense).buf.flags.writeable


cdef bint record_write(DeferredJet d, object value, object mask, object make_new,
                       object allowed=None) except -1:
    """The write recorded (see write): True, or False with nothing changed. `allowed` is a
    view of d that may be among the readers moved; d's views that nothing reads stay on d,
    and show the write (as NumPy's views do)."""
    readers = readers_from(d, (value, mask), allowed)
    if readers is not None and len(readers) + resting_views(d, readers) != d.consumers:
        # results computed from d before the write that the value does not reach (z = y
        # * 2; y += 1): found from f's variables, they move onto the old contents too
        readers = readers_from(d, (value, mask) + held_by_frames(), allowed, True)
    held = 0 if type(mask) is not DeferredMask else (
        ((<object>mask).x is d) + ((<object>mask).y is d))
    if readers is None or len(readers) + resting_views(d, readers) != d.consumers \
            or d.holders != held:
        return False
    old = node_copy(d, DeferredJet.__new__(DeferredJet))
    moves = MovedReads()
    moves.move(readers, d, old)
    new = None if make_new is None else make_new(old, old if value is d else value)
    if type(new) is not DeferredJet or (<DeferredJet>new).shape != d.shape \
            or (<DeferredJet>new).level is not d.level or new is old:
        moves.undo(d, old)
        return False
    if type(mask) is DeferredMask:     # (it holds the old contents now)
        if (<object>mask).x is d:
            (<object>mask).x = old
        if (<object>mask).y is d:
            (<object>mask).y = old
        d.holders -= held
        old.holders += held
    node_copy(<DeferredJet>new, d)
    if d.dense is None:
        count_reads(d, 1)        # (new itself may stay alive, reading the same operands)
    return True


cdef object write_item(DeferredJet d, object key, object value):
    """d[key] = value, recorded (see write) or refused."""
    if is_view(d):
        return write_through_view(d, key, value, -1, "item assignment")
    if shows_itself(d, key, value):
        return d                     # y[k] = y[k] (the end of y[k] += v): nothing to write
    def dense_write(jet):
        jet[dense_tree(key)] = value
    if type(key) is DeferredMask or type(key) is cnp.ndarray and key.dtype == np.bool_:
        return write(d, None, key, lambda old, _: masked_write(old, key, value), dense_write,
                     "item assignment")
    plan = kept_index_plan(d.shape, key) if d.shape else NOT_A_ROW_OPERATION
    make_new = None if plan is NOT_A_ROW_OPERATION else (
        lambda old, v: lanes_written(old, plan, v))
    return write(d, value, None, make_new, dense_write, "item assignment")


cdef object masked_write(DeferredJet old, object mask, object value):
    """old with value where mask is true: np.where(mask, value, old) for a mask of old's
    shape and a number (what NumPy's y[mask] = number writes)."""
    if mask.shape != old.shape or isinstance(value, _JetProtocol) or np.ndim(value) != 0:
        return None
    number = np.asarray(value)
    if number.dtype.kind not in "biuf":
        return None
    return deferred_where(mask, number.astype(old.level.buf.dtype).item(), old)   # (cast as NumPy)


cdef object lanes_written(DeferredJet old, object plan, object value):
    """old with the lanes of plan (index_plan of the key) replaced by value's (a jet of
    the transform, or a constant, broadcast to the indexed shape as NumPy does)."""
    table, shape = plan
    selected = identity_table(old.lanes)[:, 1] if table is None else table[:, 1]
    written = broadcast_value(old, value, shape)
    if written is None:
        return None
    if old.row == LANES and old.consumers == 0 and old.holders == 0:
        # old is itself a join nothing else reads (an earlier write, a new array): one
        # join of its parts and the written lanes, without the parts left unread
        return joined_lanes(list(old.a), old.table, selected, written, old.shape)
    return joined_lanes([old], identity_table(old.lanes), selected, written, old.shape)


cdef object joined_lanes(list parts, object table, object selected, DeferredJet written,
                         tuple shape):
    """The LANES node of `parts` by `table` with the lanes `selected` taken from written
    instead (in order; a repeated lane: the last), without the parts left unread. (Small
    tables: C loops, as NumPy's calls on them would take most of the time.)"""
    cdef const Py_ssize_t[:, ::1] source = table
    cdef const Py_ssize_t[::1] chosen = np.ascontiguousarray(selected, dtype=np.intp)
    cdef Py_ssize_t lanes = source.shape[0], n = len(parts), l, k, kept = 0
    joined = np.empty((lanes, 2), np.intp)
    cdef Py_ssize_t[:, ::1] out = joined
    for l in range(lanes):
        out[l, 0], out[l, 1] = source[l, 0], source[l, 1]
    for k in range(chosen.shape[0]):
        out[chosen[k], 0], out[chosen[k], 1] = n, k
    parts.append(written)
    cdef Py_ssize_t small[16]
    cdef Py_ssize_t* number = small
    cdef Py_ssize_t[::1] large
    if n >= 16:
        large = np.empty(n + 1, np.intp)
        number = &large[0]
    for k in range(n + 1):
        number[k] = -1
    for l in range(lanes):
        if number[out[l, 0]] < 0:
            number[out[l, 0]] = 0
    used = []
    for k in range(n + 1):
        if number[k] == 0:
            number[k] = kept
            kept += 1
            used.append(parts[k])
    for l in range(lanes):
        out[l, 0] = number[out[l, 0]]
    return lanes_node(used, joined, shape)


cdef list IDENTITY_TABLES = []


cdef object identity_table(Py_ssize_t lanes):
    """The LANES table of one part's lanes in order ((0, l) for each lane l), read-only,
    kept for reuse."""
    while len(IDENTITY_TABLES) <= min(lanes, 256):
        n = len(IDENTITY_TABLES)
        table = np.stack([np.zeros(n, np.intp), np.arange(n, dtype=np.intp)], 1)
        table.flags.writeable = False
        IDENTITY_TABLES.append(table)
    if lanes <= 256:
        return IDENTITY_TABLES[lanes]
    return np.stack([np.zeros(lanes, np.intp), np.arange(lanes, dtype=np.intp)], 1)


cdef object broadcast_value(DeferredJet old, object value, tuple shape):
    """value as a node of `shape` (the indexed part of old): a deferred jet of old's
    transform broadcast within its rows, or a constant (zero derivatives, cast to old's
    dtype as NumPy's assignment casts it); None for anything else."""
    cdef DeferredJet v
    if type(value) is DeferredJet:
        v = <DeferredJet>value
        if (v.sweep is not old.sweep or v.level is not old.level or len(v.shape) != len(shape)
                or v.shape[0] != shape[0]):
            return None
        if v.shape == shape:
            return v
        try:
            lanes = np.broadcast_to(lane_numbers(v), shape[1:])
        except ValueError:
            return None
        return pick_lanes(v, lanes, shape)
    return None if isinstance(value, _JetProtocol) else constant_node(old, value, shape)


cdef object constant_node(DeferredJet proto, object value, tuple shape):
    """A new pending array of `shape` (proto's rows) holding value (numbers broadcast to
    shape, copied and cast to proto's dtype, as NumPy's assignment casts) with zero
    derivatives, as eager code makes a constant; None for anything else. A value without
    rows of its own is read down the rows from one copy."""
    dtype = proto.level.buf.dtype
    if type(value) is int or type(value) is float:      # (np.zeros_like: kept rows)
        # (a float by its bits: -0.0 == 0.0 as keys)
        number = value.hex() if type(value) is float else value
        values = kept(NUMBER_ROWS, (shape, dtype, number),
                      lambda: np.broadcast_to(np.array(value, dtype), shape))
    else:
        try:
            values = np.asarray(value)
            if values.dtype.kind not in "biuf":
                return None
            values = np.broadcast_to(np.array(values, dtype=dtype), shape)
        except (ValueError, TypeError):
            return None
    constant = constant_over(proto, values)
    return None if constant is None else fresh_copy(<DeferredJet>constant)


# A number read down every lane and row (read-only broadcasts), per shape, dtype and number.
cdef dict NUMBER_ROWS = {}


cdef object write_update(DeferredJet d, int op, object other, str spelling):
    """d op= other, recorded as d = d op other (the same kernel as eager's update)."""
    if is_view(d) and op in (I_ADD, I_SUB, I_MUL, I_DIV, I_POW):
        return write_through_view(d, Ellipsis, other, op, "an in-place operator")
    def dense_write(jet):
        jet._update(op, dense_tree(other), spelling)
    make_new = (lambda old, v: deferred_binary(op, old, v)) if op in (
        I_ADD, I_SUB, I_MUL, I_DIV, I_POW) else None
    return write(d, other, None, make_new, dense_write, "an in-place operator")


cdef object ufunc_into(object ufunc, tuple inputs, object out):
    """ufunc(*inputs, out=out): into a deferred jet, ufunc(*inputs) written as a whole
    (see write); anything else on the computed jets."""
    target = out[0] if type(out) is tuple and len(out) == 1 else out
    if type(target) is not DeferredJet:
        return ufunc(*dense_tree(inputs), out=dense_tree(out))
    cdef DeferredJet d = <DeferredJet>target
    result = ufunc(*inputs)
    if is_view(d):
        return write_through_view(d, Ellipsis, result, -1, "out=")

    def dense_write(jet):
        ufunc(*dense_tree(inputs), out=(jet,))
    return write(d, result, None, lambda old, v: whole(old, v), dense_write, "out=")


cdef object whole(DeferredJet old, object value):
    """value as the whole new contents of an array like old (a pending jet of old's
    shape, transform and level), or None."""
    if type(value) is not DeferredJet or (<DeferredJet>value).dense is not None:
        return None
    return value if (<DeferredJet>value).sweep is old.sweep else None


# ------------------------------------------------------------------ writes through views

cdef object viewed(DeferredJet a, object result, bint view):
    """A new LANES node of a's lanes is a view of a (a basic index, a reshape: writes into
    it reach a, see write_through_view) or, from an index of lists or arrays, a new array."""
    if result is not a and type(result) is DeferredJet and (<DeferredJet>result).row == LANES:
        if not view:
            (<DeferredJet>result).fresh = True
        elif a.row != -1:            # (the source's views are inputs: never written)
            (<DeferredJet>result).parent = a
            if a.views is None:
                a.views = {}
            a.views[id(result)] = weak_ref(result)
    return result


cdef object kept_seed_view(DeferredJet parent, object key):
    """parent[key] of an input not seeded yet, one jet per simple index: x[:, 0] * x[:, 0]
    then reads one input, as a = x[:, 0]; a * a does (and takes the square's kernel)."""
    signature = key_signature(key if type(key) is tuple else (key,))
    if signature is None:
        return seed_view(parent, key)
    if parent.views is None:
        parent.views = {}
    found = parent.views.get(signature)
    view = None if found is None else found()
    if view is None:              # (weak: a view refers to its parent)
        view = seed_view(parent, key)
        parent.views[signature] = weak_ref(view)
    return view


cdef Py_ssize_t resting_views(DeferredJet d, list readers):
    """d's views (kept on d as they are made) that nothing reads, pending, not among
    readers: each reads d once, and will show d's write."""
    cdef DeferredJet v
    cdef Py_ssize_t n = 0
    if d.views is not None:
        for ref in list(d.views.values()):
            item = ref()
            if item is None:
                continue
            v = <DeferredJet>item
            if v.dense is None and v.consumers == 0 and v.holders == 0 and v.parent is d \
                    and not any(r is v for r in readers):
                n += 1
    return n


cdef bint is_view(DeferredJet d):
    """A pending view of an array (a basic index or a reshape of it: a LANES node of its
    lanes, which records the array as its parent)."""
    return d.row == LANES and d.parent is not None and d.dense is None


cdef object write_through_view(DeferredJet view, object key, object value, int op, str what):
    """view[key] = value (op -1) or view op= value, into a view of a new array of f's own:
    the array's write (see write) of the lanes the view shows, after which the view, which
    reads the array, shows it; the computations that read the view before the write (the
    value itself) move onto a copy of what it showed. Refused when anything else reads the
    view, and as write refuses."""
    cdef DeferredJet base = view.parent, shown_before
    if not (base.fresh and base.dense is None and view.holders == 0 and in_own_transform(base)):
        raise deferred_write_error(view, what)
    plan = kept_index_plan(view.shape, key) if view.shape else NOT_A_ROW_OPERATION
    if plan is NOT_A_ROW_OPERATION:
        raise deferred_write_error(view, what)
    table, shape = plan
    shown = np.asarray(view.table)[:, 1]
    lanes = shown if table is None else shown[table[:, 1]]
    with GRAPH_LOCK:
        if op >= 0:
            value = deferred_binary(op, view, value)
            if type(value) is not DeferredJet or (<DeferredJet>value).shape != view.shape:
                raise deferred_write_error(view, what)
        readers = readers_from(view, (value,))
        if readers is not None and len(readers) != view.consumers:
            readers = readers_from(view, (value,) + held_by_frames(), None, True)
        if readers is None or len(readers) + resting_views(view, readers) != view.consumers:
            raise deferred_write_error(view, what)
        shown_before, moves = None, MovedReads()
        if readers:
            shown_before = node_copy(view, DeferredJet.__new__(DeferredJet))
            shown_before.parent = None   # (a copy of what the view showed: no view of base)
            count_reads(shown_before, 1)
            moves.move(readers, view, shown_before)
        into_base = (np.stack([np.zeros(len(lanes), np.intp), lanes], 1), shape)
        if not record_write(base, value, None, lambda old, v: lanes_written(old, into_base, v),
                            shown_before):
            if shown_before is not None:
                moves.undo(view, shown_before)
            raise deferred_write_error(view, what)
    return view


cdef bint shows_itself(DeferredJet d, object key, object value):
    """value is d[key] as it is: a pending view of d showing exactly the lanes key picks."""
    if type(value) is not DeferredJet or not is_view(<DeferredJet>value) \
            or (<DeferredJet>value).parent is not d or not d.shape:
        return False
    plan = kept_index_plan(d.shape, key)
    if plan is NOT_A_ROW_OPERATION or plan[1] != (<DeferredJet>value).shape:
        return False
    picked_lanes = np.arange(d.lanes) if plan[0] is None else plan[0][:, 1]
    return np.array_equal(np.asarray((<DeferredJet>value).table)[:, 1], picked_lanes)


# ------------------------------------------------------------------ new arrays of f's own

cdef DeferredJet fresh_copy(DeferredJet a):
    """A new pending array with a's contents (y.copy(), np.copy(y))."""
    cdef DeferredJet d = lanes_node([a], identity_table(a.lanes), a.shape)
    d.fresh = True
    return d


def _row_copy(a, order="K", subok=False):
    if type(a) is not DeferredJet or (<DeferredJet>a).dense is not None:
        return None
    return fresh_copy(<DeferredJet>a)


cdef object filled_like(object a, object fill, object dtype, object shape):
    """np.full_like(a, fill) as a new pending array of constants (zero derivatives, as
    eager code makes them); None when it would not be a's rows and dtype."""
    if type(a) is not DeferredJet or shape is not None or not (<DeferredJet>a).shape:
        return None
    cdef DeferredJet proto = <DeferredJet>a
    if dtype is not None and np.dtype(dtype) != proto.level.buf.dtype:
        return None
    if np.ndim(fill) != 0:
        return None
    return constant_node(proto, fill, proto.shape)


def _row_zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return filled_like(a, 0, dtype, shape)


def _row_empty_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return filled_like(a, 0, dtype, shape)


def _row_ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return filled_like(a, 1, dtype, shape)


def _row_full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *,
                   device=None):
    return filled_like(a, fill_value, dtype, shape)


def _like_filled(fill):
    def create(like, shape, dtype=None, order="C", *, device=None):
        return created_like(like, fill, shape, dtype)
    return create


def _like_full(like, shape, fill_value, dtype=None, order="C", *, device=None):
    return created_like(like, fill_value, shape, dtype)


cdef object created_like(DeferredJet like, object fill, object shape, object dtype):
    """np.zeros(shape, like=d) and its kin as a new pending array of constants, when it has
    d's rows and dtype; None otherwise (the dense jets' creation)."""
    shape = tuple(shape) if np.iterable(shape) else (shape,)
    if (not shape or shape[0] != like.rows or isinstance(fill, _JetProtocol)
            or np.ndim(fill) != 0):
        return None
    try:       # (creation.py's default: float64, or the fill's wider type)
        wanted = np.dtype(dtype) if dtype is not None else np.result_type(fill, np.float64)
    except TypeError:
        return None
    if wanted != like.level.buf.dtype:
        return None
    return constant_node(like, fill, shape)


# np.empty's contents are arbitrary: zeros, as the dense jets' are
LIKE_CREATION = {np.zeros: _like_filled(0), np.ones: _like_filled(1), np.empty: _like_filled(0),
                 np.full: _like_full}


for _function, _recorder in ((np.copy, _row_copy), (np.zeros_like, _row_zeros_like),
                             (np.empty_like, _row_empty_like), (np.ones_like, _row_ones_like),
                             (np.full_like, _row_full_like)):
    ROW_FUNCTIONS[_function] = _recorder
