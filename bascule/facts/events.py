"""Queries over a history that are not about a client: each fault's span, the first observation
that holds something."""

from __future__ import annotations

from typing import Callable, Iterable

from bascule.record.history import FAULT, OBSERVATION, Event


def fault_spans(events: Iterable[Event]) -> list[tuple[Event, Event | None]]:
    """Each fault's start event with its end (heal) event, or None when it never ended."""
    spans: list[tuple[Event, Event | None]] = []
    open_: dict[str, Event] = {}
    for e in events:
        if e.source != FAULT:
            continue
        if e.op == "start":
            open_[e.process] = e
        elif e.op == "end" and e.process in open_:
            spans.append((open_.pop(e.process), e))
    spans.extend((s, None) for s in open_.values())
    return sorted(spans, key=lambda p: p[0].t)


def first_observation(events: Iterable[Event], after: float, holds: Callable[[Event], bool]) -> Event | None:
    """The first observation at or after `after` for which holds(event) is true."""
    for e in events:
        if e.source == OBSERVATION and e.t >= after and holds(e):
            return e
    return None
