"""haven/certs/ in layers: no import cycle, no application or edge imported, no file opened.

Imports are read from the source (ast), those inside functions and ``TYPE_CHECKING`` blocks
included: a cycle hidden in a function-level import is still a cycle for a reader.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

import haven

PACKAGE = Path(haven.__file__).parent
CERTS = PACKAGE / "certs"
# What the certificate core may build on: the pure core, the error tree, QR rendering and reading, and the
# exit codes (the bulk verifier's result lines are what ``haven cert verify -`` prints, with their exit codes).
ALLOWED_OUTSIDE = ("haven.core", "haven.errors", "haven.qr", "haven.exit_codes")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, known: set[str]) -> set[str]:
    """The haven modules ``path`` imports; ``from haven.certs import cbor`` names ``haven.certs.cbor``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return {name for name in found if name == "haven" or name.startswith("haven.")}


def import_graph() -> dict[str, set[str]]:
    known = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {module_name(p): imported(p, known) for p in sorted(CERTS.glob("*.py"))}


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import cycle among the graph's own modules, as the path that closes it; None if there is none."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done or name not in graph:
            return None
        for other in sorted(graph[name]):
            cycle = visit(other, [*path, name])
            if cycle:
                return cycle
        done.add(name)
        return None

    for name in sorted(graph):
        cycle = visit(name, [])
        if cycle:
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "x"}, "b": {"c"}, "c": set()}) is None
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from haven.certs import verify\n    import haven.errors\n", "utf-8")
    assert imported(probe, {"haven.certs.verify"}) == {"haven.certs.verify", "haven.errors"}


def test_haven_certs_has_no_import_cycle() -> None:
    graph = import_graph()
    assert "haven.certs.verify" in graph and "haven.certs.eudcc" in graph  # the graph is of the real package
    assert find_cycle(graph) is None


def test_only_verify_dispatches_and_the_formats_build_on_the_result_module() -> None:
    graph = import_graph()
    formats = {"haven.certs.haven_format", "haven.certs.eudcc", "haven.certs.shc"}
    assert formats <= graph["haven.certs.verify"]
    for name in formats:
        assert "haven.certs.result" in graph[name]
        assert not graph[name] & (formats - {name}), f"{name} imports another format"
        assert "haven.certs.verify" not in graph[name]
    for name in ("haven.certs.result", "haven.certs.facts", "haven.certs.issuers"):
        assert not graph[name] & formats, f"{name} is below the formats but imports one"
    assert "haven.certs.bulk" not in {m for deps in graph.values() for m in deps}  # nothing depends on the fast path


def test_certs_import_no_application_layer_nor_edge() -> None:
    for name, deps in import_graph().items():
        outside = {d for d in deps if not d.startswith("haven.certs")}
        assert all(d.startswith(ALLOWED_OUTSIDE) for d in outside), f"{name} imports {sorted(outside)}"


def test_certs_open_no_file() -> None:
    """Reading files is the edges' work (the CLI reads --issuer-cert and JWKS files): certs/ takes bytes."""
    opening = {"open", "read_bytes", "read_text", "write_bytes", "write_text", "is_file", "exists", "iterdir"}
    for path in sorted(CERTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                owner = func.value if isinstance(func, ast.Attribute) else None
                if name == "open" and isinstance(owner, ast.Name) and owner.id == "Image":
                    continue  # Pillow opening bytes already in memory
                assert name not in opening, f"{path.name}:{node.lineno} calls {name}()"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                assert "pathlib" not in names, f"{path.name} imports pathlib"
