"""The dispatch package's layout (dualjac/dispatch/): no import circle.

The registry and the helpers import no rule module; a rule module imports rule
modules of earlier layers only (dualjac.dispatch.LAYERS); the package lists
every rule module. The witness is what Python actually imports: each module is
imported in a fresh interpreter, registry first, with the packages `dualjac` and
`dualjac.dispatch` stood in by empty modules (their __init__ imports every
rule), and the dispatch modules then in sys.modules are read.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import dualjac
from dualjac import dispatch

PACKAGE = "dualjac.dispatch"
HELPERS = ("registry", "jets")
LAYER_OF = {module.__name__.rsplit(".", 1)[1]: i
            for i, layer in enumerate(dispatch.LAYERS, start=1) for module in layer}


def loaded_after_importing(names):
    """The dispatch modules in sys.modules after importing these ones, in order, in
    a fresh interpreter whose `dualjac` and `dualjac.dispatch` run no __init__;
    and, by module, how many entries of the registry's tables its code fills."""
    code = textwrap.dedent(f"""
        import json, sys, types
        for name, path in (("dualjac", {os.path.dirname(dualjac.__file__)!r}),
                           ("{PACKAGE}", {os.path.dirname(dispatch.__file__)!r})):
            stand_in = types.ModuleType(name)
            stand_in.__path__ = [path]
            sys.modules[name] = stand_in
        import importlib
        for name in {list(names)!r}:
            importlib.import_module("{PACKAGE}." + name)
        registry = sys.modules["{PACKAGE}.registry"]
        impls = [*registry.HANDLED.values(), *registry.EXTRA_UFUNCS.values(),
                 *registry.UFUNC_METHODS.values(), *registry.ROW_RULES.values(),
                 *registry.FOLDS.values()]
        owners = [getattr(getattr(f, "func", f), "__module__", "").rsplit(".", 1)[-1]
                  for f in impls]
        loaded = [m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("{PACKAGE}.")]
        print(json.dumps({{
            "loaded": sorted(loaded),
            "rules": {{owner: owners.count(owner) for owner in owners}}}}))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_registry_imports_no_rule_module():
    found = loaded_after_importing(["registry"])
    assert found["loaded"] == ["jets", "registry"]
    assert found["rules"] == {}         # the tables start empty: every rule is a rule module's


@pytest.mark.parametrize("name", sorted(LAYER_OF))
def test_rule_module_imports_only_earlier_layers(name):
    found = loaded_after_importing(["registry", name])
    rule_modules = set(found["loaded"]) - set(HELPERS) - {name}
    later = sorted(m for m in rule_modules if LAYER_OF[m] >= LAYER_OF[name])
    assert not later, f"{name} (layer {LAYER_OF[name]}) imports {later}, not of an earlier layer"
    assert found["rules"].get(name, 0) > 0      # the module registers rules of its own


def test_package_lists_every_rule_module():
    """A rule module missing from dispatch/__init__.py would leave its rules unregistered."""
    files = {f[:-3] for f in os.listdir(os.path.dirname(dispatch.__file__))
             if f.endswith(".py") and f != "__init__.py"}
    assert sorted(files - set(HELPERS)) == sorted(LAYER_OF)
