"""Facts about whether the cluster has settled: how long its controller has shown no transition in
flight, with nothing written to the CIB meanwhile.

Read off the controller readings on the history (op "controller": the DC, its state, the CIB's
version). A wait that sees the cluster settled without its outcome ends there: nothing in flight
can bring it any more, and the deadline only bounds a cluster that keeps changing.
"""

from __future__ import annotations

from typing import Iterable

from bascule.facts.client_view import secs
from bascule.record.history import OBSERVATION, OK, Event

CONTROLLER = "controller"  # the op of a controller reading on the history


def quiet_for(events: Iterable[Event]) -> float | None:
    """Seconds over which the last controller readings all showed the DC idle (S_IDLE) with one and
    the same CIB version, from the first of them to the last; None when the last reading is not
    idle, could not be read, or is the only one of its run. Only what was read counts: between
    two readings with one CIB version, nothing was written to the CIB."""
    run_start = last = None
    version = None
    count = 0
    for e in events:
        if e.source != OBSERVATION or e.op != CONTROLLER:
            continue
        v = e.value if e.outcome == OK and isinstance(e.value, dict) else {}
        idle = v.get("state") == "S_IDLE" and bool(v.get("cib"))
        if not idle:
            run_start = version = None
            count = 0
            continue
        if run_start is None or v["cib"] != version:
            run_start, version, count = e.t, v["cib"], 0
        last, count = e.t, count + 1
    if run_start is None or count < 2:
        return None
    return last - run_start


def settled_sentence(quiet: float) -> str:
    """« aucune transition depuis 24,0 s »: how a row says why its wait ended early."""
    return f"aucune transition depuis {secs(quiet)}"
