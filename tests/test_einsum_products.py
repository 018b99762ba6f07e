"""np.einsum, np.matmul and np.vecdot of jets in their three exact forms (dispatch/products.py):
a small two-operand product as a jet product and a jet sum, one jet among constants on its
buffer, the product rule otherwise. Each Jacobian and Hessian is checked against the product
rule written out with plain NumPy, each value against np.einsum of the values."""

import numpy as np
import pytest

import dualjac as dj
from dualjac.dispatch import products

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "banded", "deferred")

RNG = np.random.default_rng(7)
C3 = RNG.uniform(-1, 1, 3)
C33 = RNG.uniform(-1, 1, (3, 3))
C99 = RNG.uniform(-1, 1, (9, 9))


def case(subscripts, pick_a, b, size, form, call=None):
    """f(x) = call(sin(pick_a(x)), exp(b(x))), or call(sin(pick_a(x)), b) for a constant
    array b: np.einsum(subscripts, ...) of the two; `form` is the one products.einsum_form
    picks."""
    constant = isinstance(b, np.ndarray)
    return dict(subscripts=subscripts, pick_a=pick_a, pick_b=(lambda x: b) if constant else b,
                constant=constant, size=size, form=form,
                call=call or (lambda a, b: np.einsum(subscripts, a, b)))


# Whole-array transforms (dj.jacobian, dj.hessian): x has `size` elements.
CASES = {
    "rows dot": case("bi,bi->b", lambda x: x[:6].reshape(2, 3), lambda x: x[6:].reshape(2, 3),
                     12, "product"),
    "vector dot": case("i,i->", lambda x: x[:4], lambda x: x[4:], 8, "product"),
    "hadamard": case("bi,bi->bi", lambda x: x[:6].reshape(2, 3), lambda x: x[6:].reshape(2, 3),
                     12, "product"),
    "matrix vector, short j": case("ij,j->i", lambda x: x[:8].reshape(4, 2), lambda x: x[8:],
                                   10, "product"),
    "batched matrix vector": case("bij,bj->bi", lambda x: x[:8].reshape(2, 2, 2),
                                  lambda x: x[8:].reshape(2, 2), 12, "product"),
    "ellipsis broadcast": case("...i,...i->...", lambda x: x[:6].reshape(2, 3), lambda x: x[6:],
                               9, "product"),
    "rows dot a constant": case("bi,i->b", lambda x: x.reshape(3, 3), C3, 9, "product"),
    "outer": case("i,j->ij", lambda x: x[:4], lambda x: x[4:], 7, "product"),
    "size-1 axis broadcast": case("ij,ij->i", lambda x: x[:3].reshape(3, 1),
                                  lambda x: x[3:].reshape(3, 2), 9, "product"),
    "transposed operands": case("ji,kj->ik", lambda x: x[:6].reshape(3, 2),
                                lambda x: x[6:].reshape(2, 3), 12, "product"),
    # Not the product form: a product 9 times the operands, a diagonal, three operands.
    "matrix product 9 x 9": case("ij,jk->ik", lambda x: x[np.arange(81).reshape(9, 9) % 4],
                                 lambda x: x[np.arange(81).reshape(9, 9) % 3], 4, "rule"),
    "matrix product with a constant": case("ij,jk->ik",
                                           lambda x: x[np.arange(81).reshape(9, 9) % 4],
                                           C99, 4, "riding"),
    "diagonal": case("ii,i->i", lambda x: x[:9].reshape(3, 3), lambda x: x[9:], 12, "rule"),
    "diagonal of one jet": case("ii,i->i", lambda x: x[:9].reshape(3, 3), C3, 9, "riding"),
}

# Batch transforms: x is (4, n); every operand keeps the rows first.
BATCH_CASES = {
    "rows dot": case("bi,bi->b", lambda x: x, lambda x: x, 3, "product"),
    "rows of matrix vector": case("bij,bj->bi", lambda x: x[:, :6].reshape(-1, 3, 2),
                                  lambda x: x[:, 6:], 8, "product"),
    "rows dot a constant": case("bi,i->b", lambda x: x, C3, 3, "product"),
    "ellipsis": case("...i,...i->...", lambda x: x[:, :3], lambda x: x[:, 3:], 6, "product"),
    "rows outer": case("bi,bj->bij", lambda x: x[:, :2], lambda x: x[:, 2:], 5, "product"),
    "vecdot": case("...i,...i->...", lambda x: x[:, :3], lambda x: x[:, 3:], 6, "product",
                   call=np.vecdot),
    "matmul of rows by vectors": case("bij,bj->bi", lambda x: x[:, :6].reshape(-1, 2, 3),
                                      lambda x: x[:, 6:], 9, "product",
                                      call=lambda a, b: np.matmul(a, b[..., None])[..., 0]),
    "matmul of rows by a constant matrix": case("bi,ij->bj", lambda x: x, C33, 3, "product",
                                                call=np.matmul),
    "matmul of rows by a constant vector": case("bi,i->b", lambda x: x, C3, 3,
                                                "product", call=np.matmul),
}


def function_of(c):
    def f(x):
        b = c["pick_b"](x)
        return c["call"](np.sin(c["pick_a"](x)), b if c["constant"] else np.exp(b))
    return f


def selection(pick, shape):
    """S[..., p] = 1 where pick(x)'s element is x.flat[p]: pick as a linear map."""
    index = np.arange(int(np.prod(shape))).reshape(shape)
    return (pick(index)[..., None] == np.arange(index.size)).astype(float)


