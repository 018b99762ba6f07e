"""The elementwise operations of expression trees (expression_trees.py), each with its
witness form when it is not analytic: the same function written so that a complex
step follows the branch the real computation takes."""

from dataclasses import dataclass

import numpy as np


# ---------------------------------------------------------------- witness forms

def absw(a):
    return a * np.sign(np.real(a))


def wmax(a, b):
    return np.where(np.real(a) >= np.real(b), a, b)


def wmin(a, b):
    return np.where(np.real(a) <= np.real(b), a, b)


def wpick(a, axis, keepdims, arg):
    """max / min reductions: the element np.argmax / np.argmin of the real parts picks."""
    a = np.asarray(a)
    nd = a.ndim
    if axis is None:
        axes = tuple(range(nd))
    else:
        axes = tuple(i % nd for i in ((axis,) if isinstance(axis, int) else axis))
    kept = [i for i in range(nd) if i not in axes]
    t = np.transpose(a, kept + list(axes)).reshape([a.shape[i] for i in kept] + [-1])
    r = np.take_along_axis(t, arg(np.real(t), axis=-1)[..., None], axis=-1)[..., 0]
    if keepdims:
        r = r.reshape([1 if i in axes else n for i, n in enumerate(a.shape)])
    return r


def wvar(a, axis, keepdims, ddof):
    a = np.asarray(a)
    m = np.mean(a, axis=axis, keepdims=True)
    count = a.size // m.size
    return np.sum((a - m) ** 2, axis=axis, keepdims=keepdims) / (count - ddof)


def wnorm(a, ord, axis, keepdims):
    a = np.asarray(a)
    if axis is None:
        if ord is None:
            r = np.sqrt(np.sum(a * a))
            return r.reshape((1,) * a.ndim) if keepdims else r
        axis = tuple(range(a.ndim))
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    axis = tuple(i % a.ndim for i in axis)
    if len(axis) == 1:
        ax = axis[0]
        if ord in (None, 2):
            return np.sqrt(np.sum(a * a, axis=ax, keepdims=keepdims))
        if ord == 1:
            return np.sum(absw(a), axis=ax, keepdims=keepdims)
        if ord in (np.inf, -np.inf):
            return wpick(absw(a), ax, keepdims, np.argmax if ord > 0 else np.argmin)
        return np.sum(absw(a) ** ord, axis=ax, keepdims=keepdims) ** (1.0 / ord)
    rows, cols = axis
    if ord in (None, "fro"):
        r = np.sqrt(np.sum(a * a, axis=axis, keepdims=True))
    else:
        summed, picked = (rows, cols) if abs(ord) == 1 else (cols, rows)
        s = np.sum(absw(a), axis=summed, keepdims=True)
        r = wpick(s, picked, True, np.argmax if ord > 0 else np.argmin)
    return r if keepdims else np.squeeze(r, axis)


# ---------------------------------------------------------------- the operations

@dataclass(frozen=True)
class Op:
    text: str
    fn: object            # plain / dual function of the operand values
    wfn: object = None    # witness form (None: fn itself is analytic)
    smooth: bool = True


