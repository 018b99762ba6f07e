# Tags: which transform's seeds a jet's derivatives are along, and whether that
# transform can still use them.
#
# Design
# ------
# A tag is (serial << MAKER_BITS) | maker: serials increase, so comparing tags
# compares their age (the later tag is the inner level); the low bits say what
# made the jet, so an error can name it. Makers:
#
#   a transform (dj.jacobian, dj.hessian, ..., a GradientTape): its tags are
#       *live* while it runs (a GradientTape's: while the tape object exists),
#       on whatever thread. A jet of a tag that is not live (kept after its
#       transform returned) has derivatives along seeds nobody will read: it is
#       refused wherever it meets a jet of another tag and wherever a transform
#       reads it as f's result, since treating it as ours (or as another level)
#       would be a wrong derivative.
#   STANDALONE (the public DualArray(value, tangent) constructor): forward mode
#       outside transforms, along the user's own directions. Such a jet can be
#       an outer level of a transform (built before it started), never an
#       inner one: one built inside a transform's f holds a tangent the user
#       meant along the transform's seeds, which dualjac cannot know, so it is
#       refused there.
#   FOREIGN (unpickled from another process): serials are per process, so its
#       tag may equal one of ours by accident. Unpickling gives it a fresh local
#       tag that is never live, so it is refused in transforms like a stale jet
#       rather than taken as a constant: dropping its derivatives silently could
#       be as wrong as mixing them in.
#
# The checks run only where jets of different tags meet (join_level, the
# transforms' seeding of a jet source) and where a transform reads a result
# that is not its own common case: operations of one level never pay for them.

from cpython.mem cimport PyMem_Realloc


cdef enum:
    MAKER_BITS = 4
cdef long long MAKER_MASK = (1 << MAKER_BITS) - 1
cdef int STANDALONE = 1
cdef int FOREIGN = 2
cdef int TRANSFORM_JACOBIAN = 3
cdef int TRANSFORM_HESSIAN = 5

# What each maker code is called in messages (index = code).
cdef tuple MAKER_NAMES = (
    "an unknown transform", "dj.DualArray(value, tangent)", "another process",
    "dj.jacobian", "dj.batch_jacobian", "dj.hessian", "dj.batch_hessian", "dj.jvp",
    "dj.hvp", "dj.GradientTape", "dj.value_gradient_hessian", "dj.gradient")
assert len(MAKER_NAMES) <= 1 << MAKER_BITS
cdef dict MAKER_CODES = {name: code for code, name in enumerate(MAKER_NAMES)}

cdef long long _tag_serial = 0

# The tags of the transforms running now (any thread) and of the tapes alive: a
# plain C array (every transform adds and removes its tags, and a Python set
# would cost a PyLong and a hash each time). Few are live at once; newest last,
# so a transform's release usually finds its tag at the end. GIL held throughout.
cdef long long* LIVE = NULL
cdef Py_ssize_t LIVE_COUNT = 0, LIVE_CAPACITY = 0


cdef int live_add(long long tag) except -1:
    global LIVE, LIVE_CAPACITY, LIVE_COUNT
    cdef long long* grown
    if LIVE_COUNT == LIVE_CAPACITY:
        grown = <long long*>PyMem_Realloc(LIVE, (2 * LIVE_CAPACITY + 16) * sizeof(long long))
        if grown == NULL:
            raise MemoryError()
        LIVE, LIVE_CAPACITY = grown, 2 * LIVE_CAPACITY + 16
    LIVE[LIVE_COUNT] = tag
    LIVE_COUNT += 1
    return 0


cdef inline void live_discard(long long tag) noexcept:
    global LIVE_COUNT
    cdef Py_ssize_t i = LIVE_COUNT - 1
    while i >= 0:
        if LIVE[i] == tag:
            LIVE_COUNT -= 1
            LIVE[i] = LIVE[LIVE_COUNT]
            return
        i -= 1


cdef inline bint is_live_tag(long long tag) noexcept:
    cdef Py_ssize_t i = LIVE_COUNT - 1
    while i >= 0:
        if LIVE[i] == tag:
            return True
        i -= 1
    return False


cdef inline long long draw_tag(int maker) noexcept:
    """A fresh tag (GIL held: the serial is shared by every thread)."""
    global _tag_serial
    _tag_serial += 1
    return (_tag_serial << MAKER_BITS) | maker


cdef inline long long hold_new_tag(int maker) except? -1:
    cdef long long tag = draw_tag(maker)
    live_add(tag)
    return tag


cdef inline void release(long long tag) noexcept:
    live_discard(tag)


