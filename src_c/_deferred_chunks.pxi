# How a deferred program's rows are cut (src_c/_deferred_programs.pxi runs them): into
# chunks whose working set stays in L1, and into parts of whole chunks for the pool's threads.


cdef void set_chunk(Program* P) except *:
    """P.chunk (rows) and P.cs (the scratch's component stride): what a chunk touches
    (chunk_row_bytes) about SCRATCH_TARGET, and at least 16 numbers per kernel call;
    programs of many lanes take at least MIN_CHUNK rows. The scratch itself (every slot
    P.lanes wide) stays within SCRATCH_MAX."""
    cdef Py_ssize_t row_bytes, raw
    row_bytes = P.slots * P.K * P.lanes * P.itemsize
    raw = SCRATCH_TARGET // chunk_row_bytes(P)
    if P.lanes == 1:
        P.chunk = min(max(raw & ~7, 16), DJ_BLOCK)
    else:
        P.chunk = min(max(raw & ~7 if raw >= 16 else raw, (15 + P.lanes) // P.lanes,
                          min(MIN_CHUNK, max(SCRATCH_MAX // row_bytes, 1))), DJ_BLOCK,
                      max(SCRATCH_MAX // row_bytes, 1))
    P.cs = P.lanes * P.chunk + 16      # padded: component rows 4 KiB apart alias in L1


cdef Py_ssize_t chunk_row_bytes(Program* P) except -1:
    """The bytes a chunk touches per row, which should stay in L1 while the chunk runs: the
    scratch its steps write (each slot as wide as the widest value it holds: reductions
    leave most values narrower than the program's widest, and a value fills its slot
    from lane 0), the output rows prefetched for the read-out, the source rows read ahead."""
    cdef Py_ssize_t i, total = 0
    cdef Step* stacked = stacked_result(P)
    cdef Py_ssize_t* widest = <Py_ssize_t*>calloc(max(P.slots, 1), sizeof(Py_ssize_t))
    if widest == NULL:
        raise MemoryError()
    for i in range(P.ngathers):
        widest[P.gathers[i].slot] = max(widest[P.gathers[i].slot], P.gathers[i].lanes)
    for i in range(P.nsteps):
        if &P.steps[i] == stacked:
            continue            # read out from its parts: never written
        widest[P.steps[i].slot_out] = max(widest[P.steps[i].slot_out], P.steps[i].lanes)
        if P.steps[i].pair == PAIR_RUN:
            widest[P.steps[i].slot_out2] = max(widest[P.steps[i].slot_out2], P.steps[i].lanes)
    for i in range(P.slots):
        total += widest[i]
    free(widest)
    cdef Py_ssize_t width = (P.K if P.readout == READ_JET else
                             P.K - 1 if P.readout == READ_TANGENT else P.n * P.n)
    return (max(total, 1) * P.K + P.result_lanes * width) * P.itemsize + P.ahead_row_bytes


# Chunks per part of a program that the pool's threads claim. 8: larger parts claim the
# pool's shared ticket less often and run more chunks back to back on one thread; smaller
# ones would share the rows out more finely when a thread wakes late, but gain less than
# their extra claims cost, even on a loaded machine (see benchmarks/batch.py's energy
# Hessian and force Jacobian on 2 threads).
cdef Py_ssize_t PART_CHUNKS = 8


cdef void run_program_parts(Program* P, Py_ssize_t rows, Py_ssize_t numbers) noexcept:
    """The program over rows [0, rows): without the GIL when large, in parts of whole
    chunks that the pool's threads claim in turn, as many for each thread (five parts on
    two threads would leave one thread a part of work alone at the end)."""
    if numbers <= NOGIL_THRESHOLD:
        program_range(P, 0, rows)
        return
    cdef Py_ssize_t chunks = (rows + P.chunk - 1) // P.chunk
    cdef Py_ssize_t threads = max(dj_get_threads(), 1)
    cdef Py_ssize_t parts = max(chunks // PART_CHUNKS, 1)
    if parts > 1:
        parts = min((parts + threads - 1) // threads * threads, chunks)
    P.rows = rows
    with nogil:
        dj_parallel_for(program_chunks, P, chunks, <int>min(parts, 65535))


cdef void program_chunks(void* ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """Chunks [lo, hi) of a Program's rows (a dj_range_fn for the thread pool)."""
    cdef Program* P = <Program*>ctx
    program_range(P, lo * P.chunk, min(hi * P.chunk, P.rows))


cdef void program_range(void* ctx, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """Rows [lo, hi) of a Program."""
    cdef Program* P = <Program*>ctx
    if P.f64:
        run_program(P, <double*>NULL, lo, hi)
    else:
        run_program(P, <float*>NULL, lo, hi)


