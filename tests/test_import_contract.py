"""The import rules of CONTRIBUTING.md, read from the source with ``ast``: layering, no cycles, imports at the top.

An import's target is the module it names (``from a.b import c`` names ``a.b.c`` when that is a module, else
``a.b``), as import-graph tools count them; imports under ``if TYPE_CHECKING:`` do not run and are skipped.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "integral_pose"

# Higher layers may import lower ones, never the reverse (CONTRIBUTING.md, "Layout and imports").
LAYERS: dict[str, int] = {
    "conventions": 0,
    "errors": 0,
    "fileio": 0,
    "config": 1,
    "skeletons": 1,
    "geometry": 2,
    "losses": 3,
    "data": 4,
    "models": 4,
    "synth": 4,
    "viz": 4,
    "eval": 4,
    "build": 5,
    "engine": 6,
    "inference": 6,
    "export": 6,
    "bench": 6,
    "cli": 7,
}

# Third-party modules that belong to an optional extra (or to the dev-only oracles): the only imports allowed
# inside functions.
OPTIONAL = frozenset(
    {
        "matplotlib",
        "plotly",
        "onnx",
        "onnxruntime",
        "onnxscript",
        "tensorboard",
        "torch.utils.tensorboard",
        "pycocotools",
        "cdflib",
        "scipy",
        "safetensors",
    }
)


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (absolute name)
    line: int
    in_function: bool


def _modules() -> dict[str, Path]:
    out = {}
    for path in (SRC / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []

    def targets(node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        return [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub, in_function)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend(Import(name, t, child.lineno, in_function) for t in targets(child))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, Path], list[Import]]:
    modules = _modules()
    imports = [imp for name, path in modules.items() for imp in _imports(name, path, modules)]
    return modules, imports


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) == 1:
        return None  # the package root re-exports the public API and sits above everything
    return LAYERS.get(parts[1])


def test_every_subpackage_has_a_layer(graph):
    modules, _ = graph
    missing = sorted({m.split(".")[1] for m in modules if "." in m} - set(LAYERS))
    assert not missing, f"add these to LAYERS and CONTRIBUTING.md: {missing}"


def test_imports_respect_the_layers(graph):
    _, imports = graph
    upward = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in imports
        if i.target.startswith(PACKAGE + ".")
        and _layer(i.source) is not None
        and _layer(i.target) is not None
        and _layer(i.target) > _layer(i.source)
    ]
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def _cycles(nodes: list[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_cycle_finder_finds_a_known_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(["a", "b", "c", "d"], edges) == [["a", "b", "c"]]
    assert _cycles(["a", "b"], {"a": {"b"}}) == []


def test_no_import_cycles(graph):
    modules, imports = graph
    edges: dict[str, set[str]] = {}
    for i in imports:
        if i.target in modules and i.target != i.source:
            edges.setdefault(i.source, set()).add(i.target)
    cycles = _cycles(sorted(modules), edges)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_imports_inside_functions_only_for_optional_extras(graph):
    _, imports = graph
    bad = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in imports
        if i.in_function and not any(i.target == o or i.target.startswith(o + ".") for o in OPTIONAL)
    ]
    assert not bad, f"{len(bad)} imports inside functions (move them to the top of the module):\n" + "\n".join(bad)


MAX_LINES = 600


def test_long_modules_say_why_at_the_top(graph):
    """CONTRIBUTING.md: a module over ~600 lines states its reason in its docstring (a paragraph ``Length: …``)."""
    modules, _ = graph
    unexplained = []
    for name, path in sorted(modules.items()):
        text = path.read_text(encoding="utf-8")
        n = len(text.splitlines())
        if n > MAX_LINES and "\nLength: " not in (ast.get_docstring(ast.parse(text)) or ""):
            unexplained.append(f"{name}: {n} lines")
    assert not unexplained, "split these modules or say why they are long:\n" + "\n".join(unexplained)
