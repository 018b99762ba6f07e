# Computing deferred jets: a program of the pending nodes run over chunks on the thread
# pool (see the design comment of _deferred.pxi, which also holds the transforms' sweep).

# ------------------------------------------------------------------ computing

cdef struct Step:
    void* fn
    int kind                 # STEP_*: a rules-table kernel, or a row operation
    int op                   # REDUCE: what it computes (R_*)
    int pair                 # PAIR_RUN: fn is a pair kernel, also writing slot_out2;
                             # PAIR_DONE: computed by the step before
    Py_ssize_t a, b, c       # value numbers; constants: -1 - constant number
    Py_ssize_t slot_a, slot_b, slot_c, slot_out, slot_out2
    Py_ssize_t lanes         # the result's lanes
    Py_ssize_t* amap         # a binary step's operand lane of each result lane (NULL: the same)
    Py_ssize_t* bmap
    Py_ssize_t* cmap         # (WHERE: a the condition, b x, c y)
    Py_ssize_t* table        # a row operation's lanes (_deferred_rows.pxi); LANES: (slot, lane)
    Py_ssize_t width         # its columns
    char* weights            # MATMUL: lanes x width, the program's dtype


cdef enum:
    STEP_UNARY = 0
    STEP_BINARY = 1
    STEP_LANES = 2
    STEP_REDUCE = 3
    STEP_MATMUL = 4
    STEP_COMPARE = 5
    STEP_WHERE = 6
    STEP_PICK = 7


cdef struct Gather:          # an input, written into its slot per chunk
    char* data               # a jet's buffer, or (seeds != NULL) the source's values
    Py_ssize_t row_stride    # items from a row to the next
    Py_ssize_t comp_stride   # items from a component to the next (a jet)
    Py_ssize_t* lane_offsets # items from a row's first number to lane l's
    Py_ssize_t* seeds        # NULL: a jet; else each lane's seed
    Py_ssize_t lanes
    Py_ssize_t slot


cdef struct Constant:        # lane l of row e: data[l * lane_step + e * row_step]
    char* data
    Py_ssize_t lane_step, row_step


cdef struct Program:
    bint f64
    Py_ssize_t K, n, cs, chunk, lanes, slots, itemsize
    Py_ssize_t rows          # rows the program runs over (run_program_parts)
    Step* steps
    Py_ssize_t nsteps
    Gather* gathers
    Py_ssize_t ngathers
    Constant* constants
    Py_ssize_t result_slot, result_lanes
    char* out
    int readout              # READ_JET, READ_TANGENT or READ_HESSIAN
    # Number s of lane l of a row's read-out is at scratch[positions[l * width + s] + row].
    Py_ssize_t* positions
    Py_ssize_t width         # numbers per lane
    # The seeded inputs' source rows, read ahead a chunk (see run_program): row e's
    # numbers at ahead_source + e * ahead_row_bytes, ahead_bytes_per_row of them.
    char* ahead_source
    Py_ssize_t ahead_row_bytes
    int failed


cdef enum:
    PAIR_NONE = 0
    PAIR_RUN = 1
    PAIR_DONE = 2


# What a program writes: the result jet (AoS), or straight into the transform's
# result: each element's tangent (a batch Jacobian's rows) or its full n x n
# Hessian (a batch Hessian's), so that no result jet is written and read again.
cdef enum:
    READ_JET = 0
    READ_TANGENT = 1
    READ_HESSIAN = 2
    READ_VALUE = 3           # the values alone: a program of no seeds (K = 1)


cdef _Jet computed(DeferredJet d):
    """The jet d stands for: computed once, then kept (read-only)."""
    if d.row == -1:
        return input_jet(d)
    if d.dense is None:
        K = d.level.buf.shape[d.level.buf.ndim - 1]
        out = run_graph(d, READ_JET, d.shape + (K,))
        if out is None:
            return d.dense
        cnp.PyArray_CLEARFLAGS(<cnp.ndarray>out, cnp.NPY_ARRAY_WRITEABLE)
        with GRAPH_LOCK:
            if d.dense is None:   # (else another thread computed it meanwhile: the same values)
                publish(d, out)
    return d.dense


cdef object pending_values(DeferredJet d):
    """The values of a pending node (read-only), from a program of its graph without
    seeds: a comparison, a branch or a sort reads them without computing derivatives.
    Kept on the node: a rule often reads an operand's values twice (np.copysign)."""
    if d.known_values is not None:
        return d.known_values
    out = run_graph(d, READ_VALUE, d.shape + (1,))
    if out is None:
        return d.dense.value          # (computed meanwhile by another thread)
    values = out[..., 0]
    values.flags.writeable = False
    d.known_values = values
    return values


