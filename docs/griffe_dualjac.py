"""Griffe extensions for the docs site (mkdocstrings reads dualjac's API through griffe).

They change what the API pages show, never the library:

- ``CompiledSignatures``: the extension module ``dualjac._core`` is read by importing it.
  Cython's ``embedsignature`` starts each docstring with the signature, which the page shows
  already: that line is moved into the signature. Its classes' ``__init__`` is the generic
  ``(*args, **kwargs)`` one, and its ``_Jet`` base class is private: both are left out.
- ``CompiledExtensionPresent``: without its compiled extension next to it (a source checkout
  not built in place, read first because it is the working directory), dualjac would be
  documented from the stub ``_core.pyi`` alone, without the docstrings of the compiled
  types; the build then warns, which ``mkdocs build --strict`` turns into an error.
- ``PrivateParameters``: parameters named with a leading underscore are internal
  (``SparseJacobian(..., _pattern=None)``) and left out of signatures.
"""

import ast
import logging
import re
from pathlib import Path

import griffe

# A logger under "mkdocs.": its warnings count in `mkdocs build --strict`.
_log = logging.getLogger("mkdocs.plugins.griffe_dualjac")

_GENERIC_INIT = "Initialize self."


class CompiledSignatures(griffe.Extension):
    def on_function_instance(self, *, func, agent, **kwargs):
        if isinstance(agent, griffe.Inspector):
            func.labels.discard("method descriptor")
            if _embedded_signature(func.docstring, func.name) is not None:
                _drop_first_paragraph(func)

    def on_class_members(self, *, cls, agent, **kwargs):
        if not isinstance(agent, griffe.Inspector):
            return
        cls.bases = [base for base in cls.bases if not _last_name(str(base)).startswith("_")]
        init = cls.members.get("__init__")
        if init is not None and init.docstring and init.docstring.value.startswith(_GENERIC_INIT):
            cls.del_member("__init__")
            parameters = _parameters(_embedded_signature(cls.docstring, cls.name))
            if parameters is not None:   # `DualArray(value, tangent)`: the constructor's
                init.parameters = parameters
                init.docstring = None
                cls.set_member("__init__", init)
                _drop_first_paragraph(cls)


class CompiledExtensionPresent(griffe.Extension):
    def on_package(self, *, pkg, **kwargs):
        if pkg.name != "dualjac":
            return
        folder = Path(pkg.filepath).parent
        if not any(folder.glob("_core.*.so")) and not any(folder.glob("_core.*.pyd")):
            _log.warning(f"{folder} holds no compiled dualjac._core, so the API pages would lack "
                         "the compiled types' docstrings: build it in place (pip install -e .), "
                         "or run mkdocs outside this checkout with dualjac installed")


class PrivateParameters(griffe.Extension):
    def on_function_instance(self, *, func, **kwargs):
        public = [p for p in func.parameters if not p.name.startswith("_")]
        if len(public) < len(func.parameters):
            func.parameters = griffe.Parameters(*public)


def _embedded_signature(docstring, name):
    """The ``(params)`` of a first line ``name(params)`` or ``Class.name(params)``, else None."""
    if docstring is None:
        return None
    first = docstring.value.split("\n", 1)[0].strip()
    match = re.fullmatch(rf"(?:\w+\.)?{re.escape(name)}(\(.*\))", first)
    return match and match.group(1)


def _drop_first_paragraph(obj):
    rest = obj.docstring.value.split("\n\n", 1)[1:]
    if rest and rest[0].strip():
        obj.docstring = griffe.Docstring(rest[0].strip(), parent=obj)
    else:
        obj.docstring = None


def _parameters(signature):
    """griffe parameters from ``(a, b=1, *args, c, **kw)``, defaults kept as written; None
    for no signature or one in Cython's syntax (``(str maker, int count=1)``)."""
    try:
        args = ast.parse(f"def f{signature}: pass").body[0].args
    except (SyntaxError, TypeError):
        return None
    kinds = griffe.ParameterKind
    found = [griffe.Parameter("self", kind=kinds.positional_or_keyword)]
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + args.defaults
    for arg, default in zip(positional, defaults):
        kind = kinds.positional_only if arg in args.posonlyargs else kinds.positional_or_keyword
        found.append(griffe.Parameter(arg.arg, kind=kind, default=_source(default)))
    if args.vararg:
        found.append(griffe.Parameter(args.vararg.arg, kind=kinds.var_positional))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        found.append(griffe.Parameter(arg.arg, kind=kinds.keyword_only, default=_source(default)))
    if args.kwarg:
        found.append(griffe.Parameter(args.kwarg.arg, kind=kinds.var_keyword))
    return griffe.Parameters(*found)


def _source(node):
    return None if node is None else ast.unparse(node)


def _last_name(path):
    return path.rsplit(".", 1)[-1]
