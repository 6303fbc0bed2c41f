"""Judging a row: the one way from an observation to a verdict, live and offline.

A row is judged by slicing the history (the events since the observation began, and those since the
row began), round-tripping the observation and the slice through their JSON form (so that the check
sees exactly what a saved run holds), calling its check, and writing the verdict event that lets
`bascule rejuger` do the same again. The pytest plugin, `rejuger`, the trend and bench/cross_check
read verdict events through this module and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Iterator

from bascule.facts.client_view import client_downtime, secs, window_figure, window_phases
from bascule.facts.windows import downtime_windows, write_refusals
from bascule.inventory import Inventory, from_public, public
from bascule.judging.checks import CHECKS
from bascule.judging.verdict import Result, guarded
from bascule.record.history import CLIENT, RUN, VERDICT, Event, History, roundtrip_events
from bascule.record.observations import from_json, roundtrip, to_json
from bascule.record.rows import Row


@dataclass(frozen=True)
class SavedVerdict:
    """A verdict event read back from a history: the row (as it was written when no check judged
    it), the check that judged it (None for such a row), and what the check read."""

    index: int
    t: float
    row: Row
    check: str | None
    observation: dict | None
    since: float | None
    row_since: float | None
    upto: int
    outcome: str

    def observed(self) -> Any:
        """The typed observation, as the check saw it."""
        return from_json(self.observation)

    def window(self, events: list[Event]) -> list[Event]:
        """The events the check read: those before the verdict, from `since` on."""
        return _slice(events, self.since, self.upto)

    def row_events(self, events: list[Event]) -> list[Event]:
        return _slice(events, self.row_since, self.upto)


def _slice(events: Iterable[Event], since: float | None, upto: int) -> list[Event]:
    return [e for e in events if e.index < upto and since is not None and e.t >= since]


# the rows that quote the client's downtime themselves
QUOTES_DOWNTIME = frozenset({"moved", "taken_over", "service_restarted", "cable_taken_over"})


def row_outages(row_events: Iterable[Event], earlier: Iterable[Event] = (), row_since: float | None = None) -> str:
    """What the FTP probe lived through while a row was being carried out, said when it lost the
    service or saw uploads refused (a split brain's recovery, a configuration being restored). An
    outage that began before the row (a failed move) is said whole, once, with its total since it
    began. The row's verdict stays that of its check: the lab expects no figure there."""
    evs = list(row_events)
    # first: an outage going on as the row began is said even when no operation of the client
    # started during the row (all of them hung on the outage)
    carried = _carried_outage(list(earlier), evs, row_since)
    if carried:
        return carried
    if not any(e.source == CLIENT for e in evs):
        return ""
    windows = downtime_windows(evs)
    if not windows and not write_refusals(evs):
        return ""
    return "pendant cette ligne, " + client_downtime(evs)[1]


def _carried_outage(earlier: list[Event], row: list[Event], row_since: float | None) -> str:
    """« FTP indisponible depuis la ligne précédente : 64,7 s au total » when the client was already
    without service as the row began."""
    if row_since is None or not earlier:
        return ""
    before = downtime_windows([e for e in earlier if e.source == CLIENT])
    if not before or before[-1].end is not None:
        return ""  # served when the row began: an outage of the row is the row's own
    client = [e for e in earlier + row if e.source == CLIENT]
    going_on = next(
        (w for w in downtime_windows(client) if w.start < row_since and (w.end is None or w.end > row_since)), None
    )
    if going_on is None:
        return ""
    if going_on.end is None:
        last = max(e.t for e in client + row)  # the row's last event: the client was still without service then
        return (
            f"FTP indisponible depuis la ligne précédente, toujours à la fin de cette ligne : "
            f"{secs(last - going_on.start)} au total jusqu'ici ({window_phases(going_on)})"
        )
    return (
        f"FTP indisponible depuis la ligne précédente : {window_figure(going_on)} au total ({window_phases(going_on)})"
    )


def earlier_client_events(
    events: Iterable[Event], row_since: float | None, upto: int, reach: float = 900.0
) -> list[Event]:
    """The client's events in the quarter of an hour before a row: where an outage going on began."""
    if row_since is None:
        return []
    return [e for e in events if e.index < upto and e.source == CLIENT and row_since - reach <= e.t < row_since]


def judge_row(
    check: Callable[..., Result],
    obs,
    events: list[Event],
    row_events: list[Event],
    inv: Inventory,
    earlier: list[Event] = (),
    row_since: float | None = None,
) -> Result:
    """A row's verdict (its check, guarded) with the outages seen while it was carried out. The one
    way a row is judged, live (judge_live) and offline (judge_again)."""
    result = guarded(check, obs, events, inv)
    note = "" if check.__name__ in QUOTES_DOWNTIME else row_outages(row_events, earlier, row_since)
    return replace(result, observed=f"{result.observed} ; {note}") if note else result


def judge_live(
    history: History,
    check: Callable[..., Result],
    observation,
    since: float | None,
    row_since: float | None,
    inventory: Inventory,
    row: Row,
) -> Result:
    """Judge one row of a run in progress and write its verdict event. The check sees the observation
    and the events as a saved run will hold them (their JSON form); what cannot be judged is inconnu."""
    events = list(history.events)
    upto = len(events)
    try:
        inv = from_public(public(inventory))
        result = judge_row(
            check,
            roundtrip(observation),
            roundtrip_events(_slice(events, since, upto)),
            roundtrip_events(_slice(events, row_since, upto)),
            inv,
            roundtrip_events(earlier_client_events(events, row_since, upto)),
            row_since,
        )
    except Exception as exc:  # noqa: BLE001 - an observation that cannot be judged is inconnu
        result = Result.unknown(f"impossible de conclure : {exc}")
    _record(
        history,
        row,
        result.verdict.value,
        {
            "check": check.__name__,
            "observation": to_json(observation),
            "since": since,
            "row_since": row_since,
            "upto": upto,
        },
    )
    return result


def judged(row: Row, result: Result) -> Row:
    """The row with what its check found: live (suite/rows.py) and re-judged (reporting/rejudge.py)."""
    return row.found(result.observed, result.verdict.value, result.details, result.cause, result.fix)


def record_row(history: History | None, row: Row) -> None:
    """A row whose verdict no check gave (an action that failed, a row not run: its status may be
    « non exécuté ») goes on the history as it is, so that a re-judged run has it too."""
    if history is not None:
        _record(
            history,
            row,
            row.status,
            {
                "check": None,
                "result": {
                    "verdict": row.status,
                    "observed": row.observed,
                    "details": list(row.details),
                    "cause": row.cause,
                    "fix": row.fix,
                },
            },
        )


def _record(history: History, row: Row, outcome: str, how: dict) -> None:
    """The one writer of a row's verdict event: where the row stands, and how it was judged."""
    history.append(
        VERDICT,
        how["check"] or "",
        "row",
        outcome,
        {"table": row.table, "scenario": row.scenario, "action": row.action, "expected": row.expected, **how},
    )


def saved_verdicts(events: Iterable[Event]) -> Iterator[SavedVerdict]:
    """Every verdict event of a history, in order."""
    for e in events:
        if e.source != VERDICT:
            continue
        v = e.value
        row = Row(v["table"], v["scenario"], v["action"], v["expected"])
        if v.get("check") is None:
            r = v.get("result") or {}
            row = row.found(
                r.get("observed", ""),
                r.get("verdict", e.outcome),
                tuple(r.get("details", ())),
                r.get("cause", ""),
                r.get("fix", ""),
            )
        yield SavedVerdict(
            e.index,
            e.t,
            row,
            v.get("check"),
            v.get("observation"),
            v.get("since"),
            v.get("row_since"),  # absent from histories older than the probe that never stops
            v.get("upto", e.index),
            e.outcome,
        )


def run_inventory(events: Iterable[Event]) -> Inventory | None:
    """The inventory a run was judged with, from its start event (None when it has none)."""
    start = next((e for e in events if e.source == RUN and e.op == "start"), None)
    return from_public(start.value["inventory"]) if start is not None else None


def judge_again(events: list[Event], saved: SavedVerdict, inv: Inventory | None) -> Result:
    """A saved row judged again by today's check, on the very observation and slice it was judged on (a row
    that no check judged keeps its saved row: see SavedVerdict.row)."""
    check = CHECKS.get(saved.check)
    if check is None:
        return Result.unknown(f"vérification {saved.check!r} inconnue de cette version de bascule")
    if inv is None:
        return Result.unknown("inventaire absent de l'historique (pas d'événement de début de série)")
    try:
        return judge_row(
            check,
            saved.observed(),
            saved.window(events),
            saved.row_events(events),
            inv,
            earlier_client_events(events, saved.row_since, saved.upto),
            saved.row_since,
        )
    except Exception as exc:  # noqa: BLE001 - an observation this version cannot read
        return Result.unknown(f"impossible de conclure : {exc}")