cdef int maker_code(str maker) except -1:
    found = MAKER_CODES.get(maker)
    if found is None:
        raise ValueError(f"dualjac: unknown tag maker {maker!r}; one of {MAKER_NAMES[3:]}")
    return <int>found


def new_tag(maker="dj.DualArray(value, tangent)"):
    """A fresh tag, not live; tags increase, so a transform started later is 'inner'.
    A transform holds its tags live with LiveTags (a tape with hold_tag)."""
    return draw_tag(maker_code(maker))


def hold_tag(long long tag):
    """Make tag live (a GradientTape's, for as long as the tape exists)."""
    live_add(tag)


def release_tag(long long tag):
    release(tag)


def is_live(long long tag):
    return is_live_tag(tag)


cdef class LiveTags:
    """``with LiveTags("dj.hessian", 2) as (tag1, tag2):`` fresh tags of a
    transform, live inside the block (``as tag`` for one)."""
    cdef int maker
    cdef int count
    cdef tuple tags

    def __init__(self, str maker, int count=1):
        self.maker = maker_code(maker)
        self.count = count

    def __enter__(self):
        self.tags = tuple([hold_new_tag(self.maker) for _ in range(self.count)])
        return self.tags[0] if self.count == 1 else self.tags

    def __exit__(self, *exc_info):
        for tag in self.tags:
            release(tag)
        return False


# ------------------------------------------------------------------ the checks

cdef inline str maker_name(long long tag):
    cdef long long code = tag & MAKER_MASK
    return MAKER_NAMES[code] if code < len(MAKER_NAMES) else MAKER_NAMES[0]


cdef object unusable_tag_error(long long tag, str where):
    """The error for a jet of `tag` used in `where` (a transform, or an operation)."""
    cdef int maker = tag & MAKER_MASK
    if maker == FOREIGN:
        return TypeError(
            f"dualjac: a jet unpickled from another process was used in {where}: its "
            "derivatives are along the seeds of a transform of that process, which mean "
            "nothing here. Send plain values instead (jet.value), or compute with its "
            "values here (np.array(w.value)).")
    if maker == STANDALONE:
        return TypeError(
            f"dualjac: a jet built with dj.DualArray(value, tangent) inside {where} was "
            f"combined with the transform's jets or returned from f: its tangent is not "
            "along the transform's seeds, so its derivative would be wrong or missing. "
            "Compute with NumPy functions of the array f receives (custom derivative "
            "rules are not supported yet); use dj.stop_gradient(a) for a constant, or "
            "dj.jvp for a directional derivative. dj.DualArray(value, tangent) is for "
            "forward mode outside transforms.")
    if maker == MAKER_CODES["dj.GradientTape"]:
        made = "a dj.GradientTape that no longer exists"
    else:
        made = f"a {maker_name(tag)} call that has returned"
    return TypeError(
        f"dualjac: a jet from {made} was used in {where}; its derivatives are along "
        "seeds that transform no longer reads. Compute with its values (x.value) or "
        "inside the transform.")


cdef inline bint usable_alone(long long tag):
    """Is tag a live transform's or a standalone jet's (no tag: 0, also fine)?"""
    return tag == 0 or (tag & MAKER_MASK) == STANDALONE or is_live_tag(tag)


cdef long long unusable(long long t1, long long t2, long long t3, long long t4) except -1:
    """Of the tags of jets about to be combined (0: none), the first that may not
    be: not live, or standalone and newer than a transform's tag among them (so
    built inside it); 0 if none."""
    cdef long long tags[4]
    tags[0], tags[1], tags[2], tags[3] = t1, t2, t3, t4
    cdef long long oldest_transform = 0, newest_standalone = 0, t
    cdef int i
    for i in range(4):
        t = tags[i]
        if not usable_alone(t):
            return t
        if t == 0:
            continue
        if (t & MAKER_MASK) == STANDALONE:
            newest_standalone = max(newest_standalone, t)
        elif oldest_transform == 0 or t < oldest_transform:
            oldest_transform = t
    if oldest_transform and newest_standalone > oldest_transform:
        return newest_standalone
    return 0


cdef str user_of(_Jet a, _Jet b):
    """The transform whose jets meet here, for messages: the newest live tag's."""
    cdef long long newest = 0
    for t in (a.tag1, a.tag2, b.tag1, b.tag2):
        if is_live_tag(t) and t > newest:
            newest = t
    return maker_name(newest) if newest else "an operation with a jet of another tag"


cdef int check_meeting(_Jet a, _Jet b) except -1:
    """Jets of different levels about to be combined (join_level)."""
    cdef long long bad = unusable(a.tag1, a.tag2, b.tag1, b.tag2)
    if bad:
        raise unusable_tag_error(bad, user_of(a, b))
    return 0


