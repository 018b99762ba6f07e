"""Multilinear rules: einsum, matmul, dot, inner, outer, tensordot, vecdot ...

They all go through one jet-aware einsum, which takes the cheapest of three exact forms:
two operands whose elementwise product is not much larger than they are ("bi,bi->b",
"ij,j->i") are multiplied by one jet kernel and summed by one jet reduction; one jet
among constants is one einsum over its buffer (the components ride along); anything else
applies the product rule (first and second order), one einsum per Leibniz term. matmul
takes the first form where it pays, and otherwise multiplies a jet by a constant with one
NumPy matmul over the buffer; a constant scipy.sparse matrix is applied to all of the
buffer's components at once.
"""

import functools
import math
import operator
import string
from collections import Counter

import numpy as np

from .. import _core, _separable
from .jets import (astype, is_jet, is_scipy_sparse, jet_from, normalize_axes, on_buffer,
                   reject_out, unify, value_of, view_of)
from .registry import implements, implements_ufunc
from .structural import ravel


# ---------------------------------------------------------------- einsum with the product rule

def parse_einsum(subscripts, ndims):
    """Explicit subscripts: (input specs, output spec, unused letters), ellipses expanded."""
    subscripts = subscripts.replace(" ", "")
    inputs, _, output = subscripts.partition("->")
    specs = inputs.split(",")
    used = set(c for c in subscripts if c.isalpha())
    free = [c for c in string.ascii_letters if c not in used]
    widths = [nd - (len(s) - 3) for s, nd in zip(specs, ndims) if "..." in s]
    ellipsis = "".join(free[:max(widths, default=0)])
    free = free[len(ellipsis):]
    expanded = []
    for spec, nd in zip(specs, ndims):
        if "..." in spec:
            width = nd - (len(spec) - 3)
            spec = spec.replace("...", ellipsis[len(ellipsis) - width:])
        expanded.append(spec)
    if "->" in subscripts:
        output = output.replace("...", ellipsis)
    else:
        counts = Counter("".join(expanded))
        output = ellipsis + "".join(sorted(c for c in counts if counts[c] == 1 and c not in ellipsis))
    return expanded, output, free


def jet_einsum(specs, output, free, operands):
    """einsum with the product rule: jets' components get extra seed letters.

    Dual:  t = sum_i E(.., t_i, ..)
    Hyper: d1, d2 likewise; d12 = sum_i E(.., d12_i, ..) + sum_{i != j} E(.., d1_i, .., d2_j, ..)
    """
    jets = [i for i, x in enumerate(operands) if is_jet(x)]
    proto, bufs, d1, d2 = unify([operands[i] for i in jets])
    dtype = bufs[0].dtype
    parts = {i: buf for i, buf in zip(jets, bufs)}
    values = [parts[i][..., 0] if i in parts else np.asarray(x, dtype=np.result_type(x, dtype))
              for i, x in enumerate(operands)]
    s1, s2 = free[0], free[1]
    n1 = proto.n1

    def einsum_with(replaced):
        """E over values, with operand i replaced by (array, its trailing seed letters).

        The seed axes go first, in the operands (contiguous) and in the output: then
        NumPy reduces every seed's slice with the same inner loops whatever the number
        of seeds, so chunked sweeps (parallel_iterations) stay bit-identical. With the
        seed axis last, one seed changes the loop NumPy picks, and the last bit."""
        ins, args = [], []
        for i in range(len(specs)):
            if i in replaced:
                array, letters = replaced[i]
                moved = np.moveaxis(array, range(-len(letters), 0), range(len(letters)))
                ins.append(letters + specs[i])
                args.append(np.ascontiguousarray(moved))
            else:
                ins.append(specs[i])
                args.append(values[i])
        extra = "".join(sorted(set("".join(r[1] for r in replaced.values())), key=(s1 + s2).index))
        result = np.einsum(",".join(ins) + "->" + extra + output, *args)
        return np.moveaxis(result, range(len(extra)), range(-len(extra), 0))

    value = einsum_with({})
    if proto.order == 1:
        tangent = sum(einsum_with({i: (parts[i][..., 1:], s1)}) for i in jets)
        buf = np.concatenate([value[..., None], np.broadcast_to(tangent, value.shape + (n1,))], -1)
        return jet_from(proto, buf, d1, d2)
    split = {i: second_order_parts(proto, parts[i]) for i in jets}
    t1 = sum(einsum_with({i: (split[i][0], s1)}) for i in jets)
    t2 = sum(einsum_with({i: (split[i][1], s2)}) for i in jets)
    t12 = sum(einsum_with({i: (split[i][2], s1 + s2)}) for i in jets)
    t12 = t12 + sum(einsum_with({i: (split[i][0], s1), j: (split[j][1], s2)})
                    for i in jets for j in jets if i != j)
    return jet_from(proto, assemble_second_order(proto, value, t1, t2, t12), d1, d2)


