"""Steps of the replication's faults: a network cable pulled (the remark after Q5) and a split brain
provoked, detected and resolved as document 3 says."""
from __future__ import annotations

import os
import time

from pytest_bdd import parsers, then, when

from bascule.checks import Result, secs
from bascule.errors import NodeError
from bascule.faults import CablePull, Movement, ReplicationCut
from bascule.history import downtime_windows, served_by
from bascule.nodes import quote
from bascule.recovery import resolve_split_brain, split_brain_logged
from bascule.waits import WaitTimeout, wait_until

from .commun import FAILOVER_DEADLINE, node_for
from .pannes import _start


# --- the network cable -------------------------------------------------------------------------

@when(parsers.re(r"le câble réseau du serveur (?P<role>maître|esclave) est débranché"), target_fixture="coupure")
def debrancher(cluster, embedded_lab, pannes, sonde, role):
    node = node_for(cluster, role)
    link = (lambda up: embedded_lab.set_link(node.name, up)) if embedded_lab is not None else None
    fault = CablePull(cluster, node, link, seconds=90)
    # what the kernel logs already hold, so that only a split brain of this cut counts
    fault.split_brain_lines_before = {n: split_brain_logged(x) for n, x in cluster.nodes.items()}
    return _start(fault, pannes, sonde)


@then(parsers.re(r"le serveur (?P<role>maître|esclave) reprend le service FTP sur l'adresse IP virtuelle"))
def esclave_reprend(cluster, historique, inventaire, sonde, coupure, tableau, role):
    node = node_for(cluster, role)
    since = coupure.started_at
    try:
        wait_until(lambda: served_by(historique.since(since), sonde.name),
                   lambda s: bool(s) and s[-1][1] == node.name, f"FTP served by {node.name}",
                   deadline=FAILOVER_DEADLINE, interval=1, describe=lambda s: str(s[-1:]))
    except WaitTimeout:
        pass
    evs = list(historique.since(since))
    serving = served_by(evs, sonde.name)
    views = []
    for n in cluster.nodes.values():
        try:
            st = cluster.state(n)
            views.append(f"vu de {n.name} : {', '.join(st.online_nodes)} en ligne, ms-drbd0 promu sur "
                         f"{'+'.join(st.promoted_on(inventaire.resources.ms)) or 'aucun'}")
        except NodeError:
            views.append(f"{n.name} injoignable")
    windows = downtime_windows(evs, sonde.name)
    if not serving or serving[-1][1] != node.name:
        tableau.record(Result.ko(f"le FTP n'est pas servi par {node.name} après la coupure ; " + " ; ".join(views)))
        return
    down = sum(w.duration for w in windows if w.duration is not None)
    t_switch = serving[-1][0] - since
    tableau.record(Result.ok(f"FTP servi par {node.name} {secs(t_switch)} après la coupure (indisponible {secs(down)}) ; "
                             + " ; ".join(views)))


@when(parsers.re(r"le câble réseau du serveur (?P<role>maître|esclave) est rebranché"), target_fixture="rebranchement")
def rebrancher(cluster, coupure, sonde, historique):
    sonde.stop()
    t = historique.now()
    coupure.heal()
    try:
        cluster.wait_state("both nodes see each other again",
                           lambda s: len(s.online_nodes) == 2, deadline=180, interval=2)
        reformed = True
    except WaitTimeout:
        reformed = False
    return t, reformed


@then("l'issue de la coupure est rapportée (split brain DRBD ou non)")
def issue_coupure(cluster, inventaire, coupure, rebranchement, historique, tableau, embedded_lab):
    t, reformed = rebranchement
    if not reformed:
        tableau.record(Result.ko("le cluster ne s'est pas reformé : les deux nœuds ne se voient plus après le rebranchement"), stop=True)
        return
    # DRBD settles on Connected (resynchronised) or StandAlone (split brain) a little after
    try:
        waited = wait_until(lambda: {n: cluster.drbd(node) for n, node in cluster.nodes.items()},
                            lambda d: all(s.connection in ("Connected", "StandAlone") for s in d.values())
                            or any(s.connection == "StandAlone" for s in d.values()),
                            "DRBD to reconnect or give up", deadline=120, interval=2,
                            describe=lambda d: "; ".join(f"{k}: {v.summary()}" for k, v in d.items()))
        drbd = waited.value
    except WaitTimeout as exc:
        tableau.record(Result.unknown(f"DRBD ni connecté ni StandAlone : {exc.last_seen}"))
        return
    except NodeError as exc:
        tableau.record(Result.unknown(f"nœud injoignable : {exc}"))
        return
    logged = {n: split_brain_logged(node) for n, node in cluster.nodes.items()}
    before = getattr(coupure, "split_brain_lines_before", {})
    new_lines = {n: lines[len(before.get(n, [])):] for n, lines in logged.items()}
    split = any(new_lines.values()) or any(s.connection == "StandAlone" for s in drbd.values())
    state_text = " ; ".join(f"DRBD {n} : {s.summary()}" for n, s in drbd.items())
    coupure.split_brain = split
    if split:
        where = ", ".join(n for n, l in new_lines.items() if l) or "aucun journal"
        line = next((l[0].split("]", 1)[-1].strip() for l in new_lines.values() if l), "pas de ligne dans le journal")
        tableau.record(Result.ok(
            f"Les deux nœuds se sont crus seuls et ont été primaires : split brain DRBD au rebranchement "
            f"(« {line} » sur {where}) ; {state_text}. "
            f"Sans STONITH c'est l'issue attendue : seul STONITH l'aurait évitée (document 3)."))
    else:
        tableau.record(Result.ok(f"Pas de split brain : DRBD s'est reconnecté ({state_text})"))


