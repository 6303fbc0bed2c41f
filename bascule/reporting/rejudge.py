"""`bascule rejuger DIR`: judge a saved run again, offline, from its history alone.

The history (reports/historique.jsonl) holds, for every row of the table, the check that judged it,
the typed observation it judged and the slice of the history it read (Jepsen's checker: a pure
function of the history). Re-judging calls the same checks on the same values, so the tables it
writes (md, html, json) are those of the run, or show what a changed check now says of it.
"""

from __future__ import annotations

from pathlib import Path

from bascule.errors import BasculeError
from bascule.inventory import from_public
from bascule.judging.endurance import judge_endurance
from bascule.judging.judge import judge_again, judged, saved_verdicts
from bascule.record.endurance import ENDURANCE
from bascule.record.history import RUN, Event, History
from bascule.reporting.endurance import write_report
from bascule.reporting.table import CompletedTable


def rejudge_events(events: list[Event]) -> CompletedTable:
    report = CompletedTable()
    inv = None
    for e in events:
        if e.source != RUN:
            continue
        if e.op == "start":
            report.date, report.cluster = e.value.get("date", ""), e.value.get("cluster", "")
            inv = from_public(e.value["inventory"])
        elif e.op == "stopped":
            report.stopped = e.value
        elif e.op == "versions":
            report.versions = dict(e.value)
        elif e.op == "repaired":
            report.repaired = list(e.value)
        elif e.op == "timeline":
            report.timelines[e.value["scenario"]] = "../" + e.value["path"]  # rejuge/ sits beside timelines/
    for saved in saved_verdicts(events):
        if saved.check is None:
            report.add(saved.row)
            continue
        report.add(judged(saved.row, judge_again(events, saved, inv)))
    return report


def rejudge(directory: str | Path, out: str | Path | None = None) -> dict[str, Path]:
    """Re-judge the run saved in `directory` (its historique.jsonl); write the tables to `out`
    (default: DIRECTORY/rejuge/). Returns the paths written."""
    d = Path(directory)
    path = d / "historique.jsonl" if d.is_dir() else d
    if not path.is_file():
        raise BasculeError(
            f"aucune série enregistrée dans {directory} : {path} n'existe pas",
            "donner le dossier des rapports d'une série (il contient historique.jsonl)",
        )
    try:
        events = History.load_events(path)
    except (ValueError, TypeError, KeyError) as exc:
        raise BasculeError(
            f"{path} n'est pas un historique de bascule ({exc})", "donner le historique.jsonl qu'une série a écrit"
        ) from None
    target = Path(out) if out else path.parent / "rejuge"
    if any(e.source == "run" and e.process == ENDURANCE for e in events):  # an endurance run: its own checker
        target.mkdir(parents=True, exist_ok=True)
        return write_report(judge_endurance(events), events, target)
    report = rejudge_events(events)
    return report.write(target)


__all__ = ["rejudge", "rejudge_events"]