def second_order_parts(proto, buf):
    """(d1, d2, d12) of a hyper-dual buffer: S + (n1,), S + (n2,), S + (n1, n2);
    a Hessian (symmetric) buffer has d1 = d2 and its triangle unpacked."""
    n1, n2 = proto.n1, proto.n2
    if proto.order == 3:
        full = _core.unpack_symmetric(proto.with_buffer(np.ascontiguousarray(buf)),
                                      buf.shape[:-1] + (n1, n1))
        return buf[..., 1:1 + n1], buf[..., 1:1 + n1], full
    cross = buf[..., 1 + n1 + n2:].reshape(buf.shape[:-1] + (n1, n2))
    return buf[..., 1:1 + n1], buf[..., 1 + n1:1 + n1 + n2], cross


def assemble_second_order(proto, value, t1, t2, t12):
    """The buffer of proto's layout from value, first parts and the full cross block."""
    shape = value.shape
    n1, n2 = proto.n1, proto.n2
    t1 = np.broadcast_to(t1, shape + (n1,))
    t12 = np.broadcast_to(t12, shape + (n1, n2))
    if proto.order == 3:
        rows, cols = np.triu_indices(n1)
        return np.concatenate([value[..., None], t1, t12[..., rows, cols]], -1)
    return np.concatenate([value[..., None], t1, np.broadcast_to(t2, shape + (n2,)),
                           t12.reshape(shape + (n1 * n2,))], -1)


# ---------------------------------------------------------------- cheaper exact forms

# The product form materializes the operands' common broadcast (every letter at its
# extent), which is larger than the operands and the result when letters are contracted
# that one operand lacks ("ij,jk->ik"). Its growth over the largest of them is bounded by
# what the other forms cost (dual jets of a few seeds, Hessian jets of a few variables):
# - two jets: the product rule (jet_einsum) runs one einsum per Leibniz term, a Hessian
#   jet's cross terms included, so the product form's one kernel and one reduction stay
#   cheaper up to a growth of 8; far larger broadcasts (growth 32 and more) cost more,
#   dual jets first;
# - a jet and a constant: einsum on the jet's buffer (einsum_riding) is one call that
#   materializes no broadcast, so the product form stays cheaper only up to a growth of 4.
GROWTH_TWO_JETS = 8
GROWTH_JET_AND_CONSTANT = 4


@implements(np.einsum)
def einsum(subscripts, *operands, out=None, optimize=False, dtype=None, **kwargs):
    """np.einsum of jets and constants in the cheapest of three exact forms (einsum_form).
    They add the same terms in different orders, so their results agree to rounding."""
    reject_out(out, "np.einsum")
    if not isinstance(subscripts, str):
        subscripts, operands = sublist_subscripts((subscripts,) + operands)
    operands = list(operands)
    if len(operands) == 1 and is_jet(operands[0]) and dtype is None:
        view = einsum_view(subscripts, operands[0])
        if view is not None:
            return view
    shapes = tuple(x.shape if is_jet(x) else np.shape(x) for x in operands)
    form, plan = einsum_form(subscripts, shapes, tuple(is_jet(x) for x in operands))
    if form == "product":
        result = einsum_as_product(plan, operands)
    elif form == "riding":
        result = einsum_riding(plan, operands)
    else:
        result = jet_einsum(*plan, operands)
    return astype(result, dtype) if dtype is not None else result


def einsum_view(subscripts, jet):
    """np.einsum of one operand that sums over no letter ("ii->i", "ij->ji") is a view in
    NumPy, which a write through reaches: the same einsum of the jet's buffer, its
    component axis one more letter, is that view of the buffer. None when it sums."""
    (spec,), output, free = parse_einsum(subscripts, [jet.ndim])
    if not set(spec) <= set(output):
        return None
    letter = free[0]
    return view_of(jet, np.einsum(f"{spec}{letter}->{output}{letter}", jet.buf))