cdef void publish(DeferredJet d, object out) except *:
    """d's computed jet is out; the graph below d is no longer needed (GRAPH_LOCK held:
    a program being built elsewhere may be reading d's operands)."""
    cdef _Jet dense = new_like(d.level, out)
    set_deps(dense, d.deps1, d.deps2)
    d.dense = dense
    count_reads_released(d)
    d.a = d.b = None
    d.known_values = None
    d.pending = 0


def deferred_derivatives(y, long long tag1, long long tag2, tuple shape):
    """A batch transform's result read straight out of a pending target y of its
    own sweep (tags tag1, tag2): the tangents (tag2 = 0) or the Hessians, as a new
    array of ``shape``; None when y is anything else."""
    if type(y) is not DeferredJet:
        return None
    cdef DeferredJet d = <DeferredJet>y
    if d.row == -1 or d.dense is not None or d.level.tag1 != tag1 or d.level.tag2 != tag2:
        return None
    return run_graph(d, READ_TANGENT if d.level.order == 1 else READ_HESSIAN, shape)


def dense_target(y):
    """y with every stand-in jet in it (tuples, lists, dicts too) computed."""
    return dense_tree(y)


cdef object dense_tree(object x):
    """x with every stand-in jet (BandedJet, DeferredJet), inside tuples, lists
    and dicts too, replaced by the dense jet it stands for."""
    cdef type t = type(x)
    if t is DeferredJet:
        return computed(<DeferredJet>x)
    if t is DeferredMask or t is DeferredTranspose:
        return x.compute()
    if t is BandedJet:
        return densified(<BandedJet>x)
    if t is tuple and plain_items(<tuple>x):
        return x                         # (an index: nothing to compute, no new tuple)
    if t is tuple or t is list:
        items = [dense_tree(v) for v in x]
        return tuple(items) if t is tuple else items
    if t is dict:
        return {k: dense_tree(v) for k, v in (<dict>x).items()}
    return x


cdef bint plain_items(tuple items):
    """No item of items is a stand-in jet or a container that may hold one."""
    cdef type t
    for item in items:
        t = type(item)
        if not (item is None or t is int or t is slice or item is Ellipsis
                or t is cnp.ndarray or t is float):
            return False
    return True


cdef Py_ssize_t BUILDS = 0      # programs built so far (DeferredJet.mark)
cdef object GRAPH_LOCK = threading.RLock()     # see run_graph


cdef object run_graph(DeferredJet root, int readout, tuple shape):
    """Run root's pending graph as a chunked program (see the design comment),
    writing what `readout` says into a new array of ``shape``; None when another
    thread computed root meanwhile (its jet is root.dense then).

    Pending nodes may be shared between threads (f may start threads, or hand
    its jets to them), and building a program writes into the nodes it reads
    (mark, number) and seeds inputs, while publishing a result drops its
    operands: both hold GRAPH_LOCK. The program then runs outside it, on its
    own Program, the buffers it keeps, and each thread's own scratch."""
    cdef list order = [], inputs = [], constants = [], keep = []
    cdef Program P
    P.steps = NULL
    P.gathers = NULL
    P.constants = NULL
    P.positions = NULL
    try:
        with GRAPH_LOCK:
            if root.dense is not None:
                return None
            out = build_program(&P, root, readout, shape, order, inputs, constants, keep)
        run_program_parts(&P, root.rows, root.count * P.K * (P.nsteps + 1))
        if P.failed:
            raise MemoryError("dualjac: no memory for a deferred program's scratch")
    finally:
        free(P.steps)
        free(P.gathers)
        free(P.constants)
        free(P.positions)
    return out


cdef inline Py_ssize_t* intp_data(object array, list keep):
    """The data of an intp array kept alive in keep (NULL for None)."""
    if array is None:
        return NULL
    cdef cnp.ndarray a
    if type(array) is cnp.ndarray and cnp.PyArray_TYPE(<cnp.ndarray>array) == cnp.NPY_INTP \
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>array):
        a = <cnp.ndarray>array
    else:
        a = np.ascontiguousarray(array, dtype=np.intp)
    keep.append(a)
    return <Py_ssize_t*>cnp.PyArray_DATA(a)