U = Op
UNARY = [
    U("np.sin({})", lambda a: np.sin(a)),
    U("np.cos({})", lambda a: np.cos(a)),
    U("np.tan(0.9 * np.tanh({}))", lambda a: np.tan(0.9 * np.tanh(a))),
    U("np.arcsin(0.9 * np.tanh({}))", lambda a: np.arcsin(0.9 * np.tanh(a))),
    U("np.arccos(0.9 * np.sin({}))", lambda a: np.arccos(0.9 * np.sin(a))),
    U("np.arctan({})", lambda a: np.arctan(a)),
    U("np.sinh(np.tanh({}))", lambda a: np.sinh(np.tanh(a))),
    U("np.cosh(np.sin({}))", lambda a: np.cosh(np.sin(a))),
    U("np.tanh({})", lambda a: np.tanh(a)),
    U("np.arcsinh({})", lambda a: np.arcsinh(a)),
    U("np.arccosh(1.1 + {0} * {0})", lambda a: np.arccosh(1.1 + a * a)),
    U("np.arctanh(0.9 * np.tanh({}))", lambda a: np.arctanh(0.9 * np.tanh(a))),
    U("np.exp(np.sin({}))", lambda a: np.exp(np.sin(a))),
    U("np.exp(-{0} * {0})", lambda a: np.exp(-a * a)),
    U("np.exp2(np.tanh({}))", lambda a: np.exp2(np.tanh(a))),
    U("np.expm1(np.tanh({}))", lambda a: np.expm1(np.tanh(a))),
    U("np.log(1 + {0} * {0})", lambda a: np.log(1 + a * a)),
    U("np.log2(2 + np.sin({}))", lambda a: np.log2(2 + np.sin(a))),
    U("np.log10(1.5 + np.cos({}))", lambda a: np.log10(1.5 + np.cos(a))),
    U("np.log1p(0.9 * np.tanh({}))", lambda a: np.log1p(0.9 * np.tanh(a))),
    U("np.sqrt(1 + {0} * {0})", lambda a: np.sqrt(1 + a * a)),
    U("np.sqrt(2 + np.sin({}))", lambda a: np.sqrt(2 + np.sin(a))),
    U("np.cbrt(1 + {0} * {0})", lambda a: np.cbrt(1 + a * a), lambda a: (1 + a * a) ** (1 / 3)),
    U("np.reciprocal(1 + {0} * {0})", lambda a: np.reciprocal(1 + a * a)),
    U("1 / (1.5 + np.cos({}))", lambda a: 1 / (1.5 + np.cos(a))),
    U("np.square({})", lambda a: np.square(a)),
    U("{} ** 2", lambda a: a ** 2),
    U("{} ** 3", lambda a: a ** 3),
    U("np.power(1 + {0} * {0}, 0.5)", lambda a: np.power(1 + a * a, 0.5)),
    U("(2 + np.sin({})) ** -1.5", lambda a: (2 + np.sin(a)) ** -1.5),
    U("2.0 ** np.sin({})", lambda a: 2.0 ** np.sin(a)),
    U("-{}", lambda a: -a),
    U("+{}", lambda a: +a),
    U("np.negative({})", lambda a: np.negative(a)),
    U("np.positive({})", lambda a: np.positive(a)),
    U("np.conjugate({})", lambda a: np.conjugate(a), lambda a: a),
    U("np.deg2rad({})", lambda a: np.deg2rad(a), lambda a: a * (np.pi / 180)),
    U("np.rad2deg({})", lambda a: np.rad2deg(a), lambda a: a * (180 / np.pi)),
    U("{} * 0.5 - 1.0", lambda a: a * 0.5 - 1.0),
    U("3.0 - {}", lambda a: 3.0 - a),
    U("abs({})", lambda a: abs(a), absw, False),
    U("np.abs({})", lambda a: np.abs(a), absw, False),
    U("np.absolute({})", lambda a: np.absolute(a), absw, False),
    U("np.fabs({})", lambda a: np.fabs(a), absw, False),
    U("np.sign({})", lambda a: np.sign(a), lambda a: np.sign(np.real(a)), False),
    U("np.floor({})", lambda a: np.floor(a), lambda a: np.floor(np.real(a)), False),
    U("np.ceil({})", lambda a: np.ceil(a), lambda a: np.ceil(np.real(a)), False),
    U("np.rint({})", lambda a: np.rint(a), lambda a: np.rint(np.real(a)), False),
    U("np.trunc({})", lambda a: np.trunc(a), lambda a: np.trunc(np.real(a)), False),
    U("np.clip({}, -0.5, 0.7)", lambda a: np.clip(a, -0.5, 0.7),
      lambda a: wmin(wmax(a, -0.5), 0.7), False),
    U("{}.clip(-0.3, None)", lambda a: a.clip(-0.3, None), lambda a: wmax(a, -0.3), False),
    U("np.maximum({}, 0.2)", lambda a: np.maximum(a, 0.2), lambda a: wmax(a, 0.2), False),
    # exact zeros (and ties among them): prod's zero-safety, abs / max / x ** 2 at 0
    U("(np.maximum({}, 0.3) - 0.3)", lambda a: np.maximum(a, 0.3) - 0.3,
      lambda a: wmax(a, 0.3) - 0.3, False),
]