@functools.lru_cache(maxsize=1024)
def einsum_form(subscripts, shapes, jet_flags):
    """(form, plan) for einsum(subscripts) of operands of these shapes (jet_flags: which
    are jets). Cached: f calls the same einsum on the same shapes again and again.

    - "product": two operands whose product is small (fits_product_form), multiplied
      and summed over the contracted letters (einsum_as_product);
    - "riding": one jet among constants, einsum on its buffer (einsum_riding);
    - "rule": the product rule, one einsum per Leibniz term (jet_einsum)."""
    growth = GROWTH_TWO_JETS if all(jet_flags) else GROWTH_JET_AND_CONSTANT
    plan = product_form_plan(subscripts, shapes, growth)
    if plan is not None:
        return "product", plan
    specs, output, free = parse_einsum(subscripts, [len(shape) for shape in shapes])
    if letter_extents(specs, shapes) is not None and sum(jet_flags) == 1:
        j = jet_flags.index(True)
        letter = free[0]
        ins = [letter + spec if i == j else spec for i, spec in enumerate(specs)]
        return "riding", (j, ",".join(ins) + "->" + letter + output)
    return "rule", (specs, output, free)


@functools.lru_cache(maxsize=1024)
def product_form_plan(subscripts, shapes, growth):
    """product_plan for einsum(subscripts) of operands of these shapes when it fits the
    product form with this growth (fits_product_form), else None."""
    specs, output, _ = parse_einsum(subscripts, [len(shape) for shape in shapes])
    extents = letter_extents(specs, shapes)
    if extents is None or not fits_product_form(specs, output, shapes, extents, growth):
        return None
    return product_plan(specs, output)


def letter_extents(specs, shapes):
    """{letter: extent} over the operands, size-1 axes broadcast as einsum does; None
    when a spec does not match its operand's rank or two extents differ (NumPy's
    einsum then raises its own error, on the general path)."""
    extents = {}
    for spec, shape in zip(specs, shapes):
        if len(spec) != len(shape):
            return None
        for letter, n in zip(spec, shape):
            known = extents.get(letter, 1)
            if known != 1 and n not in (1, known):
                return None
            extents[letter] = n if known == 1 else known
    return extents


def fits_product_form(specs, output, shapes, extents, growth):
    """Whether a two-operand einsum is cheapest as a product and a sum: no letter twice
    in a spec (no diagonals), every output letter an operand's, and the product of every
    letter's extent at most `growth` times the largest of the operands and the result."""
    if len(specs) != 2 or any(len(set(s)) != len(s) for s in specs + [output]):
        return False
    if any(letter not in extents for letter in output):
        return False
    largest = max([math.prod(shape) for shape in shapes]
                  + [math.prod(extents[letter] for letter in output)])
    return math.prod(extents.values()) <= growth * max(largest, 1)


def product_plan(specs, output):
    """How einsum_as_product sees each operand: in one letter order, output letters first
    and then the contracted ones, with a size-1 axis for each letter it lacks:
    ((axes, index) or None when it is already so, ...), and the number of
    contracted letters."""
    summed = "".join(dict.fromkeys(c for spec in specs for c in spec if c not in output))
    order = output + summed
    views = []
    for spec in specs:
        axes = [spec.index(c) for c in order if c in spec]
        index = tuple(slice(None) if c in spec else None for c in order)
        same = axes == list(range(len(spec))) and len(order) == len(spec)
        views.append(None if same else (axes, index))
    return tuple(views), len(summed)


def einsum_as_product(plan, operands):
    """einsum of two operands as np.sum(a * b) over the contracted letters: one jet
    kernel for the product (value and every derivative at once, broadcasting in the
    kernel), one jet reduction along one axis (the contracted letters' axes, made one)."""
    views, summed = plan
    product = np.multiply(*[x if view is None else aligned(x, *view)
                            for x, view in zip(operands, views)])
    if summed == 0:
        return product
    if summed > 1:
        product = np.reshape(product, product.shape[:product.ndim - summed] + (-1,))
    return sum_last_axis(product)


def aligned(x, axes, index):
    """x transposed by axes and indexed by index (size-1 axes): a view, of the buffer
    for a jet."""
    if not is_jet(x):
        return np.asarray(x).transpose(axes)[index]
    return view_of(x, x.buf.transpose(axes + [len(axes)])[index])


