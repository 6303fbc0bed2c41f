"""The nights' trend: each run's figures appended to a file that the user names, and plotted.

A record is one run of one cluster: when, which cluster (and group, in a class run), the verdicts
counted, and for each move row the figures its check quoted, recomputed from the saved history
(facts.moves.MoveFacts, carried on the row's result): how long the move took, and how long the FTP client was without
service.
The file is JSON lines, one record per run: an admin's nightly job appends to it, and the HTML
table shows the last nights per move, so that a regression is seen.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from bascule.judging.judge import judge_again, run_inventory, saved_verdicts
from bascule.record.history import RUN, Event
from bascule.reporting.table import slug

MOVE_CHECKS = ("moved", "taken_over")


@dataclass(frozen=True)
class MoveFigures:
    took: float | None  # seconds until crm_mon showed every resource on the destination
    downtime: float | None  # seconds the FTP client was without service (None: unknown)


@dataclass
class RunRecord:
    date: str
    cluster: str
    group: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    moves: dict[str, MoveFigures] = field(default_factory=dict)  # « scenario — cause » -> figures

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @staticmethod
    def from_json(line: str) -> "RunRecord":
        d = json.loads(line)
        return RunRecord(
            d["date"],
            d["cluster"],
            d.get("group", ""),
            d.get("counts", {}),
            {k: MoveFigures(**v) for k, v in d.get("moves", {}).items()},
        )


def record_of(events: list[Event], group: str = "") -> RunRecord:
    """A run's record, from its history alone (as `bascule rejuger` reads it)."""
    start = next((e for e in events if e.source == RUN and e.op == "start"), None)
    date, cluster = (start.value.get("date", ""), start.value.get("cluster", "")) if start else ("", "")
    inv = run_inventory(events)
    counts: dict[str, int] = {}
    moves: dict[str, MoveFigures] = {}
    for saved in saved_verdicts(events):
        counts[saved.outcome] = counts.get(saved.outcome, 0) + 1
        if saved.check not in MOVE_CHECKS or inv is None:
            continue
        move = judge_again(events, saved, inv).move  # the figures of the row's cell
        if move is not None:
            moves[f"{saved.row.scenario} — {move.cause}"] = MoveFigures(move.took, move.downtime)
    return RunRecord(date, cluster, group, counts, moves)


def short_move(label: str) -> str:
    """« Tableau Q2 — … — standby de intralab01 » → « Q2 standby de intralab01 »."""
    scenario, _, cause = label.rpartition(" — ")
    m = re.search(r"\bQ\d\b", scenario)
    return f"{m.group(0) if m else scenario.split(' ')[0]} {cause}".strip()


def append(path: str | Path, record: RunRecord) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(record.to_json() + "\n")


def load(path: str | Path) -> list[RunRecord]:
    path = Path(path)
    if not path.is_file():
        return []
    return [RunRecord.from_json(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plot(records: Iterable[RunRecord], directory: str | Path, nights: int = 10) -> dict[str, Path]:
    """One small PNG per move: its last `nights` runs, one line per cluster (group), the move's time
    and the client's downtime. Returns move label -> PNG."""
    import matplotlib  # noqa: PLC0415 - matplotlib costs half a second and the plugin loads on every pytest run: imported to draw, after Agg is chosen

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after matplotlib.use

    records = list(records)
    labels = list(dict.fromkeys(label for r in records for label in r.moves))
    out: dict[str, Path] = {}
    for label in labels:
        series: dict[str, list[tuple[str, MoveFigures]]] = {}
        for r in records:
            if label in r.moves:
                series.setdefault(r.group or r.cluster, []).append((r.date, r.moves[label]))
        fig, ax = plt.subplots(figsize=(4.2, 1.8), dpi=100)
        dates: list[str] = []
        for who, points in series.items():
            points = points[-nights:]
            xs = range(len(points))
            ax.plot(xs, [p.took for _, p in points], marker="o", ms=3, label=f"{who} : bascule")
            ax.plot(xs, [p.downtime for _, p in points], marker="x", ms=3, ls="--", label=f"{who} : FTP indisponible")
            if len(points) > len(dates):
                dates = [d[5:16] for d, _ in points]  # « 11-27 16:48 »
        ax.set_xticks(range(len(dates)), dates, rotation=30, ha="right")
        ax.set_title(short_move(label), fontsize=7)
        ax.set_ylabel("s", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.set_xlabel(f"dernières exécutions (≤ {nights})", fontsize=6)
        ax.legend(fontsize=5, loc="upper left")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = Path(directory) / f"{slug(label, 80) or 'mouvement'}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        plt.close(fig)
        out[label] = path
    return out
