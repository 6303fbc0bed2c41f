"""The code's own habits, checked with the tests: functions short enough to read at once, and the
floors of the library (facts below the cluster and the judge; steps that only call)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LONGEST = 80  # lines of a function, its docstring included


def _modules(*folders: str):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_no_function_is_longer_than_80_lines():
    long = []
    for path in _modules("bascule", "steps", "bench"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > LONGEST:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lignes)")
    assert not long, long


def test_the_cluster_never_imports_the_judge():
    """Observation, record, facts, verdicts: the observer stands below the judge."""
    wrong = [
        f"{p.relative_to(ROOT)} : {m}"
        for p in _modules("bascule/cluster")
        for m in _imports(p)
        if m.startswith("bascule.judging")
    ]
    assert not wrong, wrong


def test_facts_stand_below_the_cluster_and_the_judge():
    floors = ("bascule.cluster", "bascule.judging", "bascule.suite", "bascule.reporting", "bascule.endurance")
    wrong = [
        f"{p.relative_to(ROOT)} : {m}" for p in _modules("bascule/facts") for m in _imports(p) if m.startswith(floors)
    ]
    assert not wrong, wrong


def test_the_record_holds_no_arithmetic_and_imports_no_fact():
    wrong = [
        f"{p.relative_to(ROOT)} : {m}"
        for p in _modules("bascule/record")
        for m in _imports(p)
        if m.startswith(("bascule.facts", "bascule.judging", "bascule.cluster"))
    ]
    assert not wrong, wrong
    history = (ROOT / "bascule/record/history.py").read_text(encoding="utf-8")
    assert "def downtime_windows" not in history and "def served_by" not in history


def test_steps_only_call_the_library():
    """Steps import neither facts nor reporting, and define no dataclass: observations are built in
    the library, figures are computed by the checks, reports are the suite's."""
    wrong = []
    for path in _modules("steps"):
        text = path.read_text(encoding="utf-8")
        wrong += [f"{path.name} : {m}" for m in _imports(path) if m.startswith(("bascule.facts", "bascule.reporting"))]
        if "@dataclass" in text:
            wrong.append(f"{path.name} : dataclass")
    assert not wrong, wrong