def sum_last_axis(product):
    """np.sum(product, axis=-1), calling the jet reduction itself outside separable
    sweeps (where np.sum may return a partial sum, dualjac/_separable.py)."""
    if is_jet(product) and not _separable.ACTIVE[0]:
        if product.ndim == 1:
            return _core.sum_elements(product)
        result = _core.sum_along_axis(product, product.ndim - 1, False)
        if result is not None:
            return result
    return np.sum(product, axis=-1)


def einsum_riding(plan, operands):
    """einsum of one jet (operand j) and constants, on the jet's buffer: its component
    axis is one more letter, as einsum is linear in each operand, so one call computes
    the value and every derivative. The component axis goes first, as in jet_einsum's
    einsum_with (the same loops whatever the number of seeds)."""
    j, subscripts = plan
    jet = operands[j]
    buf = np.ascontiguousarray(np.moveaxis(jet.buf, -1, 0))
    args = [buf if i == j else np.asarray(x) for i, x in enumerate(operands)]
    return on_buffer(jet, np.moveaxis(np.einsum(subscripts, *args), 0, -1))


def sublist_subscripts(arguments):
    """np.einsum(a, [0, 1], b, [1, 2], [0, 2]) as ("ab,bc->ac", (a, b)): NumPy's sublist
    form, whose integers 0..51 are the letters a..z, A..Z and Ellipsis is '...'."""
    arguments = list(arguments)
    output = arguments.pop() if len(arguments) % 2 else None
    operands, sublists = arguments[0::2], arguments[1::2]

    def spell(sublist):
        try:
            return "".join("..." if s is Ellipsis else string.ascii_letters[operator.index(s)]
                           if 0 <= operator.index(s) < 52 else "!" for s in sublist)
        except TypeError:
            raise TypeError("dualjac: np.einsum sublists hold integers 0..51 or Ellipsis") from None

    inputs = ",".join(spell(s) for s in sublists)
    if output is not None:
        inputs += "->" + spell(output)
    if "!" in inputs:
        raise ValueError("subscript is not within the valid range [0, 52)")
    return inputs, tuple(operands)


def _letters(n, start=0):
    return string.ascii_lowercase[start:start + n]


# ---------------------------------------------------------------- matmul and friends

@implements(np.matmul)
@implements_ufunc(np.matmul)   # NumPy 2: matmul is a generalized ufunc too
def matmul(a, b, out=None, **kwargs):
    reject_out(out, "np.matmul")
    if is_scipy_sparse(a) or is_scipy_sparse(b):
        return _sparse_matmul(a, b)
    if _separable.ACTIVE[0]:
        partial = _separable.vector_product(a, b, np.multiply)
        if partial is not None:
            return partial
    _check_core_dimensions(_shape_of(a), _shape_of(b), "matmul")
    product = _matmul_as_product(a, b)
    if product is not None:
        return product
    if is_jet(a) and is_jet(b):
        if a.order == 1 and b.order == 1 and a.level() == b.level():
            # (a b)' = a' b + a b': two matmuls that each keep the buffer layout.
            result = _jet_matmul_constant(a, b.buf[..., 0])
            rest = _constant_matmul_jet(a.buf[..., 0], b)
            buf = result.buf.copy()
            buf[..., 1:] += rest.buf[..., 1:]
            return a.with_buffer(buf, a.deps1 | b.deps1, a.deps2 | b.deps2)
        return _matmul_einsum(a, b)
    if is_jet(b):
        return _constant_matmul_jet(np.asarray(a), b)
    return _jet_matmul_constant(a, np.asarray(b))


def _sparse_matmul(a, b):
    """L @ x or x @ L with L a constant scipy.sparse matrix: L applied to every component of
    the jet's buffer at once (a sparse times dense-block product, in SciPy's C code)."""
    if is_scipy_sparse(a) and is_scipy_sparse(b) or not (is_jet(a) or is_jet(b)):
        raise TypeError("dualjac: a product of scipy.sparse matrices has no dual operand here")
    if is_jet(b):                                   # L (m, n) @ b (n,) or (n, p)
        L, buf = a.tocsr(), b.buf
        if b.ndim not in (1, 2) or b.shape[0] != L.shape[1]:
            raise ValueError(f"matmul: L has shape {L.shape}, x has shape {b.shape}")
        flat = buf.reshape(buf.shape[0], -1)
        out = np.asarray(L @ flat).reshape((L.shape[0],) + buf.shape[1:])
        return b.with_buffer(np.ascontiguousarray(out.astype(buf.dtype, copy=False)))
    L, buf = b.tocsr(), a.buf                       # a (n,) or (m, n) @ L (n, p)
    if a.ndim not in (1, 2) or a.shape[-1] != L.shape[0]:
        raise ValueError(f"matmul: x has shape {a.shape}, L has shape {L.shape}")
    moved = np.moveaxis(buf, a.ndim - 1, 0)        # (n, [m,] K)
    out = np.asarray(L.T @ moved.reshape(moved.shape[0], -1)).reshape(
        (L.shape[1],) + moved.shape[1:])
    return a.with_buffer(np.ascontiguousarray(np.moveaxis(out, 0, a.ndim - 1).astype(
        buf.dtype, copy=False)))


