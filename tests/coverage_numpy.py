"""NumPy's public callables for the coverage test (tests/coverage_calls.py): a sample
call for each differentiable one, the others listed by why they are not differentiable."""

from __future__ import annotations

import numpy as np

from coverage_sample import M, S, matrix, symmetric, unique_sign, upper

MASK = np.array([True, False, True])


def _in_place(write):
    """A sample that writes into a copy of x (np.put, np.place, np.copyto ...)."""
    def call(x):
        target = np.zeros_like(x)
        target[:] = x
        write(target, x)
        return target
    return call


# ---------------------------------------------------------------- ufuncs

UNARY_UFUNC_DOMAINS = {
    "arccosh": (1.2, 2.0), "acosh": (1.2, 2.0), "ceil": (0.2, 0.8), "floor": (0.2, 0.8),
    "rint": (0.1, 0.4), "trunc": (0.2, 0.8), "spacing": (0.55, 0.95), "sign": (0.2, 0.8),
}
UNARY_UFUNCS = (
    "abs absolute acos acosh arccos arccosh arcsin arcsinh arctan arctanh asin asinh atan "
    "atanh cbrt ceil conj conjugate cos cosh deg2rad degrees exp exp2 expm1 fabs floor frexp "
    "log log10 log1p log2 modf negative positive rad2deg radians reciprocal rint sign sin "
    "sinh spacing sqrt square tan tanh trunc").split()
BINARY_UFUNCS = (
    "add arctan2 atan2 copysign divide divmod float_power floor_divide fmax fmin fmod "
    "heaviside hypot logaddexp logaddexp2 maximum minimum mod multiply nextafter pow power "
    "remainder subtract true_divide").split()


def _unary(name):
    low, high = UNARY_UFUNC_DOMAINS.get(name, (0.2, 0.8))
    ufunc = getattr(np, name)
    return S(lambda x: ufunc(x), 3, low, high)


def _binary(name):
    ufunc = getattr(np, name)
    return S(lambda x: ufunc(x[:3], x[3:]), 6)


NUMPY_SAMPLES = {f"np.{name}": _unary(name) for name in UNARY_UFUNCS}
NUMPY_SAMPLES.update({f"np.{name}": _binary(name) for name in BINARY_UFUNCS})

