"""`bascule classe`: a whole class in one run.

A teacher has twelve to twenty groups, each with its own two-node cluster. `bascule classe` runs the
acceptance suite against each group's cluster (an inventory per group), several at once with a
limit (this machine only drives SSH and FTP), each group's reports in its own directory, and writes
one summary page (md and html): one line per group, one column per row of the lab's tables, the
status in each cell linked to that group's table, the move times and the cause of each KO in a
word. An unreachable cluster or a bad inventory is a line of the summary, never the end of the run.
"""
from __future__ import annotations

import html
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
from bascule.reporting.trend import short_move
from bascule.waits import PROGRESS, heartbeat

ROOT = Path(__file__).resolve().parents[2]
COLOURS = {"OK": "#d4edda", "KO": "#f8d7da", "inconnu": "#fff3cd", "non exécuté": "#e2e3e5"}


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
                raise BasculeError(f"no inventory (*.toml) in the directory {path}", "give inventory files or a directory of them")
            files.extend(found)
        else:
            files.append(path)  # a missing file is that group's line of the summary
    if not files:
        raise BasculeError("no inventory given", "bascule classe groupe1.toml groupe2.toml … (or a directory)")
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
    command = [sys.executable, "-m", "pytest", str(ROOT / "features"), "-p", "no:cacheprovider", "-q",
               f"--inventory={group.inventory}", f"--bascule-reports={group.out}", f"--alluredir={results}",
               "--clean-alluredir", f"--bascule-groupe={group.name}"]
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
        lines = [line.strip() for line in (group.out / "pytest.log").read_text(encoding="utf-8").splitlines()
                 if "bascule:" in line or "error:" in line]
        said = lines[-1] if lines else ""
        said = said.split("bascule:", 1)[1] if "bascule:" in said else said.split("error:", 1)[-1]
        run.error = said.strip() or f"pytest exit code {rc}, no table written"
    history = group.out / "historique.jsonl"
    if history.is_file():
        from bascule.record.history import History
        from bascule.reporting.trend import record_of
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
        subprocess.run([npx, "--no-install", "allure", "awesome", str(results), "-o", str(group.out / out),
                        "--report-name", name, "--group-by", "feature", *extra],
                       cwd=ROOT, capture_output=True, timeout=600)
    index = group.out / "allure-report" / "index.html"
    return f"{group.name}/allure-report/index.html" if index.is_file() else ""


def run_class(groups: list[Group], parallel: int, pytest_args: list[str], trend: Path | None,
              say=PROGRESS.say) -> list[GroupRun]:
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
    cols = columns(runs)
    ids = short_ids(cols)
    date = datetime.now().strftime("%Y-%m-%d %H:%M")

    def cell_of(run: GroupRun, col) -> dict | None:
        return next((r for r in run.rows if (r["table"], r["scenario"], r["action"]) == col), None)

    def moves_text(run: GroupRun) -> list[str]:
        return [f"{short_move(label)} : {fmt(took)} (FTP {fmt(down)})" for label, (took, down) in run.moves.items()]

    # -- markdown
    md = [f"# {title}", "", f"Date : {date} — {len(runs)} groupes", "",
          "| groupe | bilan | " + " | ".join(ids) + " | bascules (durée, FTP indisponible) | causes des KO |",
          "|---|---|" + "---|" * len(ids) + "---|---|"]
    for run in runs:
        cells = []
        for col in cols:
            row = cell_of(run, col)
            cells.append("—" if row is None else row["status"])
        kos = [f"{i} : {cause_in_a_word(cell_of(run, c))}" for i, c in zip(ids, cols)
               if cell_of(run, c) is not None and cell_of(run, c)["status"] in ("KO", "inconnu")]
        md.append(f"| [{run.group.name}]({run.group.name}/tableau-de-tests.md) | {verdict_of(run).replace('|', '/')} | "
                  + " | ".join(cells) + f" | {'<br>'.join(moves_text(run))} | {'<br>'.join(kos).replace('|', '/')} |")
    md += ["", "## Colonnes", ""] + [f"- **{i}** : {t} — {s} — {a}" for i, (t, s, a) in zip(ids, cols)] + [""]

    # -- html
    e = html.escape
    parts = ["<!doctype html><html lang='fr'><head><meta charset='utf-8'>", f"<title>{e(title)}</title>",
             "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
             "th,td{border:1px solid #999;padding:.25em .4em;font-size:.85em;vertical-align:top}"
             "th{background:#eee}td.c{text-align:center;white-space:nowrap}td.c a{color:#000;text-decoration:none}"
             "small{color:#555}td.b{max-width:22em}td.m{white-space:nowrap;font-size:.8em}</style></head><body>",
             f"<h1>{e(title)}</h1><p>Date : {e(date)} — {len(runs)} groupes</p><table><tr><th>groupe</th><th>bilan</th>"
             "<th>bascules : durée (FTP indisponible)</th><th>causes des KO</th>"]
    parts += [f"<th title='{e(t)} — {e(a)}'>{e(i)}</th>" for i, (t, _, a) in zip(ids, cols)]
    parts.append("</tr>")
    for run in runs:
        name = e(run.group.name)
        link = f"<a href='{name}/tableau-de-tests.html'>{name}</a>" if run.rows else name
        if run.allure:
            link += f"<br><small><a href='{e(run.allure)}'>Allure</a></small>"
        kos, cells = [], []
        for i, col in zip(ids, cols):
            row = cell_of(run, col)
            if row is None:
                cells.append("<td class='c'></td>")
                continue
            status = row["status"]
            if status in ("KO", "inconnu"):
                kos.append(f"{i} : {cause_in_a_word(row)}")
            cells.append(f"<td class='c' style='background:{COLOURS.get(status, '#fff')}' title='{e(status)} : "
                         f"{e(row.get('observed', ''))}'><a href='{name}/tableau-de-tests.html'>{e(SHORT.get(status, status))}</a></td>")
        parts.append(f"<tr><td>{link}</td><td class='b'>{e(verdict_of(run))}</td>"
                     f"<td class='m'>{'<br>'.join(e(m) for m in moves_text(run))}</td>"
                     f"<td class='b'>{'<br>'.join(e(k) for k in kos)}</td>{''.join(cells)}</tr>")
    parts.append("</table><p><small>OK, KO ; « ? » inconnu ; « · » non exécuté ; case vide : ligne absente de ce "
                 "tableau. Survoler une case montre ce qui a été vu ; la case mène au tableau du groupe.</small></p>"
                 "<h2>Colonnes</h2><ul>")
    parts += [f"<li><b>{e(i)}</b> : {e(t)} — {e(s)} — {e(a)}</li>" for i, (t, s, a) in zip(ids, cols)]
    parts.append("</ul>")
    trends = sorted(out.glob("tendance/*.png"))
    if trends:
        parts.append("<h2>Tendance (dernières exécutions, par bascule)</h2><div>"
                     + "".join(f"<img src='tendance/{e(p.name)}' style='margin:.3em'>" for p in trends) + "</div>")
    parts.append("</body></html>")
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / "classe.md", "html": out / "classe.html"}
    paths["md"].write_text("\n".join(md), encoding="utf-8")
    paths["html"].write_text("\n".join(parts), encoding="utf-8")
    return paths


SHORT = {"OK": "OK", "KO": "KO", "inconnu": "?", "non exécuté": "·"}  # the legend says what « ? » and « · » are


def fmt(x: float | None) -> str:
    return "?" if x is None else f"{x:.1f} s".replace(".", ",")