def _constant_matmul_jet(A, b):
    """A @ b with b a jet: one matmul over the buffer (the components ride along)."""
    K = b.ncomponents
    dtype = np.result_type(A, b.dtype)
    if b.ndim == 1:
        buf = np.matmul(A.astype(dtype, copy=False), b.buf.astype(dtype, copy=False))
    else:
        flat = b.buf.reshape(b.shape[:-1] + (b.shape[-1] * K,)).astype(dtype, copy=False)
        out = np.matmul(A.astype(dtype, copy=False), flat)
        buf = out.reshape(out.shape[:-1] + (b.shape[-1], K))
    return b.with_buffer(np.ascontiguousarray(buf))


def _jet_matmul_constant(a, B):
    """a @ B with a a jet: the component axis moved in front of the matrix axes."""
    dtype = np.result_type(a.dtype, B)
    B = B.astype(dtype, copy=False)
    abuf = a.buf.astype(dtype, copy=False)
    if a.ndim == 1:
        out = np.matmul(abuf.T, B)                         # (..., K, p) or (K,)
        buf = out if B.ndim == 1 else np.moveaxis(out, -2, -1)
    else:
        if B.ndim > 2:
            B = B[..., None, :, :]                         # align B's batch with a's
        out = np.matmul(np.moveaxis(abuf, -1, -3), B)      # (..., K, m, p) or (..., K, m)
        buf = np.moveaxis(out, -2, -1) if B.ndim == 1 else np.moveaxis(out, -3, -1)
    return a.with_buffer(np.ascontiguousarray(buf))


def _matmul_subscripts(na, nb):
    """np.matmul of operands of these ranks (at least 1) as einsum subscripts."""
    if na == 1 and nb == 1:
        return "i,i->"
    if na == 1:
        return "j,...jk->...k"
    if nb == 1:
        return "...ij,j->...i"
    return "...ij,...jk->...ik"


def _matmul_einsum(a, b):
    return einsum(_matmul_subscripts(np.ndim(value_of(a)), np.ndim(value_of(b))), a, b)


# a @ b takes the product form under the bounds einsum takes (_matmul_as_product). Two
# jets: matmul's own forms (two matmuls for dual jets, the product rule's einsums for
# Hessian jets) cost no less than the product form, on small and large operands alike. A
# jet and a constant: matmul over the buffer (BLAS) is faster on large operands unless
# the product is no larger than they are (growth 1), while on small ones Python's overhead
# per call decides, in the product form's favor up to operands of SMALL_OPERAND elements
# (the case that sets it: rows of 3 times a 3 x 3 constant, at 3 seeds or variables).
SMALL_OPERAND = 256


def _shape_of(x):
    return x.shape if is_jet(x) else np.shape(x)


def _check_core_dimensions(sa, sb, who):
    """NumPy's error when a's last axis and b's contracted one differ: the product rule
    runs on einsum, which would broadcast a length-1 axis against any length instead."""
    if not sa or not sb:
        return                           # 0-d: the operation's own error
    k_b = sb[-2] if len(sb) >= 2 else sb[-1]
    if sa[-1] == k_b:
        return
    if who == "dot":
        raise ValueError(f"shapes {tuple(sa)} and {tuple(sb)} not aligned: {sa[-1]} "
                         f"(dim {len(sa) - 1}) != {k_b} (dim {max(len(sb) - 2, 0)})")
    raise ValueError("matmul: Input operand 1 has a mismatch in its core dimension 0, with "
                     f"gufunc signature (n?,k),(k,m?)->(n?,m?) (size {k_b} is different "
                     f"from {sa[-1]})")