_SAMPLES = {
    "ldexp": S(lambda x: np.ldexp(x, 2)),
    "matmul": S(lambda x: np.matmul(matrix(x[:4], 2), x[4:]), 6),
    "matvec": S(lambda x: np.matvec(matrix(x[:4], 2), x[4:]), 6),
    "vecmat": S(lambda x: np.vecmat(x[4:], matrix(x[:4], 2)), 6),
    "vecdot": S(lambda x: np.vecdot(x[:3], x[3:]), 6),
    # ---- reductions and statistics
    "amax": S(np.amax), "amin": S(np.amin), "max": S(np.max), "min": S(np.min),
    "sum": S(np.sum), "prod": S(np.prod), "mean": S(np.mean), "median": S(np.median, 4),
    "std": S(np.std), "var": S(np.var), "ptp": S(np.ptp),
    "average": S(lambda x: np.average(x, weights=[1.0, 2.0, 3.0])),
    "cumsum": S(np.cumsum), "cumprod": S(np.cumprod),
    "cumulative_sum": S(np.cumulative_sum), "cumulative_prod": S(np.cumulative_prod),
    "diff": S(np.diff, 4), "ediff1d": S(np.ediff1d, 4), "gradient": S(np.gradient, 4),
    "trapezoid": S(np.trapezoid, 4), "trace": S(lambda x: np.trace(matrix(x, 2)), 4),
    "cov": S(lambda x: np.cov(np.reshape(x, (2, 3))), 6),
    "corrcoef": S(lambda x: np.corrcoef(np.reshape(x, (2, 3))), 6),
    "percentile": S(lambda x: np.percentile(x, 40.0), 4),
    "quantile": S(lambda x: np.quantile(x, 0.4), 4),
    "nanmax": S(np.nanmax), "nanmin": S(np.nanmin), "nansum": S(np.nansum),
    "nanprod": S(np.nanprod), "nanmean": S(np.nanmean), "nanstd": S(np.nanstd),
    "nanvar": S(np.nanvar), "nancumsum": S(np.nancumsum), "nancumprod": S(np.nancumprod),
    "nanmedian": S(np.nanmedian, 4),
    "nanpercentile": S(lambda x: np.nanpercentile(x, 40.0), 4),
    "nanquantile": S(lambda x: np.nanquantile(x, 0.4), 4),
    "histogram": S(lambda x: np.histogram(x, bins=3), 4),
    "histogram_bin_edges": S(lambda x: np.histogram_bin_edges(x, bins=3), 4),
    "histogram2d": S(lambda x: np.histogram2d(x[:3], x[3:], bins=2), 6),
    "histogramdd": S(lambda x: np.histogramdd(np.reshape(x, (3, 2)), bins=2), 6),
    "bincount": S(lambda x: np.bincount([0, 2, 2], weights=x)),
    # ---- elementwise functions that are not ufuncs
    "angle": S(np.angle), "real": S(np.real), "imag": S(np.imag),
    "real_if_close": S(np.real_if_close), "fix": S(np.fix), "around": S(np.around, 3, 0.1, 0.4),
    "round": S(np.round, 3, 0.1, 0.4), "sinc": S(np.sinc), "i0": S(np.i0),
    "nan_to_num": S(np.nan_to_num), "unwrap": S(lambda x: np.unwrap(4.0 * x)),
    "clip": S(lambda x: np.clip(x, 0.25, 0.75), 3, 0.3, 0.7),
    "interp": S(lambda x: np.interp(x, [0.0, 0.5, 1.0], [0.0, 2.0, 1.0]), 3, 0.1, 0.4),
    "where": S(lambda x: np.where(MASK, x, 0.5)),
    "select": S(lambda x: np.select([MASK], [x], 0.5)),
    "piecewise": S(lambda x: np.piecewise(x, [MASK], [lambda t: t * t, lambda t: 2 * t])),
    "choose": S(lambda x: np.choose([0, 1, 0], [x[:3], x[3:]]), 6),
    "extract": S(lambda x: np.extract(MASK, x)), "compress": S(lambda x: np.compress(MASK, x)),
    "trim_zeros": S(np.trim_zeros),
    "apply_along_axis": S(lambda x: np.apply_along_axis(lambda r: r * r[0], 0, matrix(x, 2)), 4),
    "apply_over_axes": S(lambda x: np.apply_over_axes(np.sum, matrix(x, 2), [0]), 4),
    # ---- products and linear algebra in np
    "dot": S(lambda x: np.dot(x[:3], x[3:]), 6), "vdot": S(lambda x: np.vdot(x[:3], x[3:]), 6),
    "inner": S(lambda x: np.inner(x[:3], x[3:]), 6), "outer": S(lambda x: np.outer(x[:3], x[3:]), 6),
    "cross": S(lambda x: np.cross(x[:3], x[3:]), 6), "kron": S(lambda x: np.kron(x[:2], x[2:]), 4),
    "tensordot": S(lambda x: np.tensordot(matrix(x[:4], 2), x[4:], 1), 6),
    "einsum": S(lambda x: np.einsum("ij,j->i", matrix(x[:4], 2), x[4:]), 6),
    "convolve": S(lambda x: np.convolve(x[:3], x[3:]), 6),
    "correlate": S(lambda x: np.correlate(x[:3], x[3:], "full"), 6),
    # ---- polynomials (np.poly*)
    "poly": S(np.poly), "polyadd": S(lambda x: np.polyadd(x[:2], x[2:]), 5),
    "polysub": S(lambda x: np.polysub(x[:2], x[2:]), 5),
    "polymul": S(lambda x: np.polymul(x[:2], x[2:]), 5),
    "polydiv": S(lambda x: np.polydiv(x[:3], x[3:]), 5, 0.5, 1.0),
    "polyder": S(np.polyder, 4), "polyint": S(np.polyint),
    "polyval": S(lambda x: np.polyval(x[:3], x[3:]), 5),
    "polyfit": S(lambda x: np.polyfit([0.0, 0.5, 1.0, 1.5], x, 1), 4),
    "roots": S(np.roots, 3, -0.05, 0.05, (1.0, -3.0, 2.0)),
    "vander": S(np.vander), "poly1d": S(lambda x: np.poly1d([1.0, -2.0, 0.5])(x)),
    # ---- shapes, joins, splits, copies, moves: the values move, the derivatives with them
    "append": S(lambda x: np.append(x[:2], x[2:])), "atleast_1d": S(np.atleast_1d),
    "atleast_2d": S(np.atleast_2d), "atleast_3d": S(np.atleast_3d),
    "array_split": S(lambda x: np.array_split(x, 2)), "astype": S(lambda x: np.astype(x, np.float64)),
    "block": S(lambda x: np.block([x[:1], x[1:]])),
    "broadcast_arrays": S(lambda x: np.broadcast_arrays(x, x[:1])),
    "broadcast_to": S(lambda x: np.broadcast_to(x, (2, 3))),
    "column_stack": S(lambda x: np.column_stack([x[:2], x[2:]]), 4),
    "concat": S(lambda x: np.concat([x[:1], x[1:]])),
    "concatenate": S(lambda x: np.concatenate([x[:1], x[1:]])),
    "copy": S(np.copy), "copyto": S(_in_place(lambda t, x: np.copyto(t, 2.0 * x))),
    "delete": S(lambda x: np.delete(x, 1)), "diag": S(np.diag), "diagflat": S(np.diagflat),
    "diagonal": S(lambda x: np.diagonal(matrix(x, 2)), 4),
    "dsplit": S(lambda x: np.dsplit(np.reshape(x, (1, 2, 2)), 2), 4),
    "dstack": S(lambda x: np.dstack([x[:2], x[2:]]), 4),
    "expand_dims": S(lambda x: np.expand_dims(x, 0)),
    "fill_diagonal": S(lambda x: _fill_diagonal(x), 4),
    "flip": S(np.flip), "fliplr": S(lambda x: np.fliplr(matrix(x, 2)), 4),
    "flipud": S(np.flipud), "hsplit": S(lambda x: np.hsplit(x, 2), 4),
    "hstack": S(lambda x: np.hstack([x[:1], x[1:]])), "vsplit": S(lambda x: np.vsplit(matrix(x, 2), 2), 4),
    "vstack": S(lambda x: np.vstack([x[:2], x[2:]]), 4),
    "row_stack": S(lambda x: np.vstack([x[:2], x[2:]]), 4),
    "insert": S(lambda x: np.insert(x[:2], 1, x[2])),
    "matrix_transpose": S(lambda x: np.matrix_transpose(matrix(x, 2)), 4),
    "meshgrid": S(lambda x: np.meshgrid(x[:2], x[2:])),
    "moveaxis": S(lambda x: np.moveaxis(matrix(x[:4], 2), 0, 1), 4),
    "pad": S(lambda x: np.pad(x, 1, mode="linear_ramp")),
    "partition": S(lambda x: np.partition(x, 1), 4),
    "permute_dims": S(lambda x: np.permute_dims(matrix(x, 2)), 4),
    "place": S(_in_place(lambda t, x: np.place(t, MASK, 2.0 * x[:2]))),
    "put": S(_in_place(lambda t, x: np.put(t, [0], 2.0 * x[1]))),
    "put_along_axis": S(_in_place(lambda t, x: np.put_along_axis(t, np.array([0]), 2.0 * x[1:2], 0))),
    "putmask": S(_in_place(lambda t, x: np.putmask(t, MASK, 2.0 * x))),
    "ravel": S(lambda x: np.ravel(matrix(x, 2)), 4), "repeat": S(lambda x: np.repeat(x, 2)),
    "reshape": S(lambda x: np.reshape(x, (2, 2)), 4), "resize": S(lambda x: np.resize(x, 5)),
    "roll": S(lambda x: np.roll(x, 1)), "rollaxis": S(lambda x: np.rollaxis(matrix(x, 2), 1), 4),
    "rot90": S(lambda x: np.rot90(matrix(x, 2)), 4), "sort": S(np.sort, 4),
    "sort_complex": S(np.sort_complex, 4), "split": S(lambda x: np.split(x, 2), 4),
    "squeeze": S(lambda x: np.squeeze(x[None])), "stack": S(lambda x: np.stack([x[:2], x[2:]]), 4),
    "swapaxes": S(lambda x: np.swapaxes(matrix(x, 2), 0, 1), 4),
    "take": S(lambda x: np.take(x, [2, 0])), "take_along_axis": S(lambda x: np.take_along_axis(x, np.array([2, 0]), 0)),
    "tile": S(lambda x: np.tile(x, 2)), "transpose": S(lambda x: np.transpose(matrix(x, 2)), 4),
    "tril": S(lambda x: np.tril(matrix(x, 2)), 4), "triu": S(lambda x: np.triu(matrix(x, 2)), 4),
    "unstack": S(lambda x: np.unstack(matrix(x, 2)), 4),
    "unique": S(np.unique, 4), "unique_values": S(np.unique_values, 4),
    "unique_all": S(np.unique_all, 4), "unique_counts": S(np.unique_counts, 4),
    "unique_inverse": S(np.unique_inverse, 4),
    "union1d": S(lambda x: np.union1d(x[:3], x[3:]), 6),
    "intersect1d": S(lambda x: np.intersect1d(x, x[1:]), 4),
    "setdiff1d": S(lambda x: np.setdiff1d(x, x[:1]), 4),
    "setxor1d": S(lambda x: np.setxor1d(x[:3], x[2:]), 5),
    "vectorize": S(lambda x: np.vectorize(lambda t: t * t)(x)),
    # ---- creation from differentiable endpoints or spacings
    "linspace": S(lambda x: np.linspace(x[0], x[1], 4), 2),
    "logspace": S(lambda x: np.logspace(x[0], x[1], 4), 2),
    "geomspace": S(lambda x: np.geomspace(x[0], x[1] + 1.0, 4), 2),
}
NUMPY_SAMPLES.update({f"np.{name}": sample for name, sample in _SAMPLES.items()})


