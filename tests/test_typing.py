"""The public interface as a type checker and a fresh interpreter see it.

1. Types: user code written against dualjac passes ``mypy --strict`` (the package ships
   ``py.typed``, so mypy reads its annotations), and wrong code is rejected with the errors
   the annotations promise; every public function and method is annotated.
2. Importing: a source checkout that was never built fails with a message that says how to
   build it, even when another installation's compiled extension could be found.
"""

import inspect
import os
import shutil
import subprocess
import sys
import textwrap

from mypy import api as mypy_api   # in the test extra: pip install '.[test]'

import dualjac as dj


def run_mypy(tmp_path, source, monkeypatch):
    """mypy --strict on one user module; (report lines, exit status). mypy also searches
    the current directory: run it in the user's (tmp_path), so that in a source checkout it
    reads the installed package, as a user's mypy would, not the checkout's sources."""
    monkeypatch.chdir(tmp_path)
    snippet = tmp_path / "user_code.py"
    snippet.write_text(textwrap.dedent(source))
    stdout, stderr, status = mypy_api.run(
        ["--strict", "--no-error-summary", "--show-error-codes",
         "--cache-dir", str(tmp_path / "mypy-cache"), str(snippet)])
    assert not stderr, stderr
    return stdout.splitlines(), status


# ---------------------------------------------------------------- types

TYPED_USER_CODE = """
    import numpy as np
    from numpy.typing import NDArray

    import dualjac as dj


    def model(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.sin(x) * x[::-1]


    def loss(x: NDArray[np.float64]) -> np.float64:
        return np.sum(x ** 2)


    def booleans(mask: dj.DeferredMask) -> NDArray[np.bool_]:
        return mask.compute() if mask.ndim else np.asarray(mask)


    x = np.linspace(0.1, 1.0, 4)
    J: NDArray[np.float64] = dj.jacobian(model, x, unconnected_gradients="zero")
    maybe = dj.jacobian(model, x)              # None where model(x) would not depend on x
    assert maybe is not None
    H = dj.hessian(loss, x)
    g = dj.gradient(loss, x, unconnected_gradients=dj.UnconnectedGradients.ZERO)
    nested = dj.jacobian(lambda z: dj.jacobian(model, z), x)
    per_row = dj.batch_jacobian(lambda rows: rows * rows, x.reshape(2, 2))
    S = dj.sparse_jacobian(model, x, format="csc")
    in_structure = dj.jacobian(lambda d: d["a"] * d["b"], {"a": x, "b": x})
    blocks = dj.hessian(lambda d: np.sum(d["a"] * d["b"]), {"a": x, "b": x})
    rows = dj.batch_hessian(lambda t: np.sum(t[0] * t[1], axis=1), (x.reshape(2, 2), x.reshape(2, 2)))
    value, tangents = dj.jvp(model, x, np.eye(4), batched=True)
    products: NDArray[np.float64] = dj.hvp(loss, x, np.eye(4), batched=True)
    with dj.GradientTape(persistent=True) as tape:
        w = tape.watch(x)
        y = model(w)
    T = tape.jacobian(y, w, "zero")
    shapes: list[tuple[int, ...]] = [J.shape, maybe.shape, H.shape, g.shape, per_row.shape,
                                     T.shape, tangents.shape, products.shape]
    reveal_type(dj.get_banded_threshold())
    reveal_type(dj.set_deferred_threshold())
"""


def test_typed_user_code_passes_mypy_strict(tmp_path, monkeypatch):
    lines, status = run_mypy(tmp_path, TYPED_USER_CODE, monkeypatch)
    errors = [line for line in lines if ": error:" in line]
    assert errors == [] and status == 0, "\n".join(lines)
    # The compiled extension's functions are typed by its stub (dualjac/_core.pyi), not Any.
    revealed = [line.split("Revealed type is ")[1].replace("builtins.", "")
                for line in lines if "Revealed type" in line]
    assert revealed == ['"tuple[int, int]"', '"int"']


WRONG_USER_CODE = """
    import numpy as np
    from numpy.typing import NDArray

    import dualjac as dj

    x = np.linspace(0.1, 1.0, 4)
    J: NDArray[np.float64] = dj.jacobian(np.sin, x)
    dj.hessian(np.sin, x, unconnected_gradients="zero")
    dj.sparse_jacobian(np.sin, x, format="bsr")
    with dj.GradientTape() as tape:
        tape.watch(x, batch="yes")
"""


def test_wrong_user_code_is_rejected(tmp_path, monkeypatch):
    lines, status = run_mypy(tmp_path, WRONG_USER_CODE, monkeypatch)
    found = {(int(line.split(":")[1]), line.rsplit("[", 1)[1].rstrip("]"))
             for line in lines if ": error:" in line}
    assert status == 1
    assert found == {
        (8, "assignment"),    # the default unconnected_gradients may give None
        (9, "call-overload"), # no overload of hessian takes unconnected_gradients
        (10, "arg-type"),     # "bsr" is not one of the formats
        (12, "arg-type"),     # batch is a bool
    }, "\n".join(lines)


def public_callables():
    """(name, function) for every public function and public method of a public class
    that dualjac defines in Python (the compiled extension's are typed by its stub)."""
    for name in dj.__all__:
        obj = getattr(dj, name)
        if getattr(obj, "__module__", "").startswith("dualjac._core"):
            continue
        if inspect.isclass(obj):
            for method_name, method in vars(obj).items():
                if inspect.isfunction(method) and (method_name == "__init__"
                                                   or not method_name.startswith("_")):
                    yield f"{name}.{method_name}", method
        elif callable(obj):
            yield name, obj


def unannotated_parts(function):
    signature = inspect.signature(function)
    missing = [p.name for p in signature.parameters.values()
               if p.name != "self" and p.annotation is inspect.Parameter.empty]
    if signature.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


def test_every_public_function_is_annotated():
    checked = dict(public_callables())
    assert {"jacobian", "sparse_jacobian", "GradientTape.watch", "Objective.hess"} <= set(checked)
    missing = {name: unannotated_parts(f) for name, f in checked.items() if unannotated_parts(f)}
    assert missing == {}


def test_py_typed_ships_with_the_package():
    assert os.path.isfile(os.path.join(os.path.dirname(dj.__file__), "py.typed"))


# ---------------------------------------------------------------- importing

def test_unbuilt_checkout_says_how_to_build(tmp_path):
    # A copy of the package's Python files without the compiled extension, first on the
    # path; the built package (this one) later on it, where its extension could be found.
    package = os.path.dirname(dj.__file__)
    shutil.copytree(package, tmp_path / "dualjac",
                    ignore=shutil.ignore_patterns("_core.*", "__pycache__"))
    built = os.path.dirname(package)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), built]))
    result = subprocess.run([sys.executable, "-c", "import dualjac"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: dualjac's compiled extension (dualjac._core) is missing")
    assert "pip install -e ." in last and "python setup.py build_ext --inplace" in last
