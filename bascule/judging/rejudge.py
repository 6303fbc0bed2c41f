"""`bascule rejuger DIR`: judge a saved run again, offline, from its history alone.

The history (reports/historique.jsonl) holds, for every row of the table, the check that judged it,
the typed observation it judged and the slice of the history it read (Jepsen's checker: a pure
function of the history). Re-judging calls the same checks on the same values, so the tables it
writes (md, html, json) are those of the run, or show what a changed check now says of it.
"""
from __future__ import annotations

from pathlib import Path

from bascule.judging.checks import CHECKS, Result, Verdict, judge_row
from bascule.errors import BasculeError
from bascule.judging.history import RUN, VERDICT, Event, History
from bascule.inventory import from_public
from bascule.judging.observations import from_json
from bascule.reporting.report import Report, Row


def rejudge_events(events: list[Event]) -> Report:
    report = Report()
    inv = None
    for e in events:
        if e.source == RUN:
            if e.op == "start":
                report.date, report.cluster = e.value.get("date", ""), e.value.get("cluster", "")
                inv = from_public(e.value["inventory"])
            elif e.op == "stopped":
                report.stopped = e.value
            elif e.op == "repaired":
                report.repaired = list(e.value)
            elif e.op == "timeline":
                report.timelines[e.value["scenario"]] = "../" + e.value["path"]  # rejuge/ sits beside timelines/
            continue
        if e.source != VERDICT:
            continue
        v = e.value
        if v.get("check") is None:
            r = v["result"]
            report.add(Row(v["table"], v["scenario"], v["action"], v["expected"], r["observed"], r["verdict"],
                           tuple(r.get("details", ())), r.get("cause", ""), r.get("fix", "")))
            continue
        check = CHECKS.get(v["check"])
        if check is None:
            result = Result.unknown(f"vérification {v['check']!r} inconnue de cette version de bascule")
        elif inv is None:
            result = Result.unknown("inventaire absent de l'historique (pas d'événement de début de série)")
        else:
            since = v.get("since")
            row_since = v.get("row_since")  # absent from histories older than the probe that never stops
            window = [x for x in events if x.index < v["upto"] and since is not None and x.t >= since]
            row = [x for x in events if x.index < v["upto"] and row_since is not None and x.t >= row_since]
            try:
                result = judge_row(check, from_json(v["observation"]), window, row, inv)
            except Exception as exc:  # noqa: BLE001 - an observation this version cannot read
                result = Result.unknown(f"impossible de conclure : {exc}")
        report.add(Row(v["table"], v["scenario"], v["action"], v["expected"], result.observed, result.verdict.value,
                       result.details, result.cause, result.fix))
    return report


def rejudge(directory: str | Path, out: str | Path | None = None) -> dict[str, Path]:
    """Re-judge the run saved in `directory` (its historique.jsonl); write the tables to `out`
    (default: DIRECTORY/rejuge/). Returns the paths written."""
    d = Path(directory)
    path = d / "historique.jsonl" if d.is_dir() else d
    if not path.is_file():
        raise BasculeError(f"no saved run in {directory}: {path} does not exist",
                           "give the reports directory of a run (it holds historique.jsonl)")
    try:
        events = History.load_events(path)
    except (ValueError, TypeError, KeyError) as exc:
        raise BasculeError(f"{path} is not a bascule history ({exc})", "give the historique.jsonl that a run wrote") from None
    report = rejudge_events(events)
    return report.write(Path(out) if out else path.parent / "rejuge")


__all__ = ["rejudge", "rejudge_events", "Verdict"]
