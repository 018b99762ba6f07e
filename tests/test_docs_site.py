"""The documentation site: `mkdocs build --strict` of this checkout's mkdocs.yml must succeed
(a broken link, a missing anchor or a docstring the API pages cannot render is an error), and
the site must hold every page of docs/ and an entry for every public name of dualjac.

Witnesses: the markdown files in docs/, the nav of mkdocs.yml and `dualjac.__all__` /
`dualjac.coloring.__all__`, compared with what the build wrote.
"""

import inspect
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
import yaml

import dualjac
import dualjac.coloring

CHECKOUT = Path(__file__).resolve().parent.parent
CONFIG = CHECKOUT / "mkdocs.yml"
DOCS = CHECKOUT / "docs"

# The coloring module's tuples of accepted option values are described by its functions.
COLORING_CONSTANTS = {"COLUMN_ORDERS", "STAR_ORDERS", "FORMATS"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    # Run from the output directory: `python -m` puts the working directory first on
    # sys.path, and from the checkout mkdocstrings would read the checkout's dualjac, which
    # has no compiled extension unless built in place, instead of the installed one.
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out), "-f", str(CONFIG)],
        cwd=out, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        f"mkdocs build --strict failed (pip install '.[test]' installs mkdocs):\n{result.stderr}")
    return out


def markdown_pages():
    pages = sorted(path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md"))
    assert "index.md" in pages and any(page.startswith("api/") for page in pages)
    return pages


def nav_pages(entries):
    """The markdown files a mkdocs nav (a list of {title: page or list}) names."""
    for entry in entries:
        target = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(target, list):
            yield from nav_pages(target)
        else:
            yield target


def html_of(site, page):
    return (site / page).with_suffix(".html").read_text(encoding="utf-8")


def test_every_docs_page_is_in_the_nav():
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert sorted(nav_pages(config["nav"])) == markdown_pages()


@pytest.mark.parametrize("page", markdown_pages())
def test_every_docs_page_is_built(site, page):
    html = html_of(site, page)
    title = next(line for line in (DOCS / page).read_text(encoding="utf-8").splitlines()
                 if line.startswith("# "))[2:]
    assert f">{title}<" in html.replace("&#39;", "'")


def api_entries(site):
    """{name: (signature, first paragraph)} of every object on the API pages, as text, by the
    last component of its anchor (`id="dualjac.sparse.SparseJacobian"`; a module-level object
    before a method of the same name): the (first) signature shown under its heading and the
    first paragraph of its docstring."""
    anchors = []
    for page in (site / "api").glob("*.html"):
        html = page.read_text(encoding="utf-8")
        anchors += [(match.group(1), html[match.end():])
                    for match in re.finditer(r'<h\d id="(dualjac(?:\.\w+)+)"', html)]
    entries = {}
    for anchor, rest in sorted(anchors, key=lambda found: found[0].count(".")):
        header, _, contents = rest.partition('<div class="doc doc-contents')
        signature = re.search(r'<div class="doc-signature[^>]*>(.*?)</div>', header, re.S)
        paragraph = re.search(r"<p>(.*?)</p>", contents, re.S)
        entries.setdefault(anchor.rsplit(".", 1)[1], (as_text(signature.group(1) if signature else ""),
                                                      as_text(paragraph.group(1) if paragraph else "")))
    return entries


def as_text(html):
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


def parameter_names(signature):
    """The names in `name(a: T[x, y] = 1, *, b=2) -> R`: ["a", "", "b"] (`*` has none)."""
    names, depth, part = [], 0, ""
    for char in signature.split("(", 1)[1]:
        if depth == 0 and char in ",)":
            names.append(re.match(r"\**(\w*)", part.strip()).group(1))
            if char == ")":
                return names
            part = ""
        else:
            depth += (char in "([{") - (char in ")]}")
            part += char
    return names


def public_objects():
    names = sorted(set(dualjac.__all__) | set(dualjac.coloring.__all__) - COLORING_CONSTANTS)
    return {name: getattr(dualjac, name, None) or getattr(dualjac.coloring, name) for name in names}


def test_every_public_name_has_an_api_entry(site):
    assert set(public_objects()) - set(api_entries(site)) == set()


@pytest.mark.parametrize("name", sorted(public_objects()))
def test_api_entry_shows_signature_and_docstring(site, name):
    """The entry shows the parameters Python reports for the object (internal ones, with a
    leading underscore, left out) and the first sentence of its docstring, after the
    signature line Cython puts at the top of a compiled object's docstring."""
    obj = public_objects()[name]
    signature, docstring = api_entries(site)[name]
    try:
        parameters = [p for p in inspect.signature(obj).parameters if not p.startswith("_")]
    except ValueError:   # extension types: their signature is the stub's or Cython's line
        parameters = []
    if parameters and not isinstance(obj, type(dualjac.UnconnectedGradients)):
        assert signature.startswith(f"{name}(")
        assert [p for p in parameter_names(signature) if p not in ("self", "")] == parameters
    paragraphs = inspect.getdoc(obj).split("\n\n")
    if re.fullmatch(r"[\w.]+\(.*\)", paragraphs[0]):
        paragraphs = paragraphs[1:]
    first_words = " ".join(re.sub(r"`+", "", paragraphs[0]).split()[:8])
    assert docstring.startswith(first_words)