def _matmul_as_product(a, b):
    """a @ b as einsum's product form (einsum_as_product) where that is cheaper than
    matmul's own forms below; None elsewhere."""
    shapes = (a.shape if is_jet(a) else np.shape(a), b.shape if is_jet(b) else np.shape(b))
    if not shapes[0] or not shapes[1]:
        return None                      # 0-d: matmul's own error, below
    if is_jet(a) and is_jet(b):
        growth = GROWTH_TWO_JETS
    elif max(math.prod(shape) for shape in shapes) <= SMALL_OPERAND:
        growth = GROWTH_JET_AND_CONSTANT
    else:
        growth = 1
    plan = product_form_plan(_matmul_subscripts(len(shapes[0]), len(shapes[1])), shapes, growth)
    return None if plan is None else einsum_as_product(plan, [a, b])


def _full_or_scalar_product(a, b):
    """np.dot / np.inner of two vectors kept apart as a sum of terms in a separable sweep
    (dualjac/_separable.py), or of a scalar and an array; None for the general way."""
    if _separable.ACTIVE[0]:
        partial = _separable.vector_product(a, b, np.multiply)
        if partial is not None:
            return partial
    if np.ndim(value_of(a)) == 0 or np.ndim(value_of(b)) == 0:
        return _scalar_product(a, b)
    return None


@implements(np.dot)
def dot(a, b, out=None):
    reject_out(out, "np.dot")
    _check_core_dimensions(_shape_of(a), _shape_of(b), "dot")
    special = _full_or_scalar_product(a, b)
    if special is not None:
        return special
    na, nb = np.ndim(value_of(a)), np.ndim(value_of(b))
    if na <= 2 and nb <= 2:
        return matmul(a, b)
    # N-D dot: a's last axis against b's second-to-last (its only axis when 1-D).
    la = _letters(na)
    if nb == 1:
        return einsum(f"{la},{la[-1]}->{la[:-1]}", a, b)
    lb = _letters(nb, na)
    lb = lb[:-2] + la[-1] + lb[-1]
    return einsum(f"{la},{lb}->{la[:-1]}{lb[:-2]}{lb[-1]}", a, b)


@implements(np.vdot)
def vdot(a, b):
    return dot(_ravel_any(a), _ravel_any(b))


@implements(np.inner)
def inner(a, b):
    special = _full_or_scalar_product(a, b)
    if special is not None:
        return special
    na, nb = np.ndim(value_of(a)), np.ndim(value_of(b))
    la, lb = _letters(na), _letters(nb, na)
    lb = lb[:-1] + la[-1]
    return einsum(f"{la},{lb}->{la[:-1]}{lb[:-1]}", a, b)


@implements(np.outer)
def outer(a, b, out=None):
    reject_out(out, "np.outer")
    return einsum("i,j->ij", _ravel_any(a), _ravel_any(b))


@implements(np.tensordot)
def tensordot(a, b, axes=2):
    na, nb = np.ndim(value_of(a)), np.ndim(value_of(b))
    if isinstance(axes, (int, np.integer)):
        axes_a, axes_b = list(range(na - axes, na)), list(range(axes))
    else:
        axes_a, axes_b = [normalize_axes(ax, n) for ax, n in zip(axes, (na, nb))]
    la, lb = list(_letters(na)), list(_letters(nb, na))
    for i, j in zip(axes_a, axes_b):
        lb[j] = la[i]
    out = [c for i, c in enumerate(la) if i not in axes_a] + [c for j, c in enumerate(lb) if j not in axes_b]
    return einsum(f"{''.join(la)},{''.join(lb)}->{''.join(out)}", a, b)


def _scalar_product(a, b):
    """dot / inner with a scalar: NumPy converts a Python scalar to an array
    first (so it is not 'weak' as in a ufunc), and so do we."""
    return np.multiply(a if is_jet(a) else np.asarray(a), b if is_jet(b) else np.asarray(b))


def _ravel_any(x):
    return ravel(x) if is_jet(x) else np.ravel(x)


# NumPy 2 implements these linear-algebra functions as generalized ufuncs: np.einsum of
# their spec (a deferred jet records the einsum).
def _einsum_with_spec(spec, a, b):
    return np.einsum(spec, a, b)


for _name, _spec in (("vecdot", "...i,...i->..."), ("matvec", "...ij,...j->...i"),
                     ("vecmat", "...i,...ij->...j")):
    if hasattr(np, _name):
        implements_ufunc(getattr(np, _name), stand_ins=True)(
            functools.partial(_einsum_with_spec, _spec))
