# Computing deferred jets: a program of the pending nodes run over chunks on the thread
# pool, and the batch transforms' deferred sweep (see the design comment of _deferred.pxi).

# ------------------------------------------------------------------ computing

cdef struct Step:
    void* fn
    bint binary
    int pair                 # PAIR_RUN: fn is a pair kernel, also writing slot_out2;
                             # PAIR_DONE: computed by the step before
    Py_ssize_t a, b          # value numbers; constants: -1 - constant number
    Py_ssize_t slot_a, slot_b, slot_out, slot_out2


cdef struct Gather:          # an input, written into its slot per chunk
    char* data               # a jet's buffer, or (seed >= 0) the source's values
    Py_ssize_t stride        # elements apart, in items
    Py_ssize_t seed          # -1: a jet; else every element's seed number, or
    Py_ssize_t period        # (period > 0) element e's seed is e % period
    Py_ssize_t slot


cdef struct Constant:
    char* data
    Py_ssize_t stride        # 0 (a scalar) or 1


cdef struct Result:          # element e of a result goes to element
    Py_ssize_t slot          # (e // inner) * (parts * inner) + index * inner + e % inner
    Py_ssize_t index, parts, inner


cdef struct Program:
    bint f64
    Py_ssize_t K, n, cs, chunk, slots, itemsize
    Step* steps
    Py_ssize_t nsteps
    Gather* gathers
    Py_ssize_t ngathers
    Constant* constants
    Result* results          # one, or a stack node's parts
    Py_ssize_t nresults
    char* out
    int readout              # READ_JET, READ_TANGENT or READ_HESSIAN
    # Element e's read-out (every result's numbers in turn) is at
    # scratch[positions[s] + e], s < width. When these are consecutive in out (one
    # result, or a stack's parts along the last element axis) it is one pass.
    Py_ssize_t* positions
    Py_ssize_t width
    bint consecutive
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


