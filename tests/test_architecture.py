"""The shape of the code: no import cycle between wq's modules, argument parsing only in wq.cli, modules and
functions of a readable size (or a reason written next to them)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "wq"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
REASON = "size:"  # a comment "# size: why" on the def line or the module's first lines allows a larger one


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path) -> set[str]:
    """wq modules ``name`` imports anywhere in its code (module level and inside functions alike: a lazy import
    hides a cycle from Python, not from the design)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            subs = [f"{base}.{a.name}" for a in node.names]
            # `from pkg import submodule` depends on the submodule; `from pkg import name` on pkg itself
            targets = subs + ([base] if any(t not in MODULES for t in subs) else [])
        for t in targets:
            while t and t not in MODULES:  # `from wq.x import name`: the module is wq.x
                t = t.rpartition(".")[0]
            if t and t != name and t != "wq":
                found.add(t)
    return found


GRAPH = {name: imports_of(name, path) for name, path in MODULES.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
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

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_wq_modules():
    found = cycles(GRAPH)
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_argument_parsing_only_in_the_cli_package():
    users = [n for n, p in MODULES.items() if not n.startswith("wq.cli") and "argparse" in imports_of_std(p)]
    assert not users, f"argparse outside wq.cli: {users}"


def imports_of_std(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_no_library_module_imports_a_private_name_of_the_cli():
    for name, path in MODULES.items():
        if name.startswith("wq.cli") or name.endswith("__main__"):  # entry points may start the command line
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("wq.cli"):
                raise AssertionError(f"{name} imports from {node.module}: library code must not depend on the command line")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_and_function_sizes(name):
    path = MODULES[name]
    lines = path.read_text(encoding="utf-8").splitlines()
    head = "\n".join(lines[:12])
    if len(lines) > MAX_MODULE_LINES:
        assert REASON in head, f"{name}: {len(lines)} lines > {MAX_MODULE_LINES} without a '# {REASON} ...' note"
    tree = ast.parse("\n".join(lines))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                context = "\n".join(lines[node.lineno - 2: node.lineno + 1])
                assert REASON in context, (f"{name}.{node.name}: {length} lines > {MAX_FUNCTION_LINES} without a "
                                           f"'# {REASON} ...' note next to its def")
