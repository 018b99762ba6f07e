"""SciPy functions that dual arrays can go through (as jax.scipy is for JAX).

SciPy's functions convert their input with np.asarray, which a dual array refuses (a
conversion would drop its derivatives). These drop-ins have SciPy's signatures and
semantics: on plain input they are SciPy itself; on jets (any kind) they give exact first
and second derivatives of what SciPy computes.

    import dualjac as dj
    from dualjac.scipy import linalg
    J = dj.jacobian(linalg.expm, A)

``DROP_INS`` maps SciPy's public names ("scipy.linalg.expm", "scipy.stats.norm.pdf", ...)
to the drop-ins. Importing this package imports SciPy; ``import dualjac`` does not.
"""

from . import integrate, linalg, optimize, signal, special, stats


def _drop_ins():
    names = {}
    for module in (integrate, linalg, optimize, signal, special):
        for name in module.__all__:
            names[f"scipy.{module.__name__.rsplit('.', 1)[1]}.{name}"] = getattr(module, name)
    for name in stats.__all__:
        distribution = getattr(stats, name)
        names[f"scipy.stats.{name}"] = distribution
        for method in stats.METHODS:
            names[f"scipy.stats.{name}.{method}"] = getattr(distribution, method)
    return names


DROP_INS = _drop_ins()

__all__ = ["DROP_INS", "integrate", "linalg", "optimize", "signal", "special", "stats"]