cdef void publish(DeferredJet d, object out) except *:
    """d's computed jet is out; the graph below d is no longer needed (GRAPH_LOCK held:
    a program being built elsewhere may be reading d's operands)."""
    cdef _Jet dense = new_like(d.level, out)
    set_deps(dense, d.deps1, d.deps2)
    d.dense = dense
    d.a = d.b = None
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
    if t is BandedJet:
        return densified(<BandedJet>x)
    if t is tuple or t is list:
        items = [dense_tree(v) for v in x]
        return tuple(items) if t is tuple else items
    if t is dict:
        return {k: dense_tree(v) for k, v in (<dict>x).items()}
    return x


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
    P.results = NULL
    P.constants = NULL
    P.positions = NULL
    try:
        with GRAPH_LOCK:
            if root.dense is not None:
                return None
            out = build_program(&P, root, readout, shape, order, inputs, constants, keep)
        run_program_parts(&P, root.count // P.nresults, root.count * P.K * (P.nsteps + 1))
        if P.failed:
            raise MemoryError("dualjac: no memory for a deferred program's scratch")
    finally:
        free(P.steps)
        free(P.gathers)
        free(P.constants)
        free(P.results)
        free(P.positions)
    return out


cdef cnp.ndarray build_program(Program* P, DeferredJet root, int readout, tuple shape,
                               list order, list inputs, list constants, list keep):
    """Fill P for root's graph (order, inputs, constants and keep receive what
    it reads, to keep alive while it runs) and return its output array."""
    cdef list roots = list(root.a) if root.row == STACKED else [root]
    cdef Py_ssize_t i
    cdef cnp.ndarray buf
    number_values(roots, order, inputs)
    cdef _Jet level = root.level
    cdef cnp.ndarray lbuf = level.buf
    P.f64 = cnp.PyArray_TYPE(lbuf) == cnp.NPY_DOUBLE
    P.K = lbuf.shape[lbuf.ndim - 1]
    P.n = level.n1
    P.itemsize = cnp.PyArray_ITEMSIZE(lbuf)
    P.nsteps = len(order)
    P.ngathers = len(inputs)
    P.nresults = len(roots)
    P.failed = 0
    P.slots = 0
    P.steps = <Step*>malloc(max(P.nsteps, 1) * sizeof(Step))
    P.gathers = <Gather*>malloc(max(P.ngathers, 1) * sizeof(Gather))
    P.results = <Result*>malloc(P.nresults * sizeof(Result))
    if P.steps == NULL or P.gathers == NULL or P.results == NULL:
        raise MemoryError()
    assign_slots(P, roots, order, inputs, constants, keep, level.order)
    P.constants = <Constant*>malloc(max(len(constants), 1) * sizeof(Constant))
    if P.constants == NULL:
        raise MemoryError()
    for i in range(len(constants)):
        buf = <cnp.ndarray>constants[i]
        P.constants[i].data = <char*>cnp.PyArray_DATA(buf)
        P.constants[i].stride = 0 if buf.ndim == 0 else 1
    for i in range(P.nresults):
        P.results[i].index = i
        P.results[i].parts = P.nresults
        P.results[i].inner = root.b if root.row == STACKED else 1
    # Chunk: the program's scratch (every slot, K components) about SCRATCH_TARGET.
    P.chunk = SCRATCH_TARGET // (P.slots * P.K * P.itemsize)
    P.chunk = min(max(P.chunk & ~7, 16), DJ_BLOCK)
    P.cs = P.chunk + 16          # padded: component rows 4 KiB apart alias in L1
    out = np.empty(shape, lbuf.dtype)
    if out.size != root.count * (P.K if readout == READ_JET else
                                 P.K - 1 if readout == READ_TANGENT else P.n * P.n):
        raise ValueError(f"cannot shape {root.count} elements' derivatives as {shape}")
    P.out = <char*>cnp.PyArray_DATA(out)
    P.readout = readout
    P.positions = readout_positions(P)
    P.consecutive = P.nresults == 1 or P.results[0].inner == 1
    return out


cdef Py_ssize_t* readout_positions(Program* P) except NULL:
    """Where each number of an element's read-out is in the scratch, relative to
    the element's place in component 0 of slot 0: every result's numbers in turn."""
    cdef Py_ssize_t per_result = (P.K if P.readout == READ_JET else
                                  P.K - 1 if P.readout == READ_TANGENT else P.n * P.n)
    cdef Py_ssize_t i, s, p, q, base, first = 1 if P.readout == READ_TANGENT else 0
    P.width = P.nresults * per_result
    cdef Py_ssize_t* positions = <Py_ssize_t*>malloc(max(P.width, 1) * sizeof(Py_ssize_t))
    if positions == NULL:
        raise MemoryError()
    for i in range(P.nresults):
        base = P.results[i].slot * P.K * P.cs
        if P.readout == READ_HESSIAN:
            for p in range(P.n):
                for q in range(P.n):
                    positions[i * per_result + p * P.n + q] = (
                        base + symmetric_component(P.n, p, q) * P.cs)
        else:
            for s in range(per_result):
                positions[i * per_result + s] = base + (first + s) * P.cs
    return positions


cdef void number_values(list roots, list order, list inputs) except *:
    """The program's values: the inputs and computed nodes it reads (numbered 0..),
    then its steps, the pending nodes below roots with operands first."""
    global BUILDS
    BUILDS += 1
    for r in roots:
        post_order(<DeferredJet>r, order, inputs, BUILDS)
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


cdef void assign_slots(Program* P, list roots, list order, list inputs, list constants,
                       list keep, int order_kind) except *:
    """Fill P's gathers, steps and results with their scratch slots, by liveness: a
    value's slot is free again after its last use, and an output never shares a
    slot with its operands (the kernels' restrict). An input with one seed for
    every element keeps its slot (its derivative rows are written once per range,
    see run_program). keep holds the buffers read."""
    cdef Py_ssize_t ninputs = len(inputs), nsteps = len(order), i, v, stride
    cdef int kind = 0 if order_kind == 1 else 1
    cdef DeferredJet node
    cdef cnp.ndarray buf
    cdef list last = [-1] * (ninputs + nsteps)     # a value's last reader (a step)
    for i in range(nsteps):
        node = <DeferredJet>order[i]
        for operand in (node.a, node.b):
            if type(operand) is DeferredJet:
                last[(<DeferredJet>operand).number] = i
    for r in roots:
        last[(<DeferredJet>r).number] = nsteps     # results stay to the end
    cdef list free_slots = [], slot_of = [0] * (ninputs + nsteps)
    for i in range(ninputs):
        node = <DeferredJet>inputs[i]
        if node.dense is None and node.seed_index >= 0:
            P.gathers[i].data = <char*>cnp.PyArray_DATA(node.seed_values)
            P.gathers[i].stride = node.seed_stride
            P.gathers[i].seed = node.seed_index
            P.gathers[i].period = node.seed_period
        else:
            buf = readable(computed(node).buf, &stride)
            keep.append(buf)
            P.gathers[i].data = <char*>cnp.PyArray_DATA(buf)
            P.gathers[i].stride = stride
            P.gathers[i].seed = -1
            P.gathers[i].period = 0
        P.gathers[i].slot = slot_of[i] = take_slot(free_slots, &P.slots)
    for i in range(nsteps):
        node = <DeferredJet>order[i]
        P.steps[i].binary = node.variant >= 0
        P.steps[i].pair = PAIR_NONE
        if i > 0 and P.steps[i - 1].pair == PAIR_NONE and partners(<DeferredJet>order[i - 1], node):
            P.steps[i - 1].pair = PAIR_RUN
            P.steps[i].pair = PAIR_DONE
            P.steps[i - 1].fn = <void*>(SP_f64[kind][node.row if PAIR_FIRST[node.row] else
                                                    (<DeferredJet>order[i - 1]).row]
                                        if P.f64 else
                                        SP_f32[kind][node.row if PAIR_FIRST[node.row] else
                                                     (<DeferredJet>order[i - 1]).row])
        P.steps[i].fn = (<void*>(SU_f64[kind][node.row] if P.f64 else SU_f32[kind][node.row])
                         if node.variant < 0 else
                         <void*>(SB_f64[kind][node.variant][node.row] if P.f64
                                 else SB_f32[kind][node.variant][node.row]))
        P.steps[i].a = operand_number(node.a, constants)
        P.steps[i].b = operand_number(node.b, constants) if node.variant >= 0 else 0
        v = ninputs + i
        slot_of[v] = take_slot(free_slots, &P.slots)
        P.steps[i].slot_out = slot_of[v]
        if P.steps[i].pair == PAIR_DONE:     # the pair kernel writes first's, then second's
            if PAIR_FIRST[node.row]:
                P.steps[i - 1].slot_out2 = P.steps[i - 1].slot_out
                P.steps[i - 1].slot_out = slot_of[v]
            else:
                P.steps[i - 1].slot_out2 = slot_of[v]
        P.steps[i].slot_a = slot_of[P.steps[i].a] if P.steps[i].a >= 0 else -1
        P.steps[i].slot_b = (slot_of[P.steps[i].b] if P.steps[i].binary and P.steps[i].b >= 0
                             else -1)
        for operand_value in (P.steps[i].a, P.steps[i].b if P.steps[i].binary else -1):
            if (operand_value >= 0 and last[operand_value] == i
                    and not (operand_value < ninputs and fixed_seed(&P.gathers[operand_value]))
                    and slot_of[operand_value] not in free_slots):
                free_slots.append(slot_of[operand_value])
    for i in range(len(roots)):
        P.results[i].slot = slot_of[(<DeferredJet>roots[i]).number]


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
    if type(node.a) is DeferredJet:
        post_order(<DeferredJet>node.a, order, inputs, build)
    if type(node.b) is DeferredJet:
        post_order(<DeferredJet>node.b, order, inputs, build)
    order.append(node)


cdef Py_ssize_t operand_number(object operand, list constants):
    """A DeferredJet's value number, or -1 - (its index in constants) for a constant."""
    if type(operand) is DeferredJet:
        return (<DeferredJet>operand).number
    constants.append(operand)
    return -len(constants)


cdef void run_program_parts(Program* P, Py_ssize_t count, Py_ssize_t numbers) noexcept:
    """The program over [0, count): without the GIL when large, in parts of several
    chunks that the pool's threads claim in turn."""
    if numbers <= NOGIL_THRESHOLD:
        program_range(P, 0, count)
        return
    cdef int parts = <int>min(max(count // (8 * P.chunk), 1), 65535)
    with nogil:
        dj_parallel_for(program_range, P, count, parts)


cdef void program_range(void* ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """Elements [lo, hi) of a Program (a dj_range_fn for the thread pool)."""
    cdef Program* P = <Program*>ctx
    if P.f64:
        run_program(P, <double*>NULL, lo, hi)
    else:
        run_program(P, <float*>NULL, lo, hi)


cdef void run_program(Program* P, real* kind, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    cdef Py_ssize_t K = P.K, cs = P.cs, per_slot = P.K * P.cs, start, m, i, e, s, stride
    cdef real* scratch = <real*>dj_thread_scratch(P.slots * per_slot * sizeof(real))
    cdef const real* src
    cdef real* dst
    cdef const real* a
    cdef const real* b
    cdef Py_ssize_t sa, sb
    cdef Step* st
    cdef char* ahead = NULL
    cdef Py_ssize_t ahead_left = 0, ahead_piece = 0
    if scratch == NULL:
        P.failed = 1
        return
    # An input with one seed for every element (x[:, j]) has the same derivative
    # rows in every chunk, and keeps its slot: they are written once per range.
    for i in range(P.ngathers):
        if fixed_seed(&P.gathers[i]):
            write_seed_rows(scratch + P.gathers[i].slot * per_slot, P.gathers[i].seed, 0, 0,
                            K, cs, min(P.chunk, hi - lo))
    start = lo
    while start < hi:
        m = min(P.chunk, hi - start)
        for i in range(P.ngathers):
            stride = P.gathers[i].stride
            src = <const real*>P.gathers[i].data + start * stride
            dst = scratch + P.gathers[i].slot * per_slot
            if P.gathers[i].seed >= 0:
                for e in range(m):
                    dst[e] = src[e * stride]
                if not fixed_seed(&P.gathers[i]):
                    write_seed_rows(dst, P.gathers[i].seed, P.gathers[i].period, start,
                                    K, cs, m)
                continue
            for e in range(m):
                for s in range(K):
                    dst[s * cs + e] = src[e * stride + s]
        if P.consecutive:      # this chunk's output, a piece before each step
            ahead = <char*>(<real*>P.out + start * P.width)
            ahead_left = m * P.width * <Py_ssize_t>sizeof(real)
            ahead_piece = (ahead_left // max(P.nsteps, 1) + 63) & ~63
        for i in range(P.nsteps):
            if ahead_left > 0:
                dj_prefetch_write(ahead, min(ahead_piece, ahead_left))
                ahead += ahead_piece
                ahead_left -= ahead_piece
            st = &P.steps[i]
            if st.pair == PAIR_DONE:
                continue
            if st.slot_a >= 0:
                a = scratch + st.slot_a * per_slot
                sa = 1
            else:
                sa = P.constants[-1 - st.a].stride
                a = <const real*>P.constants[-1 - st.a].data + start * sa
            if st.pair == PAIR_RUN:
                (<void (*)(const real*, real*, real*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil>st.fn)(
                    a, scratch + st.slot_out * per_slot, scratch + st.slot_out2 * per_slot,
                    cs, m, P.n)
                continue
            if not st.binary:
                (<void (*)(const real*, real*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil>st.fn)(
                    a, scratch + st.slot_out * per_slot, cs, m, P.n)
                continue
            if st.slot_b >= 0:
                b = scratch + st.slot_b * per_slot
                sb = 1
            else:
                sb = P.constants[-1 - st.b].stride
                b = <const real*>P.constants[-1 - st.b].data + start * sb
            (<void (*)(const real*, Py_ssize_t, const real*, Py_ssize_t, real*, Py_ssize_t, Py_ssize_t, Py_ssize_t) noexcept nogil>st.fn)(
                a, sa, b, sb, scratch + st.slot_out * per_slot, cs, m, P.n)
        if P.consecutive:
            read_rows(scratch, P.positions, P.width, m, <real*>P.out + start * P.width, P.width)
        else:
            for i in range(P.nresults):
                read_part(P, &P.results[i], scratch, <real*>P.out, start, m)
        start += m


cdef void read_part(Program* P, Result* r, const real* scratch, real* out, Py_ssize_t start,
                    Py_ssize_t m) noexcept nogil:
    """Elements [start, start + m) of a stack's part r, stacked along an axis
    before the last: element t goes to (t // inner) * parts * inner + index * inner
    + t % inner, so runs of elements with the same t // inner are consecutive."""
    cdef Py_ssize_t width = P.width // P.nresults, inner = r.inner, e = 0, run
    cdef Py_ssize_t outer = start // inner, rest = start % inner
    cdef const Py_ssize_t* positions = P.positions + r.index * width
    while e < m:
        run = min(inner - rest, m - e)
        read_rows(scratch + e, positions, width, run,
                  out + ((outer * r.parts + r.index) * inner + rest) * width, width)
        e += run
        rest = 0
        outer += 1


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


cdef inline bint fixed_seed(Gather* g) noexcept nogil:
    """Is g an input whose elements all have the same seed (x[:, j])?"""
    return g.seed >= 0 and g.period == 0


cdef inline void write_seed_rows(real* dst, Py_ssize_t seed, Py_ssize_t period,
                                 Py_ssize_t start, Py_ssize_t K, Py_ssize_t cs,
                                 Py_ssize_t m) noexcept nogil:
    """The derivative rows of m seeded elements from element `start` on,
    component-major: 1 along each element's seed (`seed`, or with a period
    element e's e % period), 0 elsewhere."""
    cdef Py_ssize_t e, s, q
    for s in range(1, K):
        memset(dst + s * cs, 0, m * sizeof(real))
    if period == 0:
        for e in range(m):
            dst[(1 + seed) * cs + e] = 1
        return
    q = start % period
    for e in range(m):
        dst[(1 + q) * cs + e] = 1
        q += 1
        if q == period:
            q = 0


# ------------------------------------------------------------------ the sweep

def deferrable(Py_ssize_t K):
    """Can deferred programs carry elements of K numbers (value and derivatives)? (Whether
    a batch transform defers is the transforms' choice: dualjac/_policy.py.)"""
    return K <= DEFERRED_MAX_K


def own_copy(array):
    """A batch transform's own C-contiguous copy of its source (see run_deferred):
    a large float source is copied by the pool's threads, a range of it each."""
    cdef cnp.ndarray src = np.asarray(array)
    if not cnp.PyArray_IS_C_CONTIGUOUS(src) or src.dtype.kind != "f" or src.size < 2 * COPY_PIECE:
        return np.array(src, copy=True, order="C")
    cdef cnp.ndarray out = np.empty_like(src)
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(src), whole = src.size // COPY_PIECE
    cdef Py_ssize_t done = whole * COPY_PIECE
    copy_blocks(<char*>cnp.PyArray_DATA(out), COPY_PIECE, <char*>cnp.PyArray_DATA(src),
                COPY_PIECE, whole, COPY_PIECE, itemsize)
    memcpy(<char*>cnp.PyArray_DATA(out) + done * itemsize,
           <char*>cnp.PyArray_DATA(src) + done * itemsize, (src.size - done) * itemsize)
    return out


# own_copy's pieces (items): each one loop the compiler turns into wide moves.
cdef Py_ssize_t COPY_PIECE = 4096


def run_deferred(f, cnp.ndarray array, _Jet level, make_dense):
    """f on a DeferredJet standing for the seeded source (array's values, which
    nothing else may write to: the transform's own copy; level a jet of the
    transform; make_dense() seeds the whole source), or NEEDS_DENSE when
    f writes into memory a deferred jet reads (f must then run on ordinary jets).
    The output may hold pending jets: deferred_derivatives() reads the result
    straight out of one, dense_target() computes them."""
    sweep = object()
    ACTIVE_ROOTS.append(sweep)
    try:
        return f(seed_input(array, level, make_dense, sweep))
    except NeedsDense:
        return NEEDS_DENSE
    except ValueError as error:
        if "read-only" in str(error):
            return NEEDS_DENSE
        raise
    finally:
        forget_root(sweep)
