"""The house plan, checked: imports point one way (notebooks -> studies -> domain packages ->
features / evaluation -> data -> config / io) and no module imports itself back round a cycle.

The graph is built with ``ast`` from every ``import`` in ``lib/shopintent`` (those inside
functions too: a lazy import is still a dependency), so it needs no heavy import itself.
"""

import ast
import re
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[2] / "lib"
PACKAGE = LIB / "shopintent"

#: Layer of each top-level module or package: a module may import a lower layer, or its own
#: top-level package; never a higher layer, never a sibling package of the same layer.
LAYERS = {
    "config": 0,
    "io": 0,
    "processes": 0,
    "normalise": 0,
    "data": 1,
    "evaluation": 1,
    "features": 2,
    "models": 3,
    "eda": 4,
    "kg": 4,
    "explain": 4,
    "experiments": 4,
    "studies": 5,
    "reporting": 6,
    "pipeline": 7,
    "cli": 8,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(LIB).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The shopintent modules ``path`` imports: ``from a.b import c`` counts as ``a.b.c`` when
    ``c`` is a module, else as ``a.b``."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("shopintent"))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("shopintent")
        ):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in modules else node.module)
    return out


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {name: _imports(path, modules) - {name} for name, path in files.items()}


def top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for src, targets in graph.items():
        for dst in targets:
            a, b = top(src), top(dst)
            if not a or not b or a == b:
                continue
            if LAYERS[b] >= LAYERS[a]:
                bad.append(f"{src} imports {dst} ({a}: layer {LAYERS[a]}, {b}: layer {LAYERS[b]})")
    return sorted(bad)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), ignoring a package's
    ``__init__`` re-exporting its own submodules (an import of the package runs it anyway)."""
    edges = {
        m: {d for d in ds if d in graph and not (m == d.rsplit(".", 1)[0])}
        for m, ds in graph.items()
    }
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_every_top_level_module_has_a_layer():
    graph = import_graph()
    assert sorted({top(m) for m in graph if top(m)} - set(LAYERS)) == []


def test_imports_point_down_the_layers():
    assert upward_imports(import_graph()) == []


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_the_checks_catch_what_they_are_for():
    graph = {
        "shopintent.data.a": {"shopintent.models.b"},
        "shopintent.models.b": {"shopintent.models.c"},
        "shopintent.models.c": {"shopintent.models.b"},
        "shopintent.kg.x": {"shopintent.explain.y"},
        "shopintent.explain.y": set(),
    }
    assert upward_imports(graph) == [
        "shopintent.data.a imports shopintent.models.b (data: layer 1, models: layer 3)",
        "shopintent.kg.x imports shopintent.explain.y (kg: layer 4, explain: layer 4)",
    ]
    assert cycles(graph) == [["shopintent.models.b", "shopintent.models.c"]]


NOTEBOOK_NAME = re.compile(r"notebook_?[0-9]{2}|_nb[0-9]{2}")


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: module_name(p))
def test_only_studies_name_a_notebook_in_code(path):
    """Outside ``studies/`` a notebook number may appear in prose, never in a name or a value."""
    if module_name(path).startswith("shopintent.studies"):
        return
    tree = ast.parse(path.read_text())
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name | ast.FunctionDef | ast.ClassDef | ast.arg | ast.Attribute):
            name = (
                getattr(node, "id", None)
                or getattr(node, "name", None)
                or getattr(node, "arg", None)
                or getattr(node, "attr", "")
            )
            if NOTEBOOK_NAME.search(name):
                found.append(name)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            if NOTEBOOK_NAME.search(node.value):
                found.append(node.value)
    assert found == []


NOTEBOOKS = LIB.parent / "notebooks"
DATASET_NAMES = re.compile(r"^(DATASET|dataset|dataset_name)$")


def _name_comparisons(tree: ast.AST) -> list[str]:
    """Comparisons of ``DATASET`` (or ``dataset``) with a literal string or an upper-case
    constant (``== "homedepot"``, ``!= "synthetic"``, ``in ("a", "b")``, ``== MOVIELENS``)."""

    def is_name(node) -> bool:
        return isinstance(node, ast.Name) and bool(DATASET_NAMES.match(node.id))

    def is_literal(node) -> bool:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return True
        if isinstance(node, ast.Name) and node.id.isupper() and not DATASET_NAMES.match(node.id):
            return True
        return isinstance(node, ast.Tuple | ast.List | ast.Set) and any(
            is_literal(e) for e in node.elts
        )

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(is_name(s) for s in sides) and any(is_literal(s) for s in sides):
                found.append(ast.unparse(node))
    return found


def _notebook_code(path: Path) -> str:
    import json

    cells = json.loads(path.read_text())["cells"]
    lines = []
    for cell in cells:
        if cell["cell_type"] == "code":
            src = "".join(cell["source"])
            lines.extend(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!")))
    return "\n".join(lines)


@pytest.mark.parametrize(
    "path",
    sorted(NOTEBOOKS.glob("*.ipynb")) + sorted((PACKAGE / "studies").glob("*.py")),
    ids=lambda p: p.name,
)
def test_no_notebook_or_study_decides_by_the_dataset_name(path):
    """Issue 18: what a notebook does follows the data's capabilities
    (``data.capabilities``), never a comparison of ``DATASET`` with a dataset's name."""
    code = _notebook_code(path) if path.suffix == ".ipynb" else path.read_text()
    assert _name_comparisons(ast.parse(code)) == []


def test_the_name_check_catches_what_it_is_for():
    code = 'if DATASET == "homedepot": pass\nx = dataset in ("a", "b")\ny = dataset == MOVIELENS\n'
    code += 'z = DATASET == other\nw = caps.has("judgements")\n'
    assert _name_comparisons(ast.parse(code)) == [
        "DATASET == 'homedepot'",
        "dataset in ('a', 'b')",
        "dataset == MOVIELENS",
    ]
