"""Facts about a move of the resources: when it ended, by which source, and where its seconds went.

Read off the history (crm_mon readings) and each node's Pacemaker controller journal. The move's
figures are computed here once, for the row, the Allure parameters and the nights' trend.
"""

from __future__ import annotations

from dataclasses import dataclass

from bascule.facts.client_ops import served_by, until_served
from bascule.facts.client_view import client_downtime, secs
from bascule.facts.events import first_observation
from bascule.facts.placement import move_problems
from bascule.facts.windows import Window, downtime_windows
from bascule.inventory import Inventory
from bascule.record.cluster_state import ClusterOperation, parse_controld_journal
from bascule.record.history import OK, Event
from bascule.record.observations import CableTakeover, MoveSeen


@dataclass(frozen=True)
class MoveClientView:
    """The client's events that a move's figures are read from, and what was left out of them: an
    outage after the move that the cluster's journal shows to be its next act (`after`, with the
    operation that began it), never one it cannot explain."""

    events: tuple[Event, ...]
    after: Window | None = None
    leaving: ClusterOperation | None = None
    leaving_at: float | None = None  # that operation's start, in seconds from the move's start


def move_client_view(obs: MoveSeen, events: list[Event], took: float | None) -> MoveClientView:
    """From the move's start to the client's first read served after the move was over (the earlier
    of crm_mon and the journal), when an outage that followed began with the cluster stopping or
    demoting resources on the destination: a master back from its reboot takes its resources back,
    and a move's wait that saw the move late (a crm_mon that ran long on a loaded host: CI, 104.1 s
    for a move the journal ended at 56.9 s) must not count that failback's outage as the move's.
    Otherwise the whole slice: a service back once then lost again, with no such operation, is the
    move's failure. `took`: the move's end, in seconds from its start (move_end), None if never seen."""
    evs = [e for e in events if e.t >= obs.since]
    if took is None or not obs.probe:
        return MoveClientView(tuple(evs))
    cut, served_again = until_served(evs, obs.probe, obs.since + took)
    later = [w for w in downtime_windows(evs, obs.probe) if served_again is not None and w.start >= served_again]
    if not later:
        return MoveClientView(tuple(evs))
    leaving = next(
        (
            o
            for o in journal_operations(obs)
            if o[2].node == obs.to and o[2].task in ("stop", "demote") and o[0] >= served_again - obs.since
        ),
        None,
    )
    if leaving is None:
        return MoveClientView(tuple(evs))
    return MoveClientView(tuple(cut), later[0], leaving[2], leaving[0])


@dataclass(frozen=True)
class MoveFacts:
    """A move's figures, computed once from the row's slice of the history: the table's cell, the
    Allure parameters, the nights' trend and `bascule rejuger` all read these. Seconds are from the
    move's start. Two sources say when the move was over, each no earlier than it was: the end of
    the first crm_mon reading that showed it done (`crm_mon_saw`), and the destination's journal line
    for its last start on the critical path (`journal_end`; Pacemaker writes it just after sending
    the result to the CIB). The end (`took`) is the earlier of the two: crm_mon alone would be late
    by design, as it is read every 15 s at most while the client sees the service down (each reading
    cost the destination a third of its CPU during a move under emulation). Without a journal
    (Pacemaker 1.1, a node not read), crm_mon's reading is the end."""

    to: str
    cause: str
    crm_mon_saw: float | None
    journal_end: float | None
    took: float | None
    view: MoveClientView  # the client's events the figures below are read from
    downtime: float | None  # the client's seconds without service; None: unknown, or the service never came back
    downtime_text: str  # « FTP indisponible 12,3 s : … » ("" with no client)
    served: tuple[tuple[float, str], ...]  # when each node began answering the client, on the history's clock
    anatomy: tuple[str, ...]  # where the seconds went, from each node's controller journal


