"""The shape of the code, checked: no import cycles inside `registry/`, and nothing in
`registry/` imports the project (`mlsite`), so the app is one piece that a project uses.

Every import counts, module-level and inside functions (an import moved into a function to
dodge a cycle is still a cycle), except those under `if TYPE_CHECKING:`. Importing a module
of a package runs the package's `__init__` first, so it counts as an import of that too.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(package: str) -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
    }


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(module: str, path: Path) -> set[str]:
    """Dotted names a module imports (for `from a import b`, both `a` and `a.b`)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def _graph(package: str) -> dict[str, set[str]]:
    modules = _modules(package)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        edges = set()
        for name in _imported(module, path):
            parts = name.split(".")
            # the module itself and every package on its way, whose __init__ runs first
            for end in range(1, len(parts) + 1):
                target = ".".join(parts[:end])
                if target in modules and target != module and not module.startswith(target + "."):
                    edges.add(target)
        graph[module] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_it_finds_a_cycle_when_there_is_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_it_has_no_import_cycle_in_registry():
    assert _cycles(_graph("registry")) == []


def test_it_keeps_registry_free_of_the_project():
    reaching_up = {
        module: sorted(name for name in _imported(module, path) if name.split(".")[0] == "mlsite")
        for module, path in _modules("registry").items()
    }
    assert {module: names for module, names in reaching_up.items() if names} == {}


def _files_with(text: str) -> list[str]:
    return sorted(
        str(path.relative_to(ROOT))
        for package in ("registry", "mlsite")
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and text in path.read_text()
    )


def test_it_knows_each_thing_in_one_place():
    """One definition each: the bearer header's parsing, the TTL cache, the ownership rule,
    the pipeline's shape, the predict body's parsing."""
    assert _files_with("HTTP_AUTHORIZATION") == ["registry/api/auth.py"]
    assert _files_with("class TTLCache") == ["registry/ttl.py"]
    assert _files_with("def can_change(") == ["registry/selectors.py"]
    assert _files_with('"onehot"') == ["registry/pipeline.py"]
    assert _files_with('"prep"') == ["registry/pipeline.py"]
    assert _files_with('"dataframe_records"') == [
        "registry/api/endpoints.py",
        "registry/serving/bodies.py",
    ]
    assert _files_with("def _rows_from_json(") == ["registry/serving/bodies.py"]