def _fill_diagonal(x):
    a = np.zeros_like(np.outer(x[:2], x[:2]))
    a[:] = np.outer(x[:2], x[2:])
    np.fill_diagonal(a, 3.0 * x[:2])
    return a


# ---------------------------------------------------------------- np.linalg, np.fft, np.emath

def _eigh(x):
    w, v = np.linalg.eigh(symmetric(x))
    return w, unique_sign(v)


def _eig(x):
    w, v = np.linalg.eig(upper(x) + 0.1 * matrix(x))
    return w, unique_sign(v)


def _svd(x):
    u, s, vh = np.linalg.svd(matrix(x))
    signs = np.sign(np.take_along_axis(u, np.argmax(np.abs(u), axis=0)[None, :], axis=0))
    return u * signs, s, vh * signs.T


_LINALG = {
    "cholesky": M(lambda x: np.linalg.cholesky(symmetric(x))),
    "cond": M(lambda x: np.linalg.cond(matrix(x))),
    "cross": S(lambda x: np.linalg.cross(x[:3], x[3:]), 6),
    "det": M(lambda x: np.linalg.det(matrix(x))),
    "diagonal": M(lambda x: np.linalg.diagonal(matrix(x))),
    "eig": M(_eig), "eigh": M(_eigh),
    "eigvals": M(lambda x: np.linalg.eigvals(upper(x) + 0.1 * matrix(x))),
    "eigvalsh": M(lambda x: np.linalg.eigvalsh(symmetric(x))),
    "inv": M(lambda x: np.linalg.inv(matrix(x))),
    "lstsq": S(lambda x: np.linalg.lstsq(np.reshape(x[:6], (3, 2)), x[6:]), 9, 0.2, 0.8,
               (1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0)),
    "matmul": S(lambda x: np.linalg.matmul(matrix(x[:4], 2), x[4:]), 6),
    "matrix_norm": M(lambda x: np.linalg.matrix_norm(matrix(x))),
    "matrix_power": M(lambda x: np.linalg.matrix_power(matrix(x), 3)),
    "matrix_transpose": M(lambda x: np.linalg.matrix_transpose(matrix(x))),
    "multi_dot": S(lambda x: np.linalg.multi_dot([matrix(x[:4], 2), matrix(x[:4], 2), x[4:]]), 6),
    "norm": S(lambda x: np.linalg.norm(x)),
    "outer": S(lambda x: np.linalg.outer(x[:3], x[3:]), 6),
    "pinv": S(lambda x: np.linalg.pinv(np.reshape(x, (3, 2))), 6, 0.2, 0.8,
              (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)),
    "qr": M(lambda x: np.linalg.qr(matrix(x))),
    "slogdet": M(lambda x: np.linalg.slogdet(matrix(x))),
    "solve": S(lambda x: np.linalg.solve(matrix(x[:9]), x[9:]), 12, -0.3, 0.3,
               (2.0, 0, 0, 0, 3.0, 0, 0, 0, 4.0, 1.0, 1.0, 1.0)),
    "svd": M(_svd), "svdvals": M(lambda x: np.linalg.svdvals(matrix(x))),
    "tensordot": S(lambda x: np.linalg.tensordot(matrix(x[:4], 2), x[4:], axes=1), 6),
    "tensorinv": S(lambda x: np.linalg.tensorinv(np.reshape(x, (2, 2, 4)), ind=2), 16, -0.2, 0.2,
                   2.0 * np.eye(4)),
    "tensorsolve": S(lambda x: np.linalg.tensorsolve(matrix(x[:4], 2), x[4:]), 6, -0.2, 0.2,
                     (2.0, 0.0, 0.0, 3.0, 1.0, 1.0)),
    "trace": M(lambda x: np.linalg.trace(matrix(x))),
    "vecdot": S(lambda x: np.linalg.vecdot(x[:3], x[3:]), 6),
    "vector_norm": S(lambda x: np.linalg.vector_norm(x)),
}
NUMPY_SAMPLES.update({f"np.linalg.{name}": sample for name, sample in _LINALG.items()})

