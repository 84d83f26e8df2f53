"""The package flows one way: profile → rules → screening → store → memo → jobs → analysis → cli.

Every import is checked, also those inside functions and under ``TYPE_CHECKING``: a module may
import its own stage and the stages below it, and no two modules may import each other (directly
or round a longer cycle). The shared modules at the top of the package (errors, config, files,
texts, resources, cache) sit below every stage and import only each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "screener"
STAGES = ("profile", "rules", "screening", "store", "memo", "jobs", "analysis", "cli")
SHARED = ("errors", "config", "files", "texts", "resources", "cache")


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if "migrations" in parts:
            continue
        name = ".".join(("screener", *parts)).removesuffix(".__init__")
        found[name] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports (``from a import b`` means module a.b when there is one)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {t for t in targets if t in modules and t != name}


def _rank(name: str) -> int | None:
    """The stage a module belongs to (0 for the shared modules); None for the public API and ``__main__``."""
    parts = name.split(".")
    if len(parts) == 1 or parts[1] == "__main__":
        return None
    if parts[1] in SHARED:
        return 0
    assert parts[1] in STAGES, f"{name}: a module outside the stages ({', '.join(STAGES)}) or shared modules"
    return STAGES.index(parts[1]) + 1


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _stage_name(rank: int) -> str:
    return "shared" if rank == 0 else STAGES[rank - 1]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for name, targets in sorted(graph.items()):
        rank = _rank(name)
        for target in sorted(targets):
            target_rank = _rank(target)
            if rank is not None and target_rank is not None and target_rank > rank:
                found.append(f"{name} ({_stage_name(rank)}) imports {target} ({_stage_name(target_rank)})")
    return found


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """Each module that an import path leads back to, with that path."""
    found = []
    for start in sorted(graph):
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for target in sorted(graph.get(node, ())):
                if target == start:
                    found.append(" -> ".join([*trail, start]))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*trail, target]))
    return found


def test_no_module_imports_a_later_stage() -> None:
    assert upward_imports(_graph()) == []


def test_no_import_cycle() -> None:
    assert cycles(_graph()) == []


def test_the_checks_name_the_pair() -> None:
    # The checks can fail: on a made-up graph they name the modules at fault.
    graph = {
        "screener.profile.model": {"screener.cli.main", "screener.errors"},
        "screener.memo.draft": {"screener.jobs.screen"},
        "screener.jobs.screen": {"screener.memo.draft"},
        "screener.errors": set(),
    }
    assert upward_imports(graph) == [
        "screener.memo.draft (memo) imports screener.jobs.screen (jobs)",
        "screener.profile.model (profile) imports screener.cli.main (cli)",
    ]
    assert cycles(graph) == [
        "screener.jobs.screen -> screener.memo.draft -> screener.jobs.screen",
        "screener.memo.draft -> screener.jobs.screen -> screener.memo.draft",
    ]


def test_lazy_and_type_checking_imports_count(tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from screener.jobs import screen\n"
        "def f():\n    from screener.store import packing\n"
    )
    assert _imports("screener.profile.bad", path, _modules()) == {"screener.jobs.screen", "screener.store.packing"}
