"""No import cycles inside keras_resnet/, counting imports inside functions (issue 23).

Every module is parsed with `ast` (never imported): each `import` and `from ... import` of a keras_resnet module
anywhere in it (module level or inside a function or method) is an edge; relative imports are resolved against
the module's package. `from pkg import name` where pkg.name is a module is an import of that submodule; otherwise
(a name defined in pkg/__init__.py) an import of the package, i.e. of its __init__. Importing a.b.c is an edge to
a.b.c only (Python also runs a/__init__ and a/b/__init__ first, but counting that would put every package's
re-exports in a cycle with the modules they re-export). Imports under `if TYPE_CHECKING:` never run and are left
out. The graph's cycles (strongly connected components with more than one module, or a module that imports
itself) are printed, one path each.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = "keras_resnet"


def module_files(root=ROOT / PACKAGE):
    """{dotted module name: path}; a package's __init__.py is the package's name."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_type_checking(test):
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree):
    """Every Import / ImportFrom node, except those under `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def edges_of(name, path, modules):
    """The keras_resnet modules `name` (at `path`) imports, with the line of each."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = {}
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = []
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                targets.append(sub if sub in modules else source)
        for target in targets:
            if target in modules and target != name:
                out.setdefault(target, node.lineno)
            elif target == name:
                out.setdefault(target, node.lineno)
    return out


def import_graph():
    modules = module_files()
    return {name: edges_of(name, path, modules) for name, path in modules.items()}


def cycles(graph):
    """One cycle (a list of modules, first repeated at the end) per strongly connected component (Tarjan)."""
    index, low, on, stack, comps, counter = {}, {}, set(), [], [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                strong(w)
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
            if len(comp) > 1 or v in graph.get(v, {}):
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    found = []
    for comp in comps:    # a shortest cycle through the component's first module (breadth-first)
        members, start = set(comp), comp[0]
        prev, queue = {start: None}, [start]
        cycle = None
        while queue and cycle is None:
            v = queue.pop(0)
            for w in sorted(graph[v]):
                if w == start:
                    path = [v]
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])
                    cycle = list(reversed(path)) + [start]
                    break
                if w in members and w not in prev:
                    prev[w] = v
                    queue.append(w)
        found.append((comp, cycle))
    return found


def _describe(graph, found):
    lines = []
    for comp, cycle in found:
        steps = [f"{a} (line {graph[a][b]}) -> {b}" for a, b in zip(cycle, cycle[1:])]
        lines.append(f"cycle among {len(comp)} modules {comp}:\n    " + "\n    ".join(steps))
    return "\n".join(lines)


def test_the_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    assert "keras_resnet.nets.graph" in graph["keras_resnet.nets.weights"]        # inside a function
    assert "keras_resnet.deploy.images" in graph["keras_resnet.app.classify"]     # inside a function, `from ..deploy.images`
    assert "keras_resnet.deploy.tflite" in graph["keras_resnet.deploy.predictors"]   # module level, relative
    assert "keras_resnet.nets.layers" in graph["keras_resnet.nets.saving"]        # `from . import layers`: the submodule
    assert cycles({"a": {"b": 1}, "b": {"a": 2}, "c": {}}) == [(["a", "b"], ["a", "b", "a"])]
    assert cycles({"a": {"a": 1}}) == [(["a"], ["a", "a"])]


def test_no_import_cycle_in_keras_resnet():
    graph = import_graph()
    found = cycles(graph)
    edges = sum(len(e) for e in graph.values())
    print(_describe(graph, found) or f"no cycle: {len(graph)} modules, {edges} import edges (function-level included)")
    assert not found, "\n" + _describe(graph, found)
