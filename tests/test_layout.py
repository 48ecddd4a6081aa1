"""House rules of the source tree, checked from the files (no TensorFlow needed)."""

import ast
import os

from helpers import REPO


PACKAGE = os.path.join(REPO, "vidgan")


def _modules() -> dict[str, str]:
    """module name -> path, for every file of the vidgan package."""
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                module = os.path.relpath(path[:-3], REPO).replace(os.sep, ".")
                found[module.removesuffix(".__init__")] = path
    return found


def _runtime_imports(tree: ast.Module):
    """Every import statement of a module, at any depth (lazy ones too), except those
    under `if TYPE_CHECKING:` (annotations only; never executed)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        with open(path) as f:
            tree = ast.parse(f.read())
        targets = set()
        for node in _runtime_imports(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                # `from pkg import module` names the module; `from pkg import function`
                # the package (or the module) that defines it
                names = [f"{base}.{a.name}" for a in node.names]
            for name in names:
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name and name != module:
                    targets.add(name)
        graph[module] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_the_package():
    """Lazy imports count: a cycle through a function-level import is still a cycle."""
    graph = _import_graph()
    assert "vidgan.data.registry" in graph["vidgan.config.sections"]  # a lazy import, seen
    assert _cycles(graph) == []


def test_library_does_not_import_data_pipelines():
    """data_pipelines/ builds datasets on top of vidgan; vidgan (outside cli/) never
    imports it."""
    graph_text = {}
    for module, path in _modules().items():
        if module.startswith("vidgan.cli"):
            continue
        with open(path) as f:
            tree = ast.parse(f.read())
        for node in _runtime_imports(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""])
            graph_text[module] = graph_text.get(module, []) + names
    offenders = {m: n for m, n in graph_text.items()
                 if any(x.split(".")[0] == "data_pipelines" for x in n)}
    assert offenders == {}


def test_no_library_file_over_400_lines():
    """A file that grows past 400 lines holds more than one concept: split it by concept."""
    roots = [PACKAGE, os.path.join(REPO, "data_pipelines")]
    long = {}
    for root in roots:
        for folder, _, files in os.walk(root):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    with open(path) as f:
                        count = sum(1 for _ in f)
                    if count > 400:
                        long[os.path.relpath(path, REPO)] = count
    assert long == {}
