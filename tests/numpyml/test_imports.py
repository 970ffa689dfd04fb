"""numpyml's import rules, read from its source (nothing is imported to check them).

Every `import` statement counts, at module level or inside a function: a function-level
import only delays a cycle, it does not remove it. Imports under `if TYPE_CHECKING:`
never run, so they are left out. `import numpyml.metrics` is an edge to
`numpyml.metrics` only (not to the package `__init__` Python also runs), as in
import-linter; `from numpyml import metrics` is an edge to the submodule when one
exists, else to `numpyml` itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "numpyml"
ROOT = Path(__file__).resolve().parents[2] / PACKAGE
# numpyml is a plain numpy library: the web app, the project and scikit-learn are not
# its dependencies (scikit-learn is its reference, used by the tests only).
FORBIDDEN = ("django", "sklearn", "registry", "mlsite")

Graph = dict[str, set[str]]


def module_name(path: Path, root: Path, package: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        children = list(ast.iter_child_nodes(node))
        if isinstance(node, ast.If) and _is_type_checking(node):
            children = node.orelse  # the TYPE_CHECKING branch never runs
        stack.extend(children)
    return found


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imported_modules(path: Path, module: str, known: set[str]) -> set[str]:
    """Every module `path` imports, as absolute dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        target = _absolute(node, module, is_package)
        for alias in node.names:
            submodule = f"{target}.{alias.name}"
            names.add(submodule if submodule in known else target)
    return names


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> Graph:
    """module -> every module it imports (inside the package or not)."""
    files = {module_name(p, root, package): p for p in sorted(root.rglob("*.py"))}
    known = set(files)
    return {name: imported_modules(path, name, known) for name, path in files.items()}


def find_cycle(graph: Graph) -> list[str] | None:
    """One import cycle as a path [a, b, ..., a], or None; edges leaving the graph are
    ignored."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph[start] & graph.keys()))]
        path.append(start)
        on_path.add(start)
        while stack:
            node, pending = stack[-1]
            if not pending:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
                continue
            nxt = pending.pop(0)
            if nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            if nxt in done:
                continue
            stack.append((nxt, sorted(graph[nxt] & graph.keys())))
            path.append(nxt)
            on_path.add(nxt)
    return None


def test_the_walker_finds_function_level_imports_and_cycles(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from pkg.a import f\n")
    (package / "a.py").write_text("import numpy\n\ndef f():\n    from . import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import django\n"
        "from pkg.c import g\n"
    )
    (package / "c.py").write_text("def g():\n    from pkg import a\n")
    graph = import_graph(package, "pkg")
    assert graph["pkg.a"] == {"numpy", "pkg.b"}
    assert graph["pkg.b"] == {"typing", "pkg.c"}
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]
    assert find_cycle({"x": {"y"}, "y": {"z"}, "z": set()}) is None


def test_numpyml_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "numpyml import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("forbidden", FORBIDDEN)
def test_numpyml_never_imports(forbidden):
    offenders = sorted(
        f"{module} imports {name}"
        for module, names in import_graph().items()
        for name in names
        if name == forbidden or name.startswith(f"{forbidden}.")
    )
    assert not offenders, "\n".join(offenders)