_FFT = {name: S(lambda x, f=getattr(np.fft, name): f(x), 4) for name in (
    "fft ifft rfft irfft hfft ihfft fftshift ifftshift").split()}
_FFT.update({name: S(lambda x, f=getattr(np.fft, name): f(matrix(x, 2)), 4) for name in (
    "fft2 ifft2 fftn ifftn rfft2 irfft2 rfftn irfftn").split()})
_FFT["fftfreq"] = S(lambda x: np.fft.fftfreq(4, x[0]), 1)
_FFT["rfftfreq"] = S(lambda x: np.fft.rfftfreq(4, x[0]), 1)
NUMPY_SAMPLES.update({f"np.fft.{name}": sample for name, sample in _FFT.items()})

_EMATH = {name: S(lambda x, f=getattr(np.emath, name): f(x))
          for name in "arccos arcsin arctanh log log10 log2 sqrt".split()}
_EMATH["logn"] = S(lambda x: np.emath.logn(3.0, x))
_EMATH["power"] = S(lambda x: np.emath.power(x, 2.5))
NUMPY_SAMPLES.update({f"np.emath.{name}": sample for name, sample in _EMATH.items()})

NUMPY_SAMPLES["np.lib.stride_tricks.sliding_window_view"] = S(
    lambda x: np.lib.stride_tricks.sliding_window_view(x, 2), 4)
