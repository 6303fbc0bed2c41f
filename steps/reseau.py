"""Steps of the replication's faults: a network cable pulled (the remark after Q5) and a split brain
provoked, detected and resolved as document 3 says."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

from pytest_bdd import parsers, then, when

from bascule.judging import checks
from bascule.cluster.cluster import read_on, write_as_user
from bascule.errors import NodeError
from bascule.cluster.faults import CablePull, Movement, ReplicationCut
from bascule.judging.facts.placement import node_named, split_brain_seen
from bascule.judging.history import served_by
from bascule.cluster.nodes import quote
from bascule.judging.observations import CableOutcome, CableTakeover, FileWrite, SplitBrainDetection, SplitBrainResolution
from bascule.cluster.recovery import resolve_split_brain, split_brain_logged
from bascule.waits import WaitTimeout, wait_until

from .commun import FAILOVER_DEADLINE, node_for
from .pannes import _start


def logged_lines(cluster) -> dict[str, tuple[str, ...]]:
    """Document 3's split-brain line in each node's kernel log, as it stands now."""
    return {n: tuple(split_brain_logged(node)) for n, node in cluster.nodes.items()}


def new_lines(now: dict[str, tuple[str, ...]], before: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    return {n: lines[len(before.get(n, ())):] for n, lines in now.items()}


# --- the network cable -------------------------------------------------------------------------

@dataclass(frozen=True)
class CableCut:
    """The master's cable pulled: the fault, and what the kernel logs held before (so that only a
    split brain of this cut counts)."""
    fault: CablePull
    lines_before: dict[str, tuple[str, ...]]


@when(parsers.re(r"le câble réseau du serveur (?P<role>maître|esclave) est débranché"), target_fixture="coupure")
def debrancher(cluster, embedded_lab, pannes, role) -> CableCut:
    node = node_for(cluster, role)
    link = (lambda up: embedded_lab.hypervisor.set_link(node.name, up)) if embedded_lab is not None else None
    fault = CablePull(cluster, node, link, seconds=90)
    before = logged_lines(cluster)
    return CableCut(_start(fault, pannes), before)


@then(parsers.re(r"le serveur (?P<role>maître|esclave) reprend le service FTP sur l'adresse IP virtuelle"))
def esclave_reprend(cluster, historique, inventaire, sonde, coupure, tableau, role):
    node = node_for(cluster, role)
    since = coupure.fault.started_at
    try:
        wait_until(lambda: served_by(historique.since(since), sonde.name),
                   lambda s: bool(s) and node_named(s[-1][1], inventaire) == node.name, f"FTP served by {node.name}",
                   deadline=FAILOVER_DEADLINE, interval=1, describe=lambda s: str(s[-1:]))
    except WaitTimeout:
        pass  # the check says who served the client instead
    views = {}
    for n in cluster.nodes.values():
        try:
            views[n.name] = cluster.crm_mon(n)[0]
        except NodeError:
            views[n.name] = None
    journals = cluster.journals(since)
    tableau.judge(checks.cable_taken_over, CableTakeover(since, node.name, sonde.name, views, journals))


@when(parsers.re(r"le câble réseau du serveur (?P<role>maître|esclave) est rebranché"), target_fixture="rebranchement")
def rebrancher(cluster, coupure) -> CableOutcome:
    coupure.fault.heal()
    try:
        cluster.wait_state("both nodes see each other again", lambda s: len(s.online_nodes) == 2, deadline=180, interval=2)
    except WaitTimeout:
        return CableOutcome(False)
    # DRBD settles on Connected (resynchronised) or StandAlone (split brain) a little after
    try:
        drbd = wait_until(lambda: {n: cluster.drbd(node) for n, node in cluster.nodes.items()},
                          lambda d: all(s.connection in ("Connected", "StandAlone") for s in d.values())
                          or any(s.connection == "StandAlone" for s in d.values()),
                          "DRBD to reconnect or give up", deadline=120, interval=2,
                          describe=lambda d: "; ".join(f"{k}: {v.summary()}" for k, v in d.items())).value
        return CableOutcome(True, drbd, new_lines(logged_lines(cluster), coupure.lines_before))
    except WaitTimeout as exc:
        return CableOutcome(True, wait_error=exc.last_seen)
    except NodeError as exc:
        return CableOutcome(True, unreachable=str(exc))


@then("l'issue de la coupure est rapportée (split brain DRBD ou non)")
def issue_coupure(rebranchement, tableau):
    tableau.judge(checks.cable_outcome, rebranchement, stop=not rebranchement.reformed)


@when("le split brain éventuel est résolu comme l'indique le document 3", target_fixture="mouvement")
def resoudre_eventuel(cluster, coupure, rebranchement, historique, sonde) -> Movement:
    t = historique.now()
    if split_brain_seen(rebranchement):
        # the data kept is that of the node that served the clients during the cut: the more active one
        serving = served_by(historique.since(coupure.fault.started_at), sonde.name)
        keep = cluster.nodes.get(node_named(serving[-1][1], cluster.inv) or "") if serving else None
        resolve_split_brain(cluster, keep=keep or cluster.master)
    return Movement(t, cluster.master.name, "reprise après le câble rebranché")


# --- split brain on purpose (document 3) -------------------------------------------------------

@dataclass(frozen=True)
class SplitBrainMade:
    """Document 3's split brain, provoked: the fault, the kernel logs before, each node's file."""
    fault: ReplicationCut
    lines_before: dict[str, tuple[str, ...]]
    master_file: FileWrite
    slave_file: FileWrite


@when("la réplication DRBD est coupée et chaque serveur, primaire, écrit son propre fichier", target_fixture="split")
def provoquer_split_brain(cluster, inventaire, pannes) -> SplitBrainMade:
    master, slave = cluster.master, cluster.slave
    fault = ReplicationCut(cluster, master)
    before = logged_lines(cluster)
    pannes.append(fault)
    fault.inject()
    d, res, mnt = inventaire.documents_dir, inventaire.drbd.resource, inventaire.drbd.mount_point
    slave.run(quote("drbdadm", "primary", res), timeout=60)
    slave.run(f"mountpoint -q {quote(mnt)} || mount {quote(inventaire.drbd.device)} {quote(mnt)}", timeout=60)
    files = [write_as_user(cluster, node, f"{d}/{name}", f"{name} {time.time()} {os.urandom(8).hex()}\n")
             for node, name in ((master, "split-brain-maitre"), (slave, "split-brain-esclave"))]
    return SplitBrainMade(fault, before, files[0], files[1])


@when("la réplication est rétablie")
def retablir_replication(cluster, inventaire, split):
    for node in cluster.nodes.values():
        node.run(quote("drbdadm", "connect", inventaire.drbd.resource) + " || true", timeout=60)


@then("DRBD détecte le split brain et arrête la réplication (StandAlone)")
def split_brain_detecte(cluster, split, tableau):
    try:
        waited = wait_until(
            lambda: (new_lines(logged_lines(cluster), split.lines_before),
                     {n: cluster.drbd(node) for n, node in cluster.nodes.items()}),
            lambda v: any(v[0].values()) and any(s.connection == "StandAlone" for s in v[1].values()),
            "DRBD to detect the split brain", deadline=60, interval=1,
            describe=lambda v: "; ".join(f"{k}: {s.summary()}" for k, s in v[1].items()))
        cluster.capture("split brain détecté")
        lines, drbd = waited.value
        seen = SplitBrainDetection(True, round(waited.elapsed, 1), lines, drbd)
    except WaitTimeout as exc:
        seen = SplitBrainDetection(False, wait_error=exc.last_seen)
    tableau.judge(checks.split_brain_detected, seen, stop=True)


@when(parsers.re(r"on résout le split brain en écartant les données du serveur (?P<role>maître|esclave)"))
def resoudre_split_brain(cluster, split, role):
    discard = node_for(cluster, role)
    resolve_split_brain(cluster, keep=cluster.peer(discard))
    split.fault.resolved()


@then(parsers.re(r"DRBD est de nouveau UpToDate/UpToDate avec les fichiers du serveur (?P<role>maître|esclave) seulement"))
def split_brain_resolu(cluster, inventaire, split, tableau, role):
    keeper = node_for(cluster, role)
    drbd = {n: cluster.drbd(node) for n, node in cluster.nodes.items()}
    error = ""
    try:
        cluster.wait_state(f"{keeper.name} to hold DRBD and /home again",
                           lambda s: s.promoted_on(inventaire.resources.ms) == (keeper.name,)
                           and s.where(inventaire.resources.fs) == (keeper.name,), deadline=FAILOVER_DEADLINE, interval=2)
    except WaitTimeout as exc:
        error = exc.last_seen
    kept, dropped = (split.master_file, split.slave_file) if keeper is cluster.master else (split.slave_file, split.master_file)
    seen = SplitBrainResolution(drbd, error, read_on(cluster, keeper, kept.path.rsplit("/", 1)[-1], kept.path, kept.sha256),
                                read_on(cluster, keeper, dropped.path.rsplit("/", 1)[-1], dropped.path, None))
    tableau.judge(checks.split_brain_resolved, seen)