def _logaddexp_witness(a, b):
    return np.where(np.real(a) >= np.real(b), a + np.log1p(np.exp(b - a)),
                    b + np.log1p(np.exp(a - b)))


def _logaddexp2_witness(a, b):
    return np.where(np.real(a) >= np.real(b), a + np.log1p(np.exp2(b - a)) / np.log(2),
                    b + np.log1p(np.exp2(a - b)) / np.log(2))


B = Op
BINARY = [
    B("{0} + {1}", lambda a, b: a + b),
    B("np.add({0}, {1})", lambda a, b: np.add(a, b)),
    B("{0} - {1}", lambda a, b: a - b),
    B("np.subtract({0}, {1})", lambda a, b: np.subtract(a, b)),
    B("{0} * {1}", lambda a, b: a * b),
    B("np.multiply({0}, {1})", lambda a, b: np.multiply(a, b)),
    B("{0} / (1 + {1} * {1})", lambda a, b: a / (1 + b * b)),
    B("np.divide({0}, 2 + np.sin({1}))", lambda a, b: np.divide(a, 2 + np.sin(b))),
    B("np.power(1 + {0} * {0}, np.tanh({1}))", lambda a, b: np.power(1 + a * a, np.tanh(b))),
    B("(1.5 + np.sin({0})) ** np.sin({1})", lambda a, b: (1.5 + np.sin(a)) ** np.sin(b)),
    B("np.arctan2({0}, 1 + {1} * {1})", lambda a, b: np.arctan2(a, 1 + b * b),
      lambda a, b: np.arctan(a / (1 + b * b))),
    B("np.arctan2(1 + {0} * {0}, {1})", lambda a, b: np.arctan2(1 + a * a, b),
      lambda a, b: np.pi / 2 - np.arctan(b / (1 + a * a))),
    B("np.hypot({0}, 1 + {1} * {1})", lambda a, b: np.hypot(a, 1 + b * b),
      lambda a, b: np.sqrt(a * a + (1 + b * b) ** 2)),
    B("np.logaddexp({0}, {1})", lambda a, b: np.logaddexp(a, b), _logaddexp_witness),
    B("np.logaddexp2({0}, {1})", lambda a, b: np.logaddexp2(a, b), _logaddexp2_witness),
    B("np.maximum({0}, {1})", lambda a, b: np.maximum(a, b), wmax, False),
    B("np.minimum({0}, {1})", lambda a, b: np.minimum(a, b), wmin, False),
    B("np.fmax({0}, {1})", lambda a, b: np.fmax(a, b), wmax, False),
    B("np.fmin({0}, {1})", lambda a, b: np.fmin(a, b), wmin, False),
    B("{0} // (1.5 + np.sin({1}))", lambda a, b: a // (1.5 + np.sin(b)),
      lambda a, b: np.floor(np.real(a / (1.5 + np.sin(b)))), False),
    B("np.floor_divide({0}, 2 + np.cos({1}))", lambda a, b: np.floor_divide(a, 2 + np.cos(b)),
      lambda a, b: np.floor(np.real(a / (2 + np.cos(b)))), False),
    B("{0} % (1.5 + np.sin({1}))", lambda a, b: a % (1.5 + np.sin(b)),
      lambda a, b: a - np.floor(np.real(a / (1.5 + np.sin(b)))) * (1.5 + np.sin(b)), False),
    B("np.fmod({0}, 2 + np.cos({1}))", lambda a, b: np.fmod(a, 2 + np.cos(b)),
      lambda a, b: a - np.trunc(np.real(a / (2 + np.cos(b)))) * (2 + np.cos(b)), False),
]


def _iop(t, b, sym):
    if sym == "+":
        t += b
    elif sym == "-":
        t -= b
    elif sym == "*":
        t *= b
    else:
        t /= 1 + b * b
    return t


INPLACE = [B(f"t {s}= {{1}}" if s != "/" else "t /= 1 + {1} * {1}",
             (lambda s: lambda t, b: _iop(t, b, s))(s)) for s in "+-*/"]
