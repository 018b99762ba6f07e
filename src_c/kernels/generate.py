"""Render the kernels from the rules table (run by setup.py at build time).

    python src_c/kernels/generate.py    # writes src_c/kernels/_kernels*.{c,h,pxi}, prints them

_kernels.c.tp becomes the translation units _kernels_<part>.c: the C kernels,
one per row, kind and dtype, split into parts (UNITS) that the build compiles
in parallel. _kernels.h.tp becomes _kernels.h: their declarations.
_kernels.pxi.tp becomes _kernels.pxi: their Cython declarations and the
function-pointer tables _core.pyx indexes by row.

The table's expressions are written in Python's expression syntax (``a if c
else b``, ``and``, ``or``); c_expression() translates them to C through Python's
own parser, so an expression the translator does not know fails the build
instead of compiling into something else.

The rules table is loaded from its file, not imported as dualjac.rules, so the
build does not need an importable (already built) dualjac.
"""
import ast
import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TEMPLATES = {
    os.path.join(HERE, "_kernels.h.tp"): os.path.join(HERE, "_kernels.h"),
    os.path.join(HERE, "_kernels.pxi.tp"): os.path.join(HERE, "_kernels.pxi"),
}
UNIT_TEMPLATE = os.path.join(HERE, "_kernels.c.tp")
RULES = os.path.join(ROOT, "dualjac", "rules.py")
DTYPES = (("double", "f64"), ("float", "f32"))

# The kernel translation units of each dtype: the AoS kernels of the unary rows
# (u1, u2, u3), those of the binary rows (b1, b2, b3), and the SoA kernels (s1
# and s3 of every row, and the pair kernels, which inline both rows' SoA code).
# Each takes 7-10 s to compile, so the build's threads stay evenly busy.
UNITS = ("unary", "binary", "soa")

_C_OPERATORS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/",
    ast.USub: "-", ast.UAdd: "+", ast.Not: "!",
    ast.And: "&&", ast.Or: "||",
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
}


def c_expression(expression, float_functions=()):
    """The C spelling of a rules-table expression; calls to the names in
    float_functions get C99's float suffix (sin -> sinf) for float32 kernels."""
    def emit(node):
        if isinstance(node, ast.Expression):
            return emit(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return repr(node.value)
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.BinOp) and type(node.op) in _C_OPERATORS:
            if (isinstance(node.op, ast.Div) and isinstance(node.left, ast.Constant)
                    and isinstance(node.right, ast.Constant)):
                raise ValueError(f"constant division in {expression!r} (integer in C)")
            return f"({emit(node.left)} {_C_OPERATORS[type(node.op)]} {emit(node.right)})"
        if isinstance(node, ast.UnaryOp) and type(node.op) in _C_OPERATORS:
            return f"({_C_OPERATORS[type(node.op)]}{emit(node.operand)})"
        if isinstance(node, ast.BoolOp):
            joined = f" {_C_OPERATORS[type(node.op)]} ".join(emit(v) for v in node.values)
            return f"({joined})"
        if isinstance(node, ast.Compare):       # a < b <= c -> (a < b && b <= c)
            parts, left = [], node.left
            for op, right in zip(node.ops, node.comparators):
                if type(op) not in _C_OPERATORS:
                    raise ValueError(f"unsupported comparison in {expression!r}")
                parts.append(f"{emit(left)} {_C_OPERATORS[type(op)]} {emit(right)}")
                left = right
            return "(" + " && ".join(parts) + ")"
        if isinstance(node, ast.IfExp):
            return f"({emit(node.test)} ? {emit(node.body)} : {emit(node.orelse)})"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            name = node.func.id + ("f" if node.func.id in float_functions else "")
            return f"{name}({', '.join(emit(a) for a in node.args)})"
        raise ValueError(f"unsupported syntax {ast.dump(node)} in {expression!r}")
    return emit(ast.parse(expression.strip(), mode="eval"))


def load_rules():
    spec = importlib.util.spec_from_file_location("_dualjac_rules_for_build", RULES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def block_pairs(unary):
    """(first, second) rows whose blocks compute each other's value as `other`
    (sin and cos): a deferred program with both of one operand runs them as one
    pair kernel, one value pass for two results."""
    def other(row):
        return dict(row.lets).get("other", "").strip()
    return tuple((a, b) for i, a in enumerate(unary) for b in unary[i + 1:]
                 if a.block and b.block and other(a) == b.f.strip() and other(b) == a.f.strip())


def unit_name(sfx, unit):
    return f"_kernels_{sfx}_{unit}.c"


def unit_names():
    """The file names of the kernel translation units."""
    return [unit_name(sfx, unit) for _, sfx in DTYPES for unit in UNITS]


def unit_rows(rules, unit):
    """The template's row lists for one of UNITS (empty: not in it)."""
    soa = unit == "soa"
    return dict(
        AOS_UNARY=rules.UNARY if unit == "unary" else (),
        AOS_BINARY=rules.BINARY if unit == "binary" else (),
        SOA_UNARY=rules.UNARY if soa else (),
        SOA_BINARY=rules.BINARY if soa else (),
        PAIRS=block_pairs(rules.UNARY) if soa else (),
    )


def _template(path):
    from Cython import Tempita
    with open(path) as fh:
        return Tempita.Template(fh.read(), name=path)


def render():
    """{output path: text} for every template and kernel unit."""
    rules = load_rules()
    common = dict(
        UNARY=rules.UNARY,
        BINARY=rules.BINARY,
        PAIRS=block_pairs(rules.UNARY),
        C_MATH_FUNCTIONS=rules.C_MATH_FUNCTIONS,
        DTYPES=DTYPES,
        c_expression=c_expression,
    )
    rendered = {output: _template(path).substitute(**common)
                for path, output in TEMPLATES.items()}
    template = _template(UNIT_TEMPLATE)
    for dtype in DTYPES:
        for unit in UNITS:
            name = unit_name(dtype[1], unit)
            rendered[os.path.join(HERE, name)] = template.substitute(
                **dict(common, DTYPES=(dtype,), PART=name, **unit_rows(rules, unit)))
    return rendered


def write_if_changed(text, path):
    """Rewrite only on change, so an unchanged table does not force a recompile."""
    if os.path.exists(path):
        with open(path) as fh:
            if fh.read() == text:
                return False
    with open(path, "w") as fh:
        fh.write(text)
    return True


def write_all():
    """Render everything; returns the paths of the rendered files."""
    rendered = render()
    for path, text in rendered.items():
        write_if_changed(text, path)
    return list(rendered)


if __name__ == "__main__":
    for path in write_all():
        print(path)