NUMPY_SAMPLES["np.lib.stride_tricks.as_strided"] = S(
    lambda x: np.lib.stride_tricks.as_strided(x, (2, 2), (8, 8)), 3)


# ---------------------------------------------------------------- np.polynomial

FAMILIES = {"polynomial": ("poly", "Polynomial"), "chebyshev": ("cheb", "Chebyshev"),
            "legendre": ("leg", "Legendre"), "hermite": ("herm", "Hermite"),
            "hermite_e": ("herme", "HermiteE"), "laguerre": ("lag", "Laguerre")}
# Roots in (-1, 1) (where every family's weight is smooth) for {p}roots / {p}companion.
ROOTS = (-0.5, 0.1, 0.6)


def _family_samples(module_name, prefix, class_name):
    module = getattr(np.polynomial, module_name)
    f = {name: getattr(module, prefix + name) for name in (
        "add sub mul div pow der int val val2d val3d grid2d grid3d vander vander2d vander3d "
        "fit roots fromroots companion line mulx trim").split()}
    coefficients = tuple(f["fromroots"](ROOTS))
    samples = {
        "add": S(lambda x: f["add"](x[:2], x[2:]), 5),
        "sub": S(lambda x: f["sub"](x[:2], x[2:]), 5),
        "mul": S(lambda x: f["mul"](x[:2], x[2:]), 5),
        "div": S(lambda x: f["div"](x[:3], x[3:]), 5, 0.5, 1.0),
        "pow": S(lambda x: f["pow"](x, 2)), "der": S(f["der"], 4), "int": S(f["int"]),
        "val": S(lambda x: f["val"](x[:2], x[2:]), 5),
        "val2d": S(lambda x: f["val2d"](x[:2], x[2:4], matrix(x[4:], 2)), 8),
        "val3d": S(lambda x: f["val3d"](x[:1], x[1:2], x[2:3], np.reshape(x[3:], (2, 2, 2))), 11),
        "grid2d": S(lambda x: f["grid2d"](x[:2], x[2:4], matrix(x[4:], 2)), 8),
        "grid3d": S(lambda x: f["grid3d"](x[:1], x[1:2], x[2:3], np.reshape(x[3:], (2, 2, 2))), 11),
        "vander": S(lambda x: f["vander"](x, 2)),
        "vander2d": S(lambda x: f["vander2d"](x[:2], x[2:], [1, 1]), 4),
        "vander3d": S(lambda x: f["vander3d"](x[:1], x[1:2], x[2:3], [1, 1, 1])),
        "fit": S(lambda x: f["fit"]([0.0, 0.3, 0.6, 0.9], x, 1), 4),
        "roots": S(f["roots"], 4, -0.01, 0.01, coefficients),
        "companion": S(f["companion"], 4, -0.01, 0.01, coefficients),
        "fromroots": S(f["fromroots"], 3, -0.01, 0.01, ROOTS),
        "line": S(lambda x: f["line"](x[0], x[1]), 2), "mulx": S(f["mulx"]),
        "trim": S(f["trim"]),
        "weight": S(lambda x: getattr(module, prefix + "weight")(x), 3, -0.8, 0.8)
        if hasattr(module, prefix + "weight") else None,
    }
    samples = {f"np.polynomial.{module_name}.{prefix}{name}": sample
               for name, sample in samples.items() if sample is not None}
    value_from_roots = {"polynomial": "polyvalfromroots"}.get(module_name)
    if value_from_roots:
        samples[f"np.polynomial.{module_name}.{value_from_roots}"] = S(
            lambda x: np.polynomial.polynomial.polyvalfromroots(x[:2], x[2:]), 4)
    if module_name != "polynomial":
        to_poly, from_poly = f"{prefix}2poly", f"poly2{prefix}"
        samples[f"np.polynomial.{module_name}.{to_poly}"] = S(getattr(module, to_poly), 4)
        samples[f"np.polynomial.{module_name}.{from_poly}"] = S(getattr(module, from_poly), 4)
    cls = getattr(np.polynomial, class_name)
    for spelling in (f"np.polynomial.{class_name}", f"np.polynomial.{module_name}.{class_name}"):
        samples[spelling] = S(lambda x: cls([1.0, -2.0, 0.5])(x))
    return samples


