"""`bascule classe`: a whole class in one run.

A teacher has twelve to twenty groups, each with its own two-node cluster. `bascule classe` runs the
acceptance suite against each group's cluster (an inventory per group), several at once with a
limit (this machine only drives SSH and FTP), each group's reports in its own directory, and writes
one summary page (md and html): one line per group, one column per row of the lab's tables, the
status in each cell linked to that group's table, the move times and the cause of each KO in a
word. An unreachable cluster or a bad inventory is a line of the summary, never the end of the run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bascule.errors import BasculeError
from bascule.record.history import History
from bascule.reporting.table import COLOURS, render
from bascule.reporting.trend import record_of, short_move
from bascule.waits import PROGRESS, heartbeat

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Group:
    name: str
    inventory: Path
    out: Path  # this group's reports


@dataclass
class GroupRun:
    group: Group
    exit_code: int
    seconds: float
    rows: list[dict] = field(default_factory=list)  # tableau-de-tests.json's rows
    stopped: str = ""  # why its run stopped early ("" when it ran to its end)
    error: str = ""  # why there is no table at all (bad inventory …): the run's own one line
    moves: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)  # label -> (took, downtime)
    allure: str = ""  # its Allure report, relative to the summary ("" when not rendered)


def groups_from(paths: list[str], out: Path) -> list[Group]:
    """Inventory files, or directories of them (*.toml); each group is named after its file."""
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(path.glob("*.toml"))
            if not found:
                raise BasculeError(
                    f"aucun inventaire (*.toml) dans le dossier {path}",
                    "donner des fichiers d'inventaire, ou un dossier qui en contient",
                )
            files.extend(found)
        else:
            files.append(path)  # a missing file is that group's line of the summary
    if not files:
        raise BasculeError("aucun inventaire donné", "bascule classe groupe1.toml groupe2.toml … (ou un dossier)")
    groups, seen = [], set()
    for f in files:
        name = f.stem
        while name in seen:
            name += "-bis"
        seen.add(name)
        groups.append(Group(name, f, out / name))
    return groups


def run_group(group: Group, pytest_args: list[str], trend: Path | None) -> GroupRun:
    """The suite against one group's cluster, its output in the group's directory."""
    group.out.mkdir(parents=True, exist_ok=True)
    results = group.out / "allure-results"
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(ROOT / "features"),
        "-p",
        "no:cacheprovider",
        "-q",
        f"--bascule-inventaire={group.inventory}",
        f"--bascule-rapports={group.out}",
        f"--alluredir={results}",
        "--clean-alluredir",
        f"--bascule-groupe={group.name}",
    ]
    if trend is not None:
        command.append(f"--bascule-tendance={trend}")
    start = time.monotonic()
    with (group.out / "pytest.log").open("w", encoding="utf-8") as log:
        rc = subprocess.call(command + pytest_args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    run = collect(group, rc, time.monotonic() - start)
    run.allure = render_allure(results, group)
    return run


def collect(group: Group, rc: int, seconds: float) -> GroupRun:
    """What a group's run left in its directory: its rows, why it stopped, its moves' figures."""
    run = GroupRun(group, rc, seconds)
    table = group.out / "tableau-de-tests.json"
    if table.is_file():
        data = json.loads(table.read_text(encoding="utf-8"))
        run.rows, run.stopped = data.get("rows", []), data.get("stopped", "")
    else:
        lines = [
            line.strip()
            for line in (group.out / "pytest.log").read_text(encoding="utf-8").splitlines()
            if "bascule:" in line or "error:" in line
        ]
        said = lines[-1] if lines else ""
        said = said.split("bascule:", 1)[1] if "bascule:" in said else said.split("error:", 1)[-1]
        run.error = said.strip() or f"pytest exit code {rc}, no table written"
    history = group.out / "historique.jsonl"
    if history.is_file():
        try:
            record = record_of(History.load_events(history), group.name)
            run.moves = {k: (v.took, v.downtime) for k, v in record.moves.items()}
        except (ValueError, KeyError, TypeError):
            pass  # the figures are a bonus: the rows are the verdict
    if (group.out / "allure-report" / "index.html").is_file():
        run.allure = f"{group.name}/allure-report/index.html"
    return run


def render_allure(results: Path, group: Group) -> str:
    """The group's Allure report (and its single file to hand in), named after the lab and the group."""
    npx = shutil.which("npx")
    if npx is None or not any(results.glob("*-result.json")):
        return ""
    name = f"Haute disponibilité d'un serveur FTP — {group.name}"
    for out, extra in (("allure-report", []), ("allure-rendu", ["--single-file"])):
        subprocess.run(
            [
                npx,
                "--no-install",
                "allure",
                "awesome",
                str(results),
                "-o",
                str(group.out / out),
                "--report-name",
                name,
                "--group-by",
                "feature",
                *extra,
            ],
            cwd=ROOT,
            capture_output=True,
            timeout=600,
        )
    index = group.out / "allure-report" / "index.html"
    return f"{group.name}/allure-report/index.html" if index.is_file() else ""


