"""Waiting for the cluster to act after a fault: a move of the resources, a restart in place, the
VIP served from the other side of a pulled cable, the cable's return.

Each wait reads the cluster with the same condition that the verdict uses (facts.placement) and
returns the typed observation that the row's check judges; what it saw on the way is on the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

from bascule.cluster.cluster import Cluster
from bascule.cluster.evidence import gather
from bascule.cluster.faults import BlockRestart, Fault, Faults, KillService, online_again
from bascule.cluster.kernel_log import logged_lines, new_lines
from bascule.cluster.nodes import Node
from bascule.cluster.settling import SettleWatch
from bascule.errors import NodeError
from bascule.facts.client_ops import served_by
from bascule.facts.placement import move_problems, node_named, placement
from bascule.record.observations import CableOutcome, CableTakeover, MoveSeen, RestartSeen
from bascule.waits import Settled, WaitTimeout, wait_until

FTP_BACK_DEADLINE = 120.0  # seconds for the client to be served once the resources are in place
# seconds of a settled cluster, every resource in place, before the client's missing service is final:
# a healthy proftpd answers as soon as its start is over, and a login costs at most 8 s under emulation
FTP_GRACE = 30.0
SILENT_READ = 15.0  # seconds between two crm_mon readings while the client sees the service down
SERVED_READ = 2.0  # seconds between two crm_mon readings while the client is served
# how often a move's wait asks: only the probe's view (the history, no command on a node) at this
# pace, so that the service's return is acted on within it, not at the next crm_mon reading
ASK_EVERY = 0.25


def reading_while_served(
    cluster: Cluster, probe, since: float, prefer: Node | None = None, hold_last: bool = True
) -> Callable:
    """A crm_mon reading for a wait on a move or a restart, which reads the cluster only every
    SILENT_READ s while the probe sees the service down since `since` (and returns None then).
    Each crm_mon costs the destination a third of its CPU during a move under emulation, and the
    service being down says the move is not over; a cluster that moved but serves no FTP is still
    seen. The move's end is the earlier of this reading and the cluster's journal (facts.moves.MoveFacts).
    hold_last: while the client is served, the last reading stands for SERVED_READ s (a wait whose
    condition reads more than crm_mon, a fail-count, passes False: it must not pair a fresh reading
    with a stale state)."""
    probing = probe is not None and probe.started
    last_read = float("-inf")
    last_state = None
    silent = False

    def reading():
        nonlocal last_read, last_state, silent
        now = cluster.history.now()
        was_silent, silent = silent, probing and probe.out_of_service(since)
        if silent and now - last_read < SILENT_READ:
            return None
        # the service just came back: read at once; else at most every SERVED_READ s, the last
        # reading standing for the cluster meanwhile
        if hold_last and not silent and not was_silent and now - last_read < SERVED_READ and last_state is not None:
            return last_state
        last_read = now
        # asked first: the destination (the node left behind may be shutting down and answer late, with
        # its own view; a clean reboot measured 345.8 s that way in a full run where FTP was back at 152.9 s)
        last_state = cluster.state(prefer=prefer)
        return last_state

    return reading


def describe_reading(state) -> str:
    """What a wait on reading_while_served says it last saw."""
    return "client FTP toujours sans service" if state is None else state.summary()


@dataclass(frozen=True)
class Movement:
    """A move of the resources that a scenario waits for: since when, towards which node."""

    since: float
    to: str
    cause: str
    # seconds after `since` during which an idle cluster proves nothing: a killed process is only
    # seen at its resource's next monitor (its interval)
    quiet_allowed: float = 0.0


def away_from(cluster: Cluster, fault: Fault, cause: str) -> Movement:
    """The move a fault on a node starts: its resources towards the peer, timed from the fault."""
    return Movement(fault.started_at, cluster.peer(fault.node).name, f"{cause} de {fault.node.name}")


def back_online(cluster: Cluster, faults: Faults, node: Node) -> Movement:
    """`crm node online NODE` and the move back it starts (the lab's auto-failback)."""
    fault = online_again(faults, cluster, node)
    return Movement(fault.heal_started_at, node.name, f"retour online de {node.name}")


def rejoined(cluster: Cluster, faults: Faults, kind: type[Fault], node: Node) -> Movement:
    """A node brought back (rebooted, or its power restored): the failback, timed from its return to
    the cluster as a student would time it. A node back from a reboot may still resync DRBD, whose
    promotion score only moves at its next monitor: until then an idle cluster proves nothing."""
    faults.find(kind, node).heal()
    return Movement(
        cluster.history.now(),
        node.name,
        f"retour de {node.name}",
        cluster.monitor_interval(cluster.inv.resources.drbd) or 0.0,
    )


def killed_and_blocked(cluster: Cluster, faults: Faults, node: Node) -> Movement:
    """proftpd killed on a node where it cannot start again (the remark after Q5): the service must
    move. Until the FTP resource's next monitor, nothing tells the cluster that proftpd died."""
    ftp = cluster.inv.resources.ftp
    block = faults.start(BlockRestart(cluster, node, ftp))
    # a binary made non-executable shows neither in crm_mon nor in DRBD: the reading before it stands
    kill = faults.start(KillService(cluster, node, count_failures=False), before=block.snapshot_before)
    return Movement(
        kill.started_at,
        cluster.peer(node).name,
        f"kill -9 proftpd sur {node.name}, redémarrage empêché",
        cluster.monitor_interval(ftp) or 0.0,
    )


def cause_removed(faults: Faults) -> Movement:
    """« la cause est supprimée et les erreurs effacées »: the binary executable again and
    `crm resource cleanup`; the service may come back to its node."""
    block = faults.find(BlockRestart)
    block.heal()
    return Movement(block.heal_started_at, block.node.name, f"cleanup de {block.resource}")


def await_move(cluster: Cluster, probe, movement: Movement, to: str, deadline: float) -> MoveSeen:
    """Wait until the cluster shows every resource on `to` (the very condition the verdict uses,
    facts.placement.move_problems on crm_mon's recorded placement) and the probe is served again (it
    goes on running: it runs for the whole scenario), or until the cluster has settled without it.
    Returns what the check judges: the rest is on the history."""
    error = unreachable = settled = ""
    destination = cluster.nodes.get(to)
    reading = reading_while_served(cluster, probe, movement.since, prefer=destination)
    try:
        wait_until(
            reading,
            lambda s: s is not None and not move_problems(placement(s, cluster.inv), cluster.inv, to),
            f"les ressources sur {to}",
            deadline,
            interval=ASK_EVERY,
            describe=describe_reading,
            settled=SettleWatch(
                cluster, movement.since, quiet_allowed=movement.quiet_allowed, probe=probe, prefer=destination
            ),
        )
    except Settled as exc:
        error, settled = exc.last_seen, exc.settled
    except WaitTimeout as exc:
        error = exc.last_seen
    except NodeError as exc:
        unreachable = str(exc)
    probe_name = probe.name if probe is not None and probe.started else None
    if probe_name and not error and not unreachable:
        settled = ftp_back(cluster, probe, movement.since, destination)
    # what the diagnosis of a move that did not happen is made from (read only)
    evidence = gather(cluster, prefer=destination) if (error or settled) and not unreachable else None
    gone: dict[str, str] = {}
    try:
        snap = cluster.capture(f"après {movement.cause}", prefer=destination)
        # a node that did not answer the snapshot (rebooting, powered off) is not asked for its journal:
        # asking would cost a connection timeout more before the row's verdict
        gone = {name: f"injoignable juste avant : {why}" for name, why in snap.unreachable.items()}
    except Exception:  # noqa: BLE001 - a snapshot is a bonus; the verdict does not depend on it
        pass
    # the cluster's own account of the move, for its anatomy (a node that does not answer says so)
    journals = cluster.journals(movement.since, unreachable=gone)
    return MoveSeen(movement.since, to, movement.cause, probe_name, error, unreachable, journals, settled, evidence)


def ftp_back(cluster: Cluster, probe, since: float, prefer: Node | None = None) -> str:
    """Once the cluster shows every resource in place: wait for the client to be served again, at
    most FTP_BACK_DEADLINE s, or until the cluster has stayed settled FTP_GRACE s without it. ""
    when it came back or the deadline passed (the verdict reads the client's events), else why the
    wait ended early."""
    try:
        probe.wait_back(
            since,
            deadline=FTP_BACK_DEADLINE,
            settled=SettleWatch(cluster, cluster.history.now(), grace=FTP_GRACE, prefer=prefer),
        )
    except Settled as exc:
        return f"le cluster est stable ({exc.settled}) et le client FTP n'a toujours pas de service"
    return ""


def await_restart(cluster: Cluster, probe, kill: KillService, node: str, deadline: float) -> RestartSeen:
    """proftpd killed, restart allowed: wait until Pacemaker shows the resource Started again on
    `node` (the kill's, where the row expects it) with a higher fail-count than before the kill,
    then for the client to be served again."""
    since, resource, fail_count_before = kill.started_at, kill.resource, kill.fail_count_before
    seen = partial(RestartSeen, since, resource, node, fail_count_before, probe.name)  # then: restarted or not, and why
    watch = SettleWatch(
        cluster,
        since,
        quiet_allowed=cluster.monitor_interval(resource) or 0.0,
        probe=probe,
        prefer=cluster.nodes.get(node),
    )
    try:
        state = wait_until(
            reading_while_served(cluster, probe, since, hold_last=False),
            lambda s: (
                s is not None
                and s.where(resource) == (node,)
                and s.started(resource)
                and cluster.fail_count(s, resource, node) > fail_count_before
            ),
            f"le redémarrage de {resource} sur {node}",
            deadline=deadline,
            interval=1,
            describe=describe_reading,
            settled=watch,
        ).value
        settled = ftp_back(cluster, probe, since, cluster.nodes.get(node))
        return seen(True, cluster.fail_count(state, resource, node), settled=settled)
    except WaitTimeout as exc:
        try:
            now = cluster.state()
            unseen = now.started(resource) and cluster.fail_count(now, resource, node) <= fail_count_before
        except NodeError:
            unseen = False
        return seen(
            False,
            None,
            exc.last_seen,
            exc.deadline,
            unseen,
            settled=getattr(exc, "settled", ""),
            evidence=gather(cluster, cluster.nodes.get(node)),
        )


def await_cable_takeover(cluster: Cluster, probe, since: float, node: Node, deadline: float) -> CableTakeover:
    """The master's cable pulled: wait until the client is served by `node`, then read how each node
    sees the cluster (each on its own side of the cut) and their journals."""
    try:
        wait_until(
            lambda: served_by(cluster.history.since(since), probe.name),
            lambda s: bool(s) and node_named(s[-1][1], cluster.inv) == node.name,
            f"le service FTP par {node.name}",
            deadline=deadline,
            interval=1,
            describe=lambda s: str(s[-1:]),
        )
    except WaitTimeout:
        pass  # the check says who served the client instead
    views = {}
    for n in cluster.nodes.values():
        try:
            views[n.name] = cluster.crm_mon(n)[0]
        except NodeError:
            views[n.name] = None
    return CableTakeover(since, node.name, probe.name, views, cluster.journals(since))


def await_cable_return(cluster: Cluster, lines_before: dict[str, tuple[str, ...]]) -> CableOutcome:
    """The cable back: wait for both nodes to see each other, then for DRBD to settle on Connected
    (resynchronised) or StandAlone (split brain), and say which split-brain lines are new."""
    try:
        cluster.wait_state(
            "la reconnexion des deux nœuds", lambda s: len(s.online_nodes) == 2, deadline=180, interval=2
        )
    except WaitTimeout:
        return CableOutcome(False)
    try:
        drbd = wait_until(
            lambda: cluster.drbd_everywhere(strict=True),
            lambda d: (
                all(s.connection in ("Connected", "StandAlone") for s in d.values())
                or any(s.connection == "StandAlone" for s in d.values())
            ),
            "la reconnexion de DRBD (ou son abandon)",
            deadline=120,
            interval=2,
            describe=lambda d: "; ".join(f"{k}: {v.summary()}" for k, v in d.items()),
        ).value
        return CableOutcome(True, drbd, new_lines(logged_lines(cluster), lines_before))
    except WaitTimeout as exc:
        return CableOutcome(True, wait_error=exc.last_seen)
    except NodeError as exc:
        return CableOutcome(True, unreachable=str(exc))