for _module_name, (_prefix, _class_name) in FAMILIES.items():
    NUMPY_SAMPLES.update(_family_samples(_module_name, _prefix, _class_name))
NUMPY_SAMPLES["np.polynomial.chebyshev.chebinterpolate"] = S(
    lambda x: np.polynomial.chebyshev.chebinterpolate(lambda t, a: a * t * t, 3, args=(x[0],)), 1)


# ---------------------------------------------------------------- not differentiable

def _names(prefix, words):
    return [f"{prefix}.{word}" for word in words.split()]


_POLY_NOT_DIFFERENTIABLE = []
for _module_name, (_prefix, _class_name) in FAMILIES.items():
    _POLY_NOT_DIFFERENTIABLE += _names(f"np.polynomial.{_module_name}", "ABCPolyBase")
    if _prefix != "poly":  # Gauss quadrature points and weights of a degree
        _POLY_NOT_DIFFERENTIABLE.append(f"np.polynomial.{_module_name}.{_prefix}gauss")
    if _prefix == "cheb":
        _POLY_NOT_DIFFERENTIABLE += _names("np.polynomial.chebyshev", "chebpts1 chebpts2")

# reason (one word) -> names; each is a callable whose results carry no derivative.
NUMPY_NOT_DIFFERENTIABLE = {
    "bools": _names("np", "all any allclose array_equal array_equiv isclose iscomplex "
                    "iscomplexobj isfortran isin isneginf isposinf isreal isrealobj isscalar "
                    "iterable may_share_memory shares_memory equal greater greater_equal isfinite "
                    "isinf isnan isnat less less_equal logical_and logical_not logical_or "
                    "logical_xor not_equal signbit"),
    "indices": _names("np", "argmax argmin argpartition argsort argwhere digitize "
                      "flatnonzero lexsort nanargmax nanargmin nonzero searchsorted "
                      "diag_indices diag_indices_from indices ix_ mask_indices ravel_multi_index "
                      "tril_indices tril_indices_from triu_indices triu_indices_from "
                      "unravel_index ndindex ndenumerate"),
    "integers": _names("np", "count_nonzero gcd lcm") + ["np.linalg.matrix_rank"],
    "bitwise": _names("np", "bitwise_and bitwise_count bitwise_invert bitwise_left_shift "
                      "bitwise_not bitwise_or bitwise_right_shift bitwise_xor invert "
                      "left_shift right_shift packbits unpackbits"),
    "shapes": _names("np", "shape size ndim broadcast_shapes broadcast"),
    "dtypes": _names("np", "can_cast common_type isdtype issubdtype min_scalar_type mintypecode "
                     "promote_types result_type dtype finfo iinfo typename"),
    # scalar types and array classes: constructing one converts (the conversion guard)
    "types": _names("np", "bool bool_ byte bytes_ cdouble character clongdouble complex128 "
                    "complex256 complex64 complexfloating csingle datetime64 double flexible "
                    "float128 float16 float32 float64 floating generic half inexact int16 int32 "
                    "int64 int8 int_ intc integer intp long longdouble longlong number object_ "
                    "short signedinteger single str_ timedelta64 ubyte uint uint16 uint32 uint64 "
                    "uint8 uintc uintp ulong ulonglong unsignedinteger ushort void ufunc ndarray "
                    "flatiter nditer nested_iters recarray record memmap matrix asmatrix bmat "
                    "frompyfunc") + ["np.linalg.LinAlgError"],
    "conversions": _names("np", "array asarray asanyarray ascontiguousarray asfortranarray "
                          "asarray_chkfinite require from_dlpack frombuffer fromiter fromstring"),
    "creation": _names("np", "arange empty empty_like eye full full_like identity ones "
                       "ones_like tri zeros zeros_like fromfunction bartlett blackman hamming "
                       "hanning kaiser") + _POLY_NOT_DIFFERENTIABLE,
    "strings": _names("np", "array2string array_repr array_str base_repr binary_repr "
                      "format_float_positional format_float_scientific einsum_path"),
    "datetime": _names("np", "busday_count busday_offset busdaycalendar datetime_as_string "
                       "datetime_data is_busday"),
    "io": _names("np", "fromfile fromregex genfromtxt load loadtxt save savetxt savez "
                 "savez_compressed"),
    "config": _names("np", "errstate get_include get_printoptions getbufsize geterr geterrcall "
                     "info printoptions set_printoptions setbufsize seterr seterrcall show_config "
                     "show_runtime test") + ["np.polynomial.set_default_printstyle",
                                             "np.polynomial.test", "np.linalg.test",
                                             "np.fft.test"],
}