def run_class(
    groups: list[Group], parallel: int, pytest_args: list[str], trend: Path | None, say=PROGRESS.say
) -> list[GroupRun]:
    """Every group's run, `parallel` at a time; a line at least every 30 s says where the class is."""
    running: dict[str, float] = {}
    done: list[GroupRun] = []
    lock = threading.Lock()

    def one(group: Group) -> GroupRun:
        with lock:
            running[group.name] = time.monotonic()
        say(f"bascule classe: {group.name} commence ({group.inventory})")
        try:
            run = run_group(group, pytest_args, trend)
        except Exception as exc:  # noqa: BLE001 - one group's failure is its line, not the class's end
            run = GroupRun(group, -1, 0.0, error=f"{type(exc).__name__}: {exc}")
        with lock:
            running.pop(group.name, None)
            done.append(run)
        say(f"bascule classe: {group.name} terminé en {run.seconds:.0f} s — {verdict_of(run)}")
        return run

    def progress(_seconds: float) -> None:
        with lock:
            now = time.monotonic()
            busy = ", ".join(f"{g} ({now - t:.0f} s)" for g, t in running.items())
            say(f"bascule classe: {len(done)}/{len(groups)} groupes terminés ; en cours : {busy or 'aucun'}")

    with heartbeat(progress), ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(one, groups))


def verdict_of(run: GroupRun) -> str:
    if run.error:
        return f"pas de tableau : {run.error}"
    counts: dict[str, int] = {}
    for r in run.rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    text = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return text + (f" ; arrêté : {run.stopped}" if run.stopped else "")


def cause_in_a_word(row: dict) -> str:
    """A KO's cause, short: the check's cause when it gave one, else the start of what was seen."""
    text = row.get("cause") or row.get("observed", "")
    text = text.split(" ; ")[0].split(" — ")[0]
    return text if len(text) <= 70 else text[:67] + "…"


def columns(runs: list[GroupRun]) -> list[tuple[str, str, str]]:
    """Every row of the lab's tables met in the runs, in the order met: (table, scenario, action)."""
    seen: dict[tuple[str, str, str], None] = {}
    # the most complete run first: a run that stopped early must not set the columns' order
    for run in sorted(runs, key=lambda r: -len(r.rows)):
        for r in run.rows:
            seen.setdefault((r["table"], r["scenario"], r["action"]), None)
    return list(seen)


def short_ids(cols: list[tuple[str, str, str]]) -> list[str]:
    """« Q2-3 »: the table's first word and the row's rank in it, as a column header."""
    ids, rank = [], {}
    for table, _, _ in cols:
        head = (table.split(" ")[0] or "?")[:6]
        rank[table] = rank.get(table, 0) + 1
        ids.append(f"{head}-{rank[table]}")
    return ids


def write_summary(runs: list[GroupRun], out: Path, title: str = "bascule — classe") -> dict[str, Path]:
    """classe.md and classe.html (templates/classe.*.j2): a line per group, a column per row."""
    cols = columns(runs)
    ids = short_ids(cols)

    def line_of(run: GroupRun) -> dict:
        cells = [next((r for r in run.rows if (r["table"], r["scenario"], r["action"]) == col), None) for col in cols]
        return {
            "name": run.group.name,
            "linked": bool(run.rows),
            "allure": run.allure,
            "verdict": verdict_of(run),
            "cells": cells,  # the group's row for each column, None where its table has no such row
            "moves": [
                f"{short_move(label)} : {fmt(took)} (FTP {fmt(down)})" for label, (took, down) in run.moves.items()
            ],
            "kos": [
                f"{i} : {cause_in_a_word(row)}"
                for i, row in zip(ids, cells)
                if row is not None and row["status"] in ("KO", "inconnu")
            ],
        }

    context = {
        "title": title,
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "lines": [line_of(r) for r in runs],
        "ids": ids,
        "columns": list(zip(ids, cols)),
        "colours": COLOURS,
        "short": SHORT,
        "trends": [p.name for p in sorted(out.glob("tendance/*.png"))],
    }
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / "classe.md", "html": out / "classe.html"}
    paths["md"].write_text(render("classe.md.j2", **context), encoding="utf-8")
    paths["html"].write_text(render("classe.html.j2", **context), encoding="utf-8")
    return paths


SHORT = {"OK": "OK", "KO": "KO", "inconnu": "?", "non exécuté": "·"}  # the legend says what « ? » and « · » are


def fmt(x: float | None) -> str:
    return "?" if x is None else f"{x:.1f} s".replace(".", ",")