@when("le split brain éventuel est résolu comme l'indique le document 3", target_fixture="mouvement")
def resoudre_eventuel(cluster, coupure, historique, sonde):
    t = historique.now()
    if getattr(coupure, "split_brain", False):
        # the data kept is that of the node that served the clients during the cut: the more active one
        serving = served_by(historique.since(coupure.started_at), sonde.name)
        keep = cluster.nodes.get(serving[-1][1]) if serving else cluster.master
        resolve_split_brain(cluster, keep=keep or cluster.master)
    sonde.start()
    return Movement(t, cluster.master.name, "reprise après le câble rebranché")


# --- split brain on purpose (document 3) -------------------------------------------------------

@when("la réplication DRBD est coupée et chaque serveur, primaire, écrit son propre fichier", target_fixture="split")
def provoquer_split_brain(cluster, inventaire, pannes):
    master, slave = cluster.master, cluster.slave
    fault = ReplicationCut(cluster, master)
    fault.split_brain_lines_before = {n: split_brain_logged(node) for n, node in cluster.nodes.items()}
    pannes.append(fault)
    fault.inject()
    d, res, mnt = inventaire.documents_dir, inventaire.drbd.resource, inventaire.drbd.mount_point
    slave.run(quote("drbdadm", "primary", res), timeout=60)
    slave.run(f"mountpoint -q {quote(mnt)} || mount {quote(inventaire.drbd.device)} {quote(mnt)}", timeout=60)
    files = {}
    for node, name in ((master, "split-brain-maitre"), (slave, "split-brain-esclave")):
        from bascule.cluster import write_as_user
        files[name] = write_as_user(cluster, node, f"{d}/{name}", f"{name} {time.time()} {os.urandom(8).hex()}\n")
    return fault, files


@when("la réplication est rétablie")
def retablir_replication(cluster, inventaire, split):
    for node in cluster.nodes.values():
        node.run(quote("drbdadm", "connect", inventaire.drbd.resource) + " || true", timeout=60)


@then("DRBD détecte le split brain et arrête la réplication (StandAlone)")
def split_brain_detecte(cluster, split, tableau):
    fault, files = split
    before = fault.split_brain_lines_before
    try:
        waited = wait_until(
            lambda: ({n: split_brain_logged(node)[len(before.get(n, [])):] for n, node in cluster.nodes.items()},
                     {n: cluster.drbd(node) for n, node in cluster.nodes.items()}),
            lambda v: any(v[0].values()) and any(s.connection == "StandAlone" for s in v[1].values()),
            "DRBD to detect the split brain", deadline=60, interval=1,
            describe=lambda v: "; ".join(f"{k}: {s.summary()}" for k, s in v[1].items()))
    except WaitTimeout as exc:
        tableau.record(Result.ko(f"split brain non détecté : {exc.last_seen}"), stop=True)
        return
    lines, drbd = waited.value
    cluster.capture("split brain détecté")
    where = ", ".join(n for n, l in lines.items() if l)
    first = next(l for l in lines.values() if l)[0].split("]", 1)[-1].strip()
    tableau.record(Result.ok(f"« {first} » sur {where} en {secs(waited.elapsed)} ; "
                             + " ; ".join(f"DRBD {n} : {s.summary()}" for n, s in drbd.items())))


@when(parsers.re(r"on résout le split brain en écartant les données du serveur (?P<role>maître|esclave)"))
def resoudre_split_brain(cluster, split, role):
    fault, files = split
    discard = node_for(cluster, role)
    resolve_split_brain(cluster, keep=cluster.peer(discard))
    fault.healed = True  # document 3's recovery is the heal; it ran
    fault._record("end", "ok")


@then("DRBD est de nouveau UpToDate/UpToDate avec les fichiers du serveur maître seulement")
def split_brain_resolu(cluster, inventaire, split, tableau):
    fault, files = split
    master = cluster.master
    problems = []
    drbd = {n: cluster.drbd(node) for n, node in cluster.nodes.items()}
    for n, s in drbd.items():
        if not s.healthy:
            problems.append(f"DRBD {n} : {s.summary()}")
    try:
        cluster.wait_state("the master to hold DRBD and /home again",
                           lambda s: s.promoted_on(inventaire.resources.ms) == (master.name,)
                           and s.where(inventaire.resources.fs) == (master.name,), deadline=FAILOVER_DEADLINE, interval=2)
    except WaitTimeout as exc:
        problems.append(f"le maître n'a pas repris DRBD et /home : {exc.last_seen}")
    kept, dropped = files["split-brain-maitre"], files["split-brain-esclave"]
    if master.sha256(kept.path) != kept.sha256 or kept.sha256 is None:
        problems.append(f"{kept.path} (écrit sur le maître) absent ou différent")
    if master.sha256(dropped.path) is not None:
        problems.append(f"{dropped.path} (écrit sur l'esclave, écarté) est encore là")
    if problems:
        tableau.record(Result.ko(" ; ".join(problems)))
    else:
        tableau.record(Result.ok(f"DRBD UpToDate/UpToDate sur les deux nœuds ; {kept.path} présent (sha256 identique), "
                                 f"{dropped.path} disparu avec les données écartées de l'esclave"))