def witness(c, x):
    """Value, Jacobian and Hessian of f (out + x.shape, out + x.shape * 2) by the product
    rule written out: A = sin(S_a x), B = exp(S_b x) (or a constant), f = E(A, B)."""
    spec_in, out = c["subscripts"].split("->")
    sa, sb = spec_in.split(",")
    flat = x.ravel()
    Sa = selection(c["pick_a"], x.shape)
    u = Sa @ flat
    A, A1, A2 = np.sin(u), np.cos(u)[..., None] * Sa, -np.sin(u)[..., None, None] * (
        Sa[..., :, None] * Sa[..., None, :])
    if c["constant"]:
        B = c["pick_b"](x)
        B1, B2 = np.zeros(B.shape + (x.size,)), np.zeros(B.shape + (x.size,) * 2)
    else:
        Sb = selection(c["pick_b"], x.shape)
        B = np.exp(Sb @ flat)
        B1 = B[..., None] * Sb
        B2 = B[..., None, None] * (Sb[..., :, None] * Sb[..., None, :])

    def E(a_extra, b_extra, *operands):
        extra = "".join(dict.fromkeys(a_extra + b_extra))
        return np.einsum(f"{sa}{a_extra},{sb}{b_extra}->{out}{''.join(sorted(extra))}",
                         *operands)
    value = E("", "", A, B)
    J = E("P", "", A1, B) + E("", "P", A, B1)
    H = E("PQ", "", A2, B) + E("P", "Q", A1, B1) + E("Q", "P", A1, B1) + E("", "PQ", A, B2)
    return value, J.reshape(value.shape + x.shape), H.reshape(value.shape + x.shape * 2)


@pytest.mark.parametrize("name", CASES)
def test_jacobian_and_hessian_match_the_product_rule(name):
    c = CASES[name]
    x = RNG.uniform(-1, 1, c["size"])
    f = function_of(c)
    value, J, H = witness(c, x)
    got_value, got_J = dj.value_and_jacobian(f, x)
    got_value = got_value.value if isinstance(got_value, dj.DualArray) else got_value
    np.testing.assert_allclose(got_value, value, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got_J, J, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dj.hessian(f, x), H, rtol=1e-12, atol=1e-13)
    # Hyper-dual jets (order 2): a Jacobian of a Jacobian.
    nested = dj.jacobian(lambda z: dj.jacobian(f, z), x)
    np.testing.assert_allclose(nested, H, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", BATCH_CASES)
def test_batch_jacobian_and_hessian_match_the_product_rule(name):
    c = BATCH_CASES[name]
    x = RNG.uniform(-1, 1, (4, c["size"]))
    f = function_of(c)
    value, J, H = witness(c, x)
    rows = np.arange(4)
    # The row blocks of the whole Jacobian / Hessian (rows are independent).
    J_rows = J[rows, ..., rows, :]
    H_rows = H[rows, ..., rows, :, rows, :]
    np.testing.assert_allclose(dj.batch_jacobian(f, x), J_rows, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dj.batch_hessian(f, x), H_rows, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(f(x), value, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", list(CASES) + [f"batch {n}" for n in BATCH_CASES])
def test_the_product_form_is_taken_where_it_is_cheap(name, monkeypatch):
    c = CASES[name] if name in CASES else BATCH_CASES[name[len("batch "):]]
    calls = spy_on_the_product_form(monkeypatch)
    x = RNG.uniform(-1, 1, c["size"] if name in CASES else (4, c["size"]))
    dj.jacobian(function_of(c), x)
    assert bool(calls) == (c["form"] == "product"), calls


def test_the_form_follows_the_sizes():
    form = products.einsum_form
    jj, jc = (True, True), (True, False)
    assert form("bi,bi->b", ((16, 3), (16, 3)), jj)[0] == "product"
    assert form("ij,jk->ik", ((20, 20), (20, 20)), jj)[0] == "rule"
    assert form("ij,jk->ik", ((20, 20), (20, 8)), jj)[0] == "product"      # growth 8
    assert form("ij,jk->ik", ((20, 20), (20, 20)), jc)[0] == "riding"
    assert form("ij,jk->ik", ((20, 20), (20, 4)), jc)[0] == "product"      # growth 4
    assert form("ij,jk->ik", ((20, 20), (20, 5)), jc)[0] == "riding"
    assert form("i,j->ij", ((200,), (200,)), jj)[0] == "product"     # as large as the result
    assert form("ii->i", ((3, 3),), (True,))[0] == "riding"
    assert form("i,i,i->", ((3,), (3,), (3,)), (True, True, True))[0] == "rule"


def spy_on_the_product_form(monkeypatch):
    calls = []
    original = products.einsum_as_product
    monkeypatch.setattr(products, "einsum_as_product",
                        lambda *args: calls.append(1) or original(*args))
    return calls


def test_a_large_jet_times_a_constant_matrix_keeps_matmul(monkeypatch):
    """(b, 3) @ (3, 3) with b = 300: the product form (3 times the jet) would be slower than
    matmul over the jet's buffer."""
    calls = spy_on_the_product_form(monkeypatch)
    x = RNG.uniform(-1, 1, (300, 3))
    J = dj.batch_jacobian(lambda z: np.sin(z) @ C33, x)
    np.testing.assert_allclose(J, np.cos(x)[:, None, :] * C33.T, rtol=1e-13, atol=1e-15)
    assert not calls


def test_numpy_errors_are_kept():
    x = RNG.uniform(-1, 1, 6)
    for call in (lambda z: np.einsum("i,i->ii", z, z),             # an output letter twice
                 lambda z: np.einsum("i,i->", z, z[:5]),           # extents differ
                 lambda z: np.einsum("ij,j->i", z, z)):            # rank differs from spec
        with pytest.raises(ValueError):
            dj.jacobian(call, x)
        with pytest.raises(ValueError):
            call(x)