def move_facts(obs: MoveSeen, events: list[Event], inv: Inventory) -> MoveFacts:
    """The figures of one move, from the events the row read (its slice of the history)."""
    seen, end = move_end_sources(obs, events, inv)
    took = move_end(seen, end)
    view = move_client_view(obs, events, took)
    downtime, text = client_downtime(view.events, obs.probe) if obs.probe else (None, "")
    served = tuple(served_by(view.events, obs.probe)) if obs.probe else ()
    return MoveFacts(
        obs.to,
        obs.cause,
        seen,
        end,
        took,
        view,
        downtime,
        text,
        served,
        _anatomy(obs, ops=journal_operations(obs) if obs.journals else [], view=view, inv=inv),
    )


def move_end_sources(obs: MoveSeen, events: list[Event], inv: Inventory) -> tuple[float | None, float | None]:
    """(crm_mon's reading, the journal's last start) for a move, each None when it did not say."""
    seen = crm_mon_saw_move(obs, events, inv)
    return seen, (None if seen is None else journal_move_end(obs, inv))


def move_end(seen: float | None, end: float | None) -> float | None:
    """The move's end: crm_mon had to show it done; then the earlier of the two sources."""
    return None if seen is None else (seen if end is None else min(seen, end))


def crm_mon_saw_move(obs: MoveSeen, events: list[Event], inv: Inventory) -> float | None:
    """Seconds from the move's start to the end of the first crm_mon reading that shows it done."""
    evs = [e for e in events if e.t >= obs.since]
    first = first_observation(
        evs, obs.since, lambda e: e.op == "crm_mon" and e.outcome == OK and not move_problems(e.value, inv, obs.to)
    )
    return None if first is None else first.end - obs.since


def journal_operations(obs: MoveSeen) -> list[tuple[float, float | None, ClusterOperation]]:
    """Every node's journalled operations as (start, end, operation), in seconds from the move's
    start on the history's clock (each node's offset removed), from 2 s before the move on."""
    ops = []
    for j in obs.journals:
        if j.error:
            continue
        for op in parse_controld_journal(j.text):
            start = op.start - j.offset - j.t0 - obs.since
            end = None if op.end is None else op.end - j.offset - j.t0 - obs.since
            ops.append((start, end, op))
    return sorted((o for o in ops if o[0] >= -2.0), key=lambda o: o[0])


def critical_path_keys(obs: MoveSeen, inv: Inventory) -> tuple[set, set]:
    """The (node, task, resource) of a move's critical path: what stops on the node left, what
    starts on the destination."""
    src = next((n.name for n in inv.nodes if n.name != obs.to), None)
    r = inv.resources
    leaving = {
        (src, "stop", r.ftp),
        (src, "stop", r.web),
        (src, "stop", r.ip),
        (src, "stop", r.fs),
        (src, "demote", r.drbd),
    }
    arriving = {
        (obs.to, "promote", r.drbd),
        (obs.to, "start", r.fs),
        (obs.to, "start", r.ip),
        (obs.to, "start", r.web),
        (obs.to, "start", r.ftp),
    }
    return leaving, arriving


def journal_move_end(obs: MoveSeen, inv: Inventory) -> float | None:
    """When the destination finished the last operation of the critical path, from its journal;
    None unless every one of them is journalled with a successful end."""
    _, arriving = critical_path_keys(obs, inv)
    ends = {}
    for start, end, op in journal_operations(obs):
        key = (op.node, op.task, op.resource)
        if key in arriving and end is not None and start >= 0:
            ends[key] = (end, op.ok)
    if set(ends) != arriving or not all(ok for _, ok in ends.values()):
        return None
    return max(end for end, _ in ends.values())


def move_anatomy(obs: MoveSeen | CableTakeover, events: list[Event], inv: Inventory) -> tuple[str, ...]:
    """Where a move's seconds went (MoveFacts.anatomy); for the cable, the same account towards the
    node that must serve the VIP."""
    if isinstance(obs, CableTakeover):
        obs = MoveSeen(obs.since, obs.node, "câble débranché", obs.probe, journals=obs.journals)
    return move_facts(obs, events, inv).anatomy


