"""What each operation of a client tells: whether it failed and at which stage, whether the service
was usable, when it tells it, and which node served it. Computed from the record
(bascule.record.history), never written into it."""

from __future__ import annotations

from typing import Callable, Iterable

from bascule.record.history import CLIENT, INFO, OK, UNKNOWN_STAGE, WRITE, Event


def client_ops(events: Iterable[Event], process: str | None = None) -> list[Event]:
    ops = [e for e in events if e.source == CLIENT and (process is None or e.process == process)]
    return sorted(ops, key=lambda e: (e.t, e.index))


def failed_at(op: Event) -> str | None:
    """The stage at which a client operation failed (None: it succeeded)."""
    if op.outcome == OK:
        return None
    stage = op.value.get("failed_at") if isinstance(op.value, dict) else None
    return stage or UNKNOWN_STAGE


def usable(op: Event) -> bool:
    """Whether the client could use the service: it connected, logged in and read. An upload
    refused by a server that answers does not make the service unusable (it is reported apart)."""
    return failed_at(op) in (None, WRITE)


def moment(op: Event, good: Callable[[Event], bool]) -> float:
    """When an operation tells something about the service: a success or a timeout when it was sent
    (the service took, or never answered, the request); a failure when it came (a refusal, or a
    connection dropped after a login had waited 7 s, belongs to the moment the server dropped it)."""
    return op.t if good(op) or op.outcome == INFO else op.end


def tells_server(op: Event) -> bool:
    """Whether a client operation read which node served it: a read that succeeded does; an upload
    does not, refused or not (a history from an older bascule has one kind of operation, which did)."""
    return op.outcome == OK and op.op != WRITE and not (isinstance(op.value, dict) and op.value.get("op") == WRITE)


def until_served(events: Iterable[Event], process: str | None, after: float) -> tuple[list[Event], float | None]:
    """The events up to the client's first read served at or after `after`, and that read's time
    (every event and None when there is none)."""
    evs = list(events)
    first = next((op for op in client_ops(evs, process) if op.t >= after and tells_server(op)), None)
    if first is None:
        return evs, None
    kept = [
        e
        for e in evs
        if e.source != CLIENT or (process is not None and e.process != process) or moment(e, usable) <= first.t
    ]
    return kept, first.t


def served_by(events: Iterable[Event], process: str | None = None) -> list[tuple[float, str]]:
    """When each node began answering the client: [(t, node), ...], from ok client operations that
    could tell which node served them."""
    changes: list[tuple[float, str]] = []
    for op in client_ops(events, process):
        node = op.value.get("served_by") if usable(op) and isinstance(op.value, dict) else None
        if node and (not changes or changes[-1][1] != node):
            changes.append((op.t, node))
    return changes