cdef cnp.ndarray build_program(Program* P, DeferredJet root, int readout, tuple shape,
                               list order, list inputs, list constants, list keep):
    """Fill P for root's graph (order, inputs, constants and keep receive what
    it reads, to keep alive while it runs) and return its output array."""
    cdef Py_ssize_t i, raw
    cdef cnp.ndarray buf
    number_values(root, order, inputs)
    cdef _Jet level = root.level
    cdef cnp.ndarray lbuf = level.buf
    P.f64 = cnp.PyArray_TYPE(lbuf) == cnp.NPY_DOUBLE
    P.K = lbuf.shape[lbuf.ndim - 1]
    P.n = level.n1
    if readout == READ_VALUE:
        # every kernel computes an element's value from its operands' values alone, so
        # the same steps with no seeds give the values of the full program, bit for bit
        P.K, P.n, readout = 1, 0, READ_JET
    P.itemsize = cnp.PyArray_ITEMSIZE(lbuf)
    P.nsteps = len(order)
    P.ngathers = len(inputs)
    P.failed = 0
    P.slots = 0
    P.lanes = 1
    for node in order + inputs:
        P.lanes = max(P.lanes, (<DeferredJet>node).lanes)
    P.steps = <Step*>malloc(max(P.nsteps, 1) * sizeof(Step))
    P.gathers = <Gather*>malloc(max(P.ngathers, 1) * sizeof(Gather))
    if P.steps == NULL or P.gathers == NULL:
        raise MemoryError()
    assign_slots(P, root, order, inputs, constants, keep, level.order)
    P.constants = <Constant*>malloc(max(len(constants), 1) * sizeof(Constant))
    if P.constants == NULL:
        raise MemoryError()
    for i in range(len(constants)):
        buf = <cnp.ndarray>constants[i]
        P.constants[i].data = <char*>cnp.PyArray_DATA(buf)
        P.constants[i].lane_step = 0 if buf.ndim == 0 else buf.shape[1]
        P.constants[i].row_step = 0 if buf.ndim == 0 or buf.shape[1] == 1 else 1
    P.readout = readout
    P.result_lanes = root.lanes
    set_read_ahead(P)
    set_chunk(P)
    out = np.empty(shape, lbuf.dtype)
    if out.size != root.count * (P.K if readout == READ_JET else
                                 P.K - 1 if readout == READ_TANGENT else P.n * P.n):
        raise ValueError(f"cannot shape {root.count} elements' derivatives as {shape}")
    P.out = <char*>cnp.PyArray_DATA(out)
    P.positions = readout_positions(P)
    return out


cdef void set_read_ahead(Program* P) noexcept:
    """The source rows the seeded inputs read (one source: the transform's copy), as
    one range per row, so that the next chunk's rows are fetched while this one runs."""
    cdef Py_ssize_t i, l, off, lo = -1, hi = -1
    cdef Gather* g
    P.ahead_source = NULL
    P.ahead_row_bytes = 0
    for i in range(P.ngathers):
        g = &P.gathers[i]
        if g.seeds == NULL or g.row_stride <= 0:
            continue
        if P.ahead_source == NULL:
            P.ahead_source = g.data
            P.ahead_row_bytes = g.row_stride * P.itemsize
        elif g.data != P.ahead_source or g.row_stride * P.itemsize != P.ahead_row_bytes:
            continue
        for l in range(g.lanes):
            off = g.lane_offsets[l]
            lo = off if lo < 0 else min(lo, off)
            hi = max(hi, off)
    if (P.ahead_source == NULL or lo < 0 or hi >= P.ahead_row_bytes // P.itemsize
            or P.ahead_row_bytes > 64 and 2 * (hi - lo + 1) * P.itemsize < P.ahead_row_bytes):
        P.ahead_source = NULL       # not a plain row range, or mostly numbers not read


cdef Py_ssize_t* readout_positions(Program* P) except NULL:
    """Where each number of a row's read-out is in the scratch, relative to the row's
    place in its chunk: lane l's numbers (P.width of them) one after another, so that
    the read-out writes each row's numbers together, in one pass rather than one per
    lane, and so writes each cache line of the output once (readout.h; see
    benchmarks/batch.py's force Jacobians)."""
    cdef Py_ssize_t s, p, q, l, base
    cdef Py_ssize_t first = 1 if P.readout == READ_TANGENT else 0
    P.width = (P.K if P.readout == READ_JET else
               P.K - 1 if P.readout == READ_TANGENT else P.n * P.n)
    cdef Py_ssize_t R = P.result_lanes, W = P.width
    cdef Step* stacked = stacked_result(P)
    cdef Py_ssize_t* positions = <Py_ssize_t*>malloc(max(R * W, 1) * sizeof(Py_ssize_t))
    if positions == NULL:
        raise MemoryError()
    for l in range(R):
        # lane l's numbers: in the result's slot, or where the stack would copy them from
        base = (stacked.table[2 * l] * P.K * P.cs + stacked.table[2 * l + 1] * P.chunk
                if stacked != NULL else P.result_slot * P.K * P.cs + l * P.chunk)
        if P.readout == READ_HESSIAN:
            for p in range(P.n):
                for q in range(P.n):
                    positions[l * W + p * P.n + q] = base + symmetric_component(P.n, p, q) * P.cs
        else:
            for s in range(W):
                positions[l * W + s] = base + (first + s) * P.cs
    if stacked != NULL:
        stacked.pair = PAIR_DONE        # read out from its parts instead
    return positions


