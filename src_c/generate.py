"""Render the kernel template from the rules table (run by setup.py at build time).

    python src_c/generate.py        # writes src_c/_kernels.pxi

The rules table is loaded from its file, not imported as dualjac.rules, so the
build does not need an importable (already built) dualjac.
"""
import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TEMPLATE = os.path.join(HERE, "_kernels.pxi.tp")
OUTPUT = os.path.join(HERE, "_kernels.pxi")
RULES = os.path.join(ROOT, "dualjac", "rules.py")


def load_rules():
    spec = importlib.util.spec_from_file_location("_dualjac_rules_for_build", RULES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render():
    from Cython import Tempita

    rules = load_rules()
    with open(TEMPLATE) as fh:
        template = Tempita.Template(fh.read(), name=TEMPLATE)
    return template.substitute(
        UNARY=rules.UNARY,
        BINARY=rules.BINARY,
        C_MATH_FUNCTIONS=rules.C_MATH_FUNCTIONS,
        DTYPES=(("double", "f64"), ("float", "f32")),
    )


def write_if_changed(text, path=OUTPUT):
    """Rewrite only on change, so an unchanged table does not force a recompile."""
    if os.path.exists(path):
        with open(path) as fh:
            if fh.read() == text:
                return False
    with open(path, "w") as fh:
        fh.write(text)
    return True


if __name__ == "__main__":
    write_if_changed(render())
    print(OUTPUT)