cdef int check_source_jet(_Jet a, long long ours) except -1:
    """A jet handed to a transform (tag `ours`) as its source: it will be the outer level."""
    cdef long long bad = unusable(a.tag1, a.tag2, ours, 0)
    if bad:
        raise unusable_tag_error(bad, maker_name(ours))
    return 0


def check_source(object a, long long ours, str where=None):
    """A source jet of the transform of tag `ours` (0: not drawn yet, then `where`
    names it) must be live or standalone."""
    cdef long long bad
    if isinstance(a, _Jet):
        bad = unusable((<_Jet>a).tag1, (<_Jet>a).tag2, ours, 0)
        if bad:
            raise unusable_tag_error(bad, where or maker_name(ours))


def check_target(object y, long long ours):
    """f's result y, read by the transform of tag `ours` (not its common case):
    a jet of a tag that is not live, from another process, or built with the
    constructor inside the transform is refused (None would be a silent loss)."""
    if isinstance(y, _Jet):
        check_source_jet(<_Jet>y, ours)


# ------------------------------------------------------------------ pickling

# Identifies this process in pickles: a jet unpickled where it was pickled keeps
# its tags (a faithful copy: inside its transform, the same derivatives along the
# same seeds; after it, refused as any stale jet). A forked child draws a new one,
# since it continues the parent's serials and so reuses its tags for other seeds.
cdef object PROCESS_TOKEN = None
# (origin, tag) -> local tag, so jets of one foreign level still combine alike.
cdef dict FOREIGN_TAGS = {}


cdef void new_process_token() noexcept:
    global PROCESS_TOKEN
    import os
    PROCESS_TOKEN = os.urandom(16)
    FOREIGN_TAGS.clear()


def _after_fork_in_child():
    new_process_token()


new_process_token()
import os as _os
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_after_fork_in_child)


cdef long long local_tag(object origin, long long tag):
    """The tag, in this process, of a level pickled by process `origin`."""
    if tag == 0 or origin == PROCESS_TOKEN:
        return tag
    key = (origin, tag)
    found = FOREIGN_TAGS.get(key)
    if found is None:
        # A standalone level stays standalone (its directions are the user's); a
        # transform's becomes a foreign one, never live here.
        found = FOREIGN_TAGS[key] = draw_tag(
            STANDALONE if (tag & MAKER_MASK) == STANDALONE else FOREIGN)
    return <long long>found


def unpickle_jet(type kind, cnp.ndarray buf, int order, Py_ssize_t n1, Py_ssize_t n2,
                 long long tag1, long long tag2, uint64_t deps1, uint64_t deps2,
                 object origin):
    check_pickled_layout(kind, buf, order, n1, n2)
    cdef _Jet j = <_Jet>kind.__new__(kind)
    cdef long long local1 = local_tag(origin, tag1), local2 = local_tag(origin, tag2)
    if tag2 and local2 < local1:   # mapped out of order: keep the outer level first
        local2 = local_tag_after(origin, tag2, local1)
    init_jet(j, buf, order, n1, n2, local1, local2, deps1, deps2)
    return j


cdef int check_pickled_layout(type kind, cnp.ndarray buf, int order, Py_ssize_t n1,
                              Py_ssize_t n2) except -1:
    """The kernels trust a jet's layout: a pickle that does not match is refused."""
    cdef Py_ssize_t K
    if order == 1 and kind is DualArray:
        K = 1 + n1
    elif order == 2 and kind is HyperDualArray:
        K = 1 + n1 + n2 + n1 * n2
    elif order == 3 and kind is HyperDualArray and n1 == n2:
        K = 1 + n1 + n1 * (n1 + 1) // 2
    else:
        raise ValueError(f"dualjac: not a pickled jet ({kind.__name__}, order {order})")
    if buf.ndim < 1 or buf.shape[buf.ndim - 1] != K or n1 < 0 or n2 < 0:
        raise ValueError(f"dualjac: a pickled jet's buffer has {(<object>buf).shape[-1:]} "
                         f"components, its level needs {K}")
    return 0


cdef long long local_tag_after(object origin, long long tag, long long floor):
    """A fresh local tag for (origin, tag) newer than floor (inner levels stay inner)."""
    cdef long long fresh = draw_tag(<int>(local_tag(origin, tag) & MAKER_MASK))
    FOREIGN_TAGS[(origin, tag)] = fresh
    return fresh


cdef tuple jet_reduction(_Jet j):
    return (unpickle_jet, (type(j), j.buf, j.order, j.n1, j.n2, j.tag1, j.tag2,
                           jdeps1(j), jdeps2(j), PROCESS_TOKEN))