cdef Step* stacked_result(Program* P) noexcept:
    """The last step when it only gathers lanes of its parts into the result (np.stack,
    np.concatenate along a row axis): the read-out then takes each lane from the part
    it would copy, whose slot is still live (the parts' last reader is that step), and
    the copies are skipped."""
    if P.nsteps == 0:
        return NULL
    cdef Step* last = &P.steps[P.nsteps - 1]
    if last.kind != STEP_LANES or last.slot_out != P.result_slot or last.lanes != P.result_lanes:
        return NULL
    return last


cdef void number_values(DeferredJet root, list order, list inputs) except *:
    """The program's values: the inputs and computed nodes it reads (numbered 0..),
    then its steps, the pending nodes below root with operands first."""
    global BUILDS
    BUILDS += 1
    post_order(root, order, inputs, BUILDS)
    pair_up(order)
    cdef Py_ssize_t k, ninputs = len(inputs)
    for k in range(len(order)):
        (<DeferredJet>order[k]).number = ninputs + k


cdef inline bint partners(DeferredJet first, DeferredJet second):
    """Do two nodes form a pair kernel's two results (sin(v) and cos(v) of one v)?"""
    return (first.variant < 0 and second.variant < 0 and first.row >= 0 and second.row >= 0
            and PAIR_PARTNER[first.row] == second.row and first.a is second.a)


cdef void pair_up(list order) except *:
    """Move each pair row's partner of the same operand (cos(v) for sin(v)) right
    after it: a pair kernel then computes both from one value pass. The partner
    reads only that operand, which comes before, so the order stays valid."""
    cdef Py_ssize_t i = 0, j
    while i < len(order):
        node = <DeferredJet>order[i]
        if node.variant < 0 and node.row >= 0 and PAIR_PARTNER[node.row] >= 0:
            for j in range(i + 1, len(order)):
                if partners(node, <DeferredJet>order[j]):
                    if j != i + 1:
                        order.insert(i + 1, order.pop(j))
                    i += 1
                    break
        i += 1


cdef inline tuple operands_of(DeferredJet node):
    """The jets a pending node reads."""
    if node.row == LANES or node.row == WHERE or node.row == PICK:
        return node.a
    return (node.a, node.b)


cdef void assign_slots(Program* P, DeferredJet root, list order, list inputs, list constants,
                       list keep, int order_kind) except *:
    """Fill P's gathers and steps with their scratch slots, by liveness: a value's
    slot is free again after its last use, and an output never shares a slot with
    its operands (the kernels' restrict). A seeded input keeps its slot (its
    derivative rows are written once per range, see run_program). keep holds
    the buffers read."""
    cdef Py_ssize_t ninputs = len(inputs), nsteps = len(order), i, v
    cdef DeferredJet node
    cdef list last = [-1] * (ninputs + nsteps)     # a value's last reader (a step)
    for i in range(nsteps):
        for operand in operands_of(<DeferredJet>order[i]):
            if type(operand) is DeferredJet:
                last[(<DeferredJet>operand).number] = i
    last[root.number] = nsteps                      # the result stays to the end
    cdef list free_slots = [], slot_of = [0] * (ninputs + nsteps)
    for i in range(ninputs):
        set_gather(&P.gathers[i], <DeferredJet>inputs[i], keep)
        P.gathers[i].slot = slot_of[i] = take_slot(free_slots, &P.slots)
    for i in range(nsteps):
        node = <DeferredJet>order[i]
        v = ninputs + i
        slot_of[v] = take_slot(free_slots, &P.slots)
        set_step(P, i, node, order, slot_of, constants, keep, 0 if order_kind == 1 else 1)
        for operand in operands_of(node):
            if type(operand) is not DeferredJet:
                continue
            v = (<DeferredJet>operand).number
            if (last[v] == i and not (v < ninputs and P.gathers[v].seeds != NULL)
                    and slot_of[v] not in free_slots):
                free_slots.append(slot_of[v])
    P.result_slot = slot_of[root.number]