def _anatomy(obs: MoveSeen, ops: list, view: MoveClientView, inv: Inventory) -> tuple[str, ...]:
    """Where a move's seconds went, from each node's controller journal: its critical path (stop
    proftpd … umount, demote, promote, mount … start proftpd), the waits between those operations,
    the operations off the path, set beside the client's outage. Times are from the move's start."""
    if not obs.journals:
        return ()
    unread = [f"{j.node} ({j.error})" for j in obs.journals if j.error]
    uncertainty = max((j.uncertainty for j in obs.journals if not j.error), default=0.0)
    evs = list(view.events)
    outage = ""
    windows = downtime_windows(evs, obs.probe) if obs.probe else []
    if windows:
        first, last = windows[0], windows[-1]
        outage = (
            f" ; client FTP privé de service de {rel(first.start - obs.since)} à "
            f"{rel(last.end - obs.since) if last.end is not None else 'la fin de la mesure'}"
            + (f" ({len(windows)} interruptions)" if len(windows) > 1 else "")
        )
    head = f"Anatomie de la bascule (journal de Pacemaker de chaque nœud, horloges recalées à ±{secs(uncertainty)})"
    if unread:
        head += " ; journal illisible sur " + ", ".join(unread)
    if not ops:
        return (f"{head} : aucune opération journalisée (Pacemaker antérieur à 2.0, ou journal absent){outage}",)
    leaving, arriving = critical_path_keys(obs, inv)
    on_path = leaving | arriving
    path = [o for o in ops if (o[2].node, o[2].task, o[2].resource) in on_path]
    if not path:
        return (f"{head} : aucune opération du chemin critique journalisée{outage}",)
    begin = min(o[0] for o in path)
    finish = max((o[1] for o in path if o[1] is not None), default=begin)
    busy = covered_seconds([(o[0], o[1]) for o in path if o[1] is not None])  # the group may start its VIP meanwhile
    off = [o for o in ops if o not in path and o[0] <= finish and (o[1] is None or o[1] >= begin)]
    kinds: dict[str, list[float]] = {}
    for o in off:
        kinds.setdefault(f"{o[2].task} {o[2].resource}", []).append(0.0 if o[1] is None else o[1] - o[0])
    off_text = ", ".join(
        f"{k}{' ×' + str(len(v)) if len(v) > 1 else ''} {secs(sum(v))}"
        for k, v in sorted(kinds.items(), key=lambda kv: -sum(kv[1]))
    )
    chain = " → ".join(
        f"{o[2].task} {o[2].resource} sur {o[2].node} {secs(o[1] - o[0]) if o[1] is not None else '(sans fin)'}"
        f" ({rel(o[0])})"
        for o in path
    )
    missing = [
        f"{t} {res} sur {n}"
        for n, t, res in sorted(on_path, key=str)
        if n and not any((o[2].node, o[2].task, o[2].resource) == (n, t, res) for o in path)
    ]
    lines = [
        f"{head} : chemin critique de {rel(begin)} à {rel(finish)} ({secs(finish - begin)}) : "
        f"{secs(busy)} occupées par ses {len(path)} opérations, {secs(max(0.0, finish - begin - busy))} d'attente "
        "entre elles"
        f"{outage}",
        f"Chemin critique : {chain}" + (f" ; non journalisées : {', '.join(missing)}" if missing else ""),
        f"Hors chemin pendant ce temps : {len(off)} opération(s), {secs(sum(sum(v) for v in kinds.values()))}"
        + (f" ({off_text})" if off_text else ""),
    ]
    return tuple(lines)


def covered_seconds(spans: list[tuple[float, float]]) -> float:
    """Seconds covered by at least one of the spans (overlapping operations count once)."""
    total, reach = 0.0, None
    for a, b in sorted(spans):
        if reach is None or a > reach:
            total += b - a
            reach = b
        elif b > reach:
            total += b - reach
            reach = b
    return total


def rel(t: float) -> str:
    """A time from the move's start: « +12,3 s »."""
    return ("+" if t >= 0 else "−") + secs(abs(t))