cdef void set_gather(Gather* g, DeferredJet node, list keep) except *:
    """How the program writes input `node` into its slot: straight from the
    source's values with each lane's seed, or from its computed jet."""
    cdef cnp.ndarray buf
    cdef Py_ssize_t itemsize
    g.lanes = node.lanes
    if node.dense is None and node.lane_seeds is not None:
        g.data = <char*>cnp.PyArray_DATA(node.seed_values)
        g.row_stride = node.row_stride
        g.comp_stride = 0
        g.lane_offsets = intp_data(node.lane_offsets, keep)
        g.seeds = intp_data(node.lane_seeds, keep)
        return
    buf = computed(node).buf
    itemsize = cnp.PyArray_ITEMSIZE(buf)
    for k in range(buf.ndim):
        if buf.strides[k] % itemsize:
            buf = np.ascontiguousarray(buf)
            break
    keep.append(buf)
    g.data = <char*>cnp.PyArray_DATA(buf)
    g.seeds = NULL
    g.comp_stride = buf.strides[buf.ndim - 1] // itemsize
    g.row_stride = buf.strides[0] // itemsize if buf.ndim > 1 else 0
    offsets = np.zeros(node.shape[1:], np.intp)
    for k in range(1, buf.ndim - 1):
        step = np.arange(buf.shape[k], dtype=np.intp) * (buf.strides[k] // itemsize)
        offsets = offsets + step.reshape((-1,) + (1,) * (buf.ndim - 2 - k))
    g.lane_offsets = intp_data(offsets.reshape(-1), keep)


cdef void set_step(Program* P, Py_ssize_t i, DeferredJet node, list order, list slot_of,
                   list constants, list keep, int kind) except *:
    """P.steps[i] for pending node `node` (its output slot is slot_of[its number])."""
    cdef Step* st = &P.steps[i]
    cdef Py_ssize_t v = node.number
    st.pair = PAIR_NONE
    st.lanes = node.lanes
    st.amap = st.bmap = st.cmap = st.table = NULL
    st.weights = NULL
    st.width = 0
    st.slot_out = slot_of[v]
    st.slot_a = st.slot_b = st.slot_c = -1
    st.a = st.b = st.c = 0
    if node.row == PICK:
        set_pick_step(P, st, node, slot_of, keep)
        return
    if node.row == COMPARE or node.row == WHERE:
        set_compare_or_where_step(st, node, slot_of, constants, keep)
        if node.row == COMPARE:
            st.fn = <void*>compare_step[double] if P.f64 else <void*>compare_step[float]
        else:
            st.fn = <void*>where_step[double] if P.f64 else <void*>where_step[float]
        return
    if node.row == LANES:
        st.kind = STEP_LANES
        table = np.array(node.table, copy=True)
        for l in range(table.shape[0]):     # (part, lane) -> (slot, lane)
            table[l, 0] = slot_of[(<DeferredJet>node.a[table[l, 0]]).number]
        st.table = intp_data(table, keep)
        return
    if node.row == REDUCE or node.row == MATMUL:
        st.kind = STEP_REDUCE if node.row == REDUCE else STEP_MATMUL
        st.op = node.variant
        st.a = (<DeferredJet>node.a).number
        st.slot_a = slot_of[st.a]
        if node.row == REDUCE and node.variant == R_PRODUCT_VALUE:
            st.b = (<DeferredJet>node.b).number
            st.slot_b = slot_of[st.b]
        st.table = intp_data(node.table, keep)
        st.width = node.table.shape[1]
        if node.row == MATMUL:
            keep.append(node.b)
            st.weights = <char*>cnp.PyArray_DATA(<cnp.ndarray>node.b)
        return
    if node.row == SET_VALUE:
        set_value_step(P, st, node, slot_of, constants, kind)
        return
    st.kind = STEP_BINARY if node.variant >= 0 else STEP_UNARY
    if node.row == I_MUL and node.variant == 0 and node.a is node.b and node.amap is None:
        square_step(P, st, node, slot_of, kind)
        return
    if i > 0 and P.steps[i - 1].kind == STEP_UNARY and P.steps[i - 1].pair == PAIR_NONE \
            and partners(<DeferredJet>order[i - 1], node):
        P.steps[i - 1].pair = PAIR_RUN
        st.pair = PAIR_DONE
        P.steps[i - 1].fn = <void*>(SP_f64[kind][node.row if PAIR_FIRST[node.row] else
                                                (<DeferredJet>order[i - 1]).row]
                                    if P.f64 else
                                    SP_f32[kind][node.row if PAIR_FIRST[node.row] else
                                                 (<DeferredJet>order[i - 1]).row])
        if PAIR_FIRST[node.row]:             # the pair kernel writes first's, then second's
            P.steps[i - 1].slot_out2 = P.steps[i - 1].slot_out
            P.steps[i - 1].slot_out = st.slot_out
        else:
            P.steps[i - 1].slot_out2 = st.slot_out
    st.fn = (<void*>(SU_f64[kind][node.row] if P.f64 else SU_f32[kind][node.row])
             if node.variant < 0 else
             <void*>(SB_f64[kind][node.variant][node.row] if P.f64
                     else SB_f32[kind][node.variant][node.row]))
    st.a = operand_number(node.a, constants)
    st.slot_a = slot_of[st.a] if st.a >= 0 else -1
    if st.kind == STEP_BINARY:
        st.b = operand_number(node.b, constants)
        st.slot_b = slot_of[st.b] if st.b >= 0 else -1
        st.amap = intp_data(node.amap, keep)
        st.bmap = intp_data(node.bmap, keep)


cdef void square_step(Program* P, Step* st, DeferredJet node, list slot_of, int kind) except *:
    """a * a as a one-operand step: the product's kernel body reading a's lanes once
    (_kernels.c.tp's s1_multiply_same / s3_multiply_same: the same bits), where the
    two-operand kernel would load every number of a twice (see benchmarks/batch.py's
    energy Hessian)."""
    st.kind = STEP_UNARY
    if P.f64:
        st.fn = <void*>(s3_multiply_same_f64 if kind else s1_multiply_same_f64)
    else:
        st.fn = <void*>(s3_multiply_same_f32 if kind else s1_multiply_same_f32)
    st.a = (<DeferredJet>node.a).number
    st.slot_a = slot_of[st.a]


cdef Py_ssize_t take_slot(list free_slots, Py_ssize_t* slots):
    if free_slots:
        return free_slots.pop()
    slots[0] += 1
    return slots[0] - 1


cdef void post_order(DeferredJet node, list order, list inputs, Py_ssize_t build) except *:
    """Collect the pending nodes below node, operands first, into order, and the
    inputs and computed nodes they read into inputs (numbered 0.. there). The
    depth is bounded: a graph of more than MAX_PENDING nodes is computed early."""
    if node.mark == build:
        return
    node.mark = build
    if node.row == -1 or node.dense is not None:
        node.number = len(inputs)
        inputs.append(node)
        return
    for operand in operands_of(node):
        if type(operand) is DeferredJet:
            post_order(<DeferredJet>operand, order, inputs, build)
    order.append(node)


cdef Py_ssize_t graph_size(DeferredJet root) except -1:
    """The distinct pending nodes below root, root included (see pending_count)."""
    global BUILDS
    with GRAPH_LOCK:             # (node.mark: as a program build)
        BUILDS += 1
        return count_pending(root, BUILDS)


def deferred_graph_size(d):
    """The distinct pending nodes of deferred jet d's graph (0 once computed); None for
    anything else."""
    return graph_size(<DeferredJet>d) if type(d) is DeferredJet else None


cdef Py_ssize_t count_pending(DeferredJet node, Py_ssize_t build) except -1:
    if node.mark == build or node.row == -1 or node.dense is not None:
        return 0
    node.mark = build
    cdef Py_ssize_t total = 1
    for operand in operands_of(node):
        if type(operand) is DeferredJet:
            total += count_pending(<DeferredJet>operand, build)
    return total


cdef Py_ssize_t operand_number(object operand, list constants):
    """A DeferredJet's value number, or -1 - (its index in constants) for a constant."""
    if type(operand) is DeferredJet:
        return (<DeferredJet>operand).number
    constants.append(operand)
    return -len(constants)


cdef void run_program(Program* P, real* kind, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    cdef Py_ssize_t R = P.result_lanes, per_slot = P.K * P.cs, start, m, i, l
    cdef real* scratch = <real*>dj_thread_scratch(P.slots * per_slot * sizeof(real))
    cdef char* ahead = NULL
    cdef Py_ssize_t ahead_left = 0, ahead_piece = 0
    cdef const char* source_ahead = NULL
    cdef Py_ssize_t source_left = 0, source_piece = 0
    if scratch == NULL:
        P.failed = 1
        return
    # A seeded input's lanes have one seed each: the same derivative rows in every
    # chunk, written once per range (its slot is kept).
    for i in range(P.ngathers):
        if P.gathers[i].seeds != NULL:
            write_seed_rows(scratch + P.gathers[i].slot * per_slot, &P.gathers[i], P.K, P.cs,
                            P.chunk)
    start = lo
    while start < hi:
        m = min(P.chunk, hi - start)
        for i in range(P.ngathers):
            gather_input(&P.gathers[i], scratch + P.gathers[i].slot * per_slot, start, m,
                         P.K, P.cs, P.chunk)
        ahead = <char*>(<real*>P.out + start * R * P.width)    # this chunk's output,
        ahead_left = m * R * P.width * <Py_ssize_t>sizeof(real)   # a piece before each step
        ahead_piece = (ahead_left // max(P.nsteps, 1) + 63) & ~63
        # The next chunk's source rows, also in pieces: read from memory only by the
        # gathers, they would stall them (a fifth of a 10^6-row Jacobian's time).
        source_left = 0
        if P.ahead_source != NULL and start + m < hi:
            source_ahead = P.ahead_source + (start + m) * P.ahead_row_bytes
            source_left = min(P.chunk, hi - start - m) * P.ahead_row_bytes
            source_piece = (source_left // max(P.nsteps, 1) + 63) & ~63
        for i in range(P.nsteps):
            if ahead_left > 0:
                dj_prefetch_write(ahead, min(ahead_piece, ahead_left))
                ahead += ahead_piece
                ahead_left -= ahead_piece
            if source_left > 0:
                dj_prefetch_read(source_ahead, min(source_piece, source_left))
                source_ahead += source_piece
                source_left -= source_piece
            run_step(P, &P.steps[i], scratch, start, m)
        read_rows(scratch, P.positions, R * P.width, m, <real*>P.out + start * R * P.width,
                  R * P.width)
        start += m


cdef inline void gather_input(Gather* g, real* dst, Py_ssize_t start, Py_ssize_t m,
                              Py_ssize_t K, Py_ssize_t cs, Py_ssize_t chunk) noexcept nogil:
    """Rows [start, start + m) of input g into its slot: each lane's values (and, for
    a jet, its other components)."""
    cdef Py_ssize_t l, e, s, rs = g.row_stride, ss = g.comp_stride
    cdef const real* src
    cdef real* d
    for l in range(g.lanes):
        src = <const real*>g.data + g.lane_offsets[l] + start * rs
        d = dst + l * chunk
        if g.seeds != NULL:
            for e in range(m):
                d[e] = src[e * rs]
            continue
        for s in range(K):
            for e in range(m):
                d[s * cs + e] = src[e * rs + s * ss]


cdef inline const real* constant_lane(Program* P, Py_ssize_t number, Py_ssize_t lane,
                                      Py_ssize_t start, real* kind) noexcept nogil:
    cdef Constant* c = &P.constants[-1 - number]
    return <const real*>c.data + lane * c.lane_step + start * c.row_step


cdef void run_step(Program* P, Step* st, real* scratch, Py_ssize_t start, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t per_slot = P.K * P.cs, chunk = P.chunk, l, off, n, total, sa = 1, sb = 1
    cdef Py_ssize_t la, lb
    cdef real* out = scratch + st.slot_out * per_slot
    cdef const real* a
    cdef const real* b
    if st.pair == PAIR_DONE:
        return
    if st.kind == STEP_LANES:
        lanes_step(st, scratch, out, per_slot, chunk, P.K, P.cs, m)
        return
    if st.kind == STEP_REDUCE or st.kind == STEP_MATMUL:
        reduce_step(st, scratch + st.slot_a * per_slot,
                    scratch + st.slot_b * per_slot if st.slot_b >= 0 else NULL,
                    out, chunk, P.K, P.cs, m)
        return
    if st.kind == STEP_COMPARE or st.kind == STEP_WHERE or st.kind == STEP_PICK:
        # (through a pointer, and after the row operations: inlined into this loop
        # their code would slow the loop's other steps, x @ W's among them)
        (<void (*)(Program*, Step*, real*, real*, Py_ssize_t, Py_ssize_t) noexcept nogil>st.fn)(
            P, st, scratch, out, start, m)
        return
    # Rules-table kernels: one call over every lane's rows when the operands are
    # whole slots or scalars (pieces of DJ_BLOCK), else lane by lane.
    if (st.amap == NULL and st.bmap == NULL and (m == chunk or st.lanes == 1)
            and (st.slot_a >= 0 or P.constants[-1 - st.a].lane_step == 0
                 and P.constants[-1 - st.a].row_step == 0)
            and (st.kind != STEP_BINARY or st.slot_b >= 0 or P.constants[-1 - st.b].lane_step == 0
                 and P.constants[-1 - st.b].row_step == 0)):
        total = (st.lanes - 1) * chunk + m
        off = 0
        while off < total:
            n = min(<Py_ssize_t>DJ_BLOCK, total - off)
            a = (scratch + st.slot_a * per_slot + off if st.slot_a >= 0
                 else constant_lane(P, st.a, 0, 0, <real*>NULL))
            b = NULL
            if st.kind == STEP_BINARY:
                b = (scratch + st.slot_b * per_slot + off if st.slot_b >= 0
                     else constant_lane(P, st.b, 0, 0, <real*>NULL))
            kernel_call(P, st, scratch, a, 1 if st.slot_a >= 0 else 0, b,
                        1 if st.slot_b >= 0 else 0, off, n)
            off += n
        return
    for l in range(st.lanes):
        la = st.amap[l] if st.amap != NULL else l
        if st.slot_a >= 0:
            a = scratch + st.slot_a * per_slot + la * chunk
        else:
            a = constant_lane(P, st.a, l, start, <real*>NULL)
            sa = P.constants[-1 - st.a].row_step
        b = NULL
        if st.kind == STEP_BINARY:
            lb = st.bmap[l] if st.bmap != NULL else l
            if st.slot_b >= 0:
                b = scratch + st.slot_b * per_slot + lb * chunk
            else:
                b = constant_lane(P, st.b, l, start, <real*>NULL)
                sb = P.constants[-1 - st.b].row_step
        kernel_call(P, st, scratch, a, sa, b, sb, l * chunk, m)


cdef inline void kernel_call(Program* P, Step* st, real* scratch, const real* a, Py_ssize_t sa,
                             const real* b, Py_ssize_t sb, Py_ssize_t off, Py_ssize_t n) noexcept nogil:
    """st's rules-table kernel over n elements at offset off of its result's slot."""
    cdef Py_ssize_t per_slot = P.K * P.cs
    cdef real* out = scratch + st.slot_out * per_slot + off
    if st.pair == PAIR_RUN:
        (<void (*)(const real*, real*, real*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil>st.fn)(
            a, out, scratch + st.slot_out2 * per_slot + off, P.cs, n, P.n)
    elif st.kind == STEP_UNARY:
        (<void (*)(const real*, real*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil>st.fn)(
            a, out, P.cs, n, P.n)
    else:
        (<void (*)(const real*, Py_ssize_t, const real*, Py_ssize_t, real*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil>st.fn)(
            a, sa, b, sb, out, P.cs, n, P.n)


cdef inline void read_rows(const real* src, const Py_ssize_t* position, Py_ssize_t width,
                           Py_ssize_t m, real* dst, Py_ssize_t dst_stride) noexcept nogil:
    """src_c/include/readout.h: element e's numbers src[position[s] + e] to dst + e * dst_stride."""
    if real is double:
        dj_read_rows_double(src, position, width, m, dst, dst_stride)
    else:
        dj_read_rows_float(src, position, width, m, dst, dst_stride)


cdef inline Py_ssize_t symmetric_component(Py_ssize_t n, Py_ssize_t p, Py_ssize_t q) noexcept nogil:
    """Where H_pq (either order) is in the symmetric Hessian layout (see u3_)."""
    if p > q:
        p, q = q, p
    return 1 + n + p * n - ((p * (p + 1)) >> 1) + q


cdef inline void write_seed_rows(real* dst, Gather* g, Py_ssize_t K, Py_ssize_t cs,
                                 Py_ssize_t chunk) noexcept nogil:
    """The derivative rows of a seeded input's lanes, component-major: 1 along
    each lane's seed, 0 elsewhere (everywhere for a seed -1: a constant's lane)."""
    cdef Py_ssize_t e, s, l
    if K == 1:
        return                   # (a program of values alone)
    for s in range(1, K):
        memset(dst + s * cs, 0, g.lanes * chunk * sizeof(real))
    for l in range(g.lanes):
        if g.seeds[l] < 0:
            continue
        for e in range(chunk):
            dst[(1 + g.seeds[l]) * cs + l * chunk + e] = 1
