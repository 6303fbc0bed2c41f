"""Steps of the lab's extra cases: reboot and power loss of the master, a service killed with and
without its restart prevented, a network cable pulled, split brain (document 3), save and restore
(Q6/Q7), and the configuration's conformance."""
from __future__ import annotations

import os
import shlex
import subprocess
import time

import pytest
from pytest_bdd import given, parsers, then, when

from bascule.checks import Result, moved, placement_problems, secs
from bascule.conformance import check_line, config_differences, configuration_xml, normalise
from bascule.errors import BasculeError, NodeError
from bascule.faults import (BlockRestart, CablePull, FaultUnavailable, KillService, Movement, PowerLoss, Reboot,
                            ReplicationCut)
from bascule.ftp import FTPUnavailable, sha256
from bascule.history import downtime_windows, served_by
from bascule.nodes import quote
from bascule.recovery import resolve_split_brain, split_brain_logged
from bascule.report import allure_parameter, attach_text
from bascule.waits import WaitTimeout, wait_until

from .commun import FAILOVER_DEADLINE, node_for, wait_for_move


# --- witness files through FTP -----------------------------------------------------------------

@given(parsers.parse('un fichier témoin "{nom}" écrit via le client FTP et enregistré sur disque'))
def temoin_ftp(cluster, client_ftp, inventaire, fichiers_temoins, nom):
    data = f"bascule témoin {nom} {time.time():.3f} {os.urandom(16).hex()}\n".encode() * 32
    path = f"{inventaire.ftp.documents}/temoin-{nom}.txt"
    client_ftp.upload(path, data)
    # An upload acknowledged seconds before a power cut may exist only in the page cache: its loss
    # says nothing about the cluster. Flushing makes the witness test replication, not writeback.
    cluster.flush_to_disk()
    fichiers_temoins[nom] = (path, sha256(data))


@when(parsers.parse('on relit le fichier témoin "{nom}" via le client FTP'), target_fixture="relecture")
def relire_temoin(client_ftp, fichiers_temoins, nom):
    path, want = fichiers_temoins[nom]
    try:
        data, _ = client_ftp.download(path)
        return path, want, sha256(data), len(data), None
    except Exception as exc:  # noqa: BLE001 - the row says what the client saw
        from bascule.ftp import describe_error
        return path, want, None, None, getattr(exc, "what", None) or describe_error(exc)


@then("le fichier témoin est intact")
def temoin_intact(relecture, inventaire, tableau):
    path, want, got, size, error = relecture
    if error:
        tableau.record(Result.ko(f"{path} illisible via {inventaire.vip} : {error}"))
    elif got != want:
        tableau.record(Result.ko(f"{path} relu via {inventaire.vip} ({size} octets) avec un sha256 différent : "
                                 "données perdues ou abîmées"))
    else:
        tableau.record(Result.ok(f"{path} relu via {inventaire.vip}, sha256 identique ({got[:12]}…)"))


# --- reboot and power loss ---------------------------------------------------------------------

def _start(fault, pannes, sonde):
    pannes.append(fault)
    sonde.start()
    fault.inject()
    return fault


@when(parsers.re(r"le serveur (?P<role>maître|esclave) est redémarré"), target_fixture="mouvement")
def redemarrage(cluster, pannes, sonde, role):
    node = node_for(cluster, role)
    fault = _start(Reboot(cluster, node), pannes, sonde)
    return Movement(fault.started_at, cluster.peer(node).name, f"redémarrage de {node.name}")


def power_controls(cluster, embedded_lab, node):
    if embedded_lab is not None:
        return (lambda: embedded_lab.power_off(node.name)), (lambda: embedded_lab.power_on(node.name))
    spec = node.spec
    if not (spec.power_off and spec.power_on):
        return None, None

    def run(cmd):
        return lambda: subprocess.run(cmd, shell=True, check=True, timeout=120, capture_output=True)
    return run(spec.power_off), run(spec.power_on)


@when(parsers.re(r"le courant du serveur (?P<role>maître|esclave) est coupé"), target_fixture="mouvement")
def coupure_courant(cluster, embedded_lab, pannes, sonde, role):
    node = node_for(cluster, role)
    off, on = power_controls(cluster, embedded_lab, node)
    try:
        fault = PowerLoss(cluster, node, off, on)
    except FaultUnavailable as exc:
        pytest.skip(f"coupure de courant impossible sur ce cluster : {exc}")
    _start(fault, pannes, sonde)
    return Movement(fault.started_at, cluster.peer(node).name, f"coupure de courant de {node.name}")


def _rejoin(cluster, pannes, sonde, historique, role, kind):
    node = node_for(cluster, role)
    fault = next(f for f in pannes if isinstance(f, kind) and f.node is node)
    sonde.start()
    fault.heal()
    # the failback is timed from the node's return to the cluster, as a student would time it
    return Movement(historique.now(), node.name, f"retour de {node.name}")


@when(parsers.re(r"le serveur (?P<role>maître|esclave) a redémarré et rejoint le cluster"), target_fixture="mouvement")
def retour_apres_redemarrage(cluster, pannes, sonde, historique, role):
    return _rejoin(cluster, pannes, sonde, historique, role, Reboot)


@when(parsers.re(r"le courant du serveur (?P<role>maître|esclave) est rétabli et qu'il rejoint le cluster"),
      target_fixture="mouvement")
def retour_du_courant(cluster, pannes, sonde, historique, role):
    return _rejoin(cluster, pannes, sonde, historique, role, PowerLoss)


# --- a service killed --------------------------------------------------------------------------

@when(parsers.re(r"le service FTP est tué sur le serveur (?P<role>maître|esclave)$"), target_fixture="arret")
def tuer_service(cluster, inventaire, pannes, sonde, role):
    node = node_for(cluster, role)
    before = cluster.state().fail_count(inventaire.resources.ftp, node.name)
    fault = _start(KillService(cluster, node), pannes, sonde)
    return fault, before


@then(parsers.re(r"Pacemaker redémarre le service FTP sur le serveur (?P<role>maître|esclave)"))
def service_redemarre(cluster, inventaire, historique, sonde, arret, tableau, role):
    fault, before = arret
    node = node_for(cluster, role)
    rid = inventaire.resources.ftp
    since = fault.started_at
    try:
        waited = cluster.wait_state(
            f"{rid} restarted on {node.name}",
            lambda s: s.where(rid) == (node.name,) and s.started(rid) and s.fail_count(rid, node.name) > before,
            deadline=180, interval=1)
        state = waited.value
    except WaitTimeout as exc:
        sonde.stop()
        tableau.record(Result.ko(f"{rid} n'a pas été redémarré sur {node.name} : {exc.last_seen}"))
        return
    try:
        wait_until(lambda: downtime_windows(historique.since(since), sonde.name),
                   lambda w: bool(w) and all(x.end is not None for x in w), f"FTP on {inventaire.vip} again",
                   deadline=120, interval=0.5, describe=lambda w: f"{len(w)} interruption(s)")
    except WaitTimeout:
        pass
    sonde.stop()
    evs = list(historique.since(since))
    windows = downtime_windows(evs, sonde.name)
    if not windows or windows[-1].end is None:
        tableau.record(Result.ko(f"{rid} relancé par Pacemaker mais le FTP ne répond plus sur {inventaire.vip}"))
        return
    restarted = next((e for e in evs if e.source == "observation" and e.op == "crm_mon" and e.outcome == "ok"
                      and isinstance(e.value, dict) and rid in (e.value.get("group") or {})
                      and e.value["group"][rid] == [node.name] and e.t > windows[0].start), None)
    down = sum(w.duration for w in windows)
    allure_parameter("indisponibilité FTP, kill -9 proftpd (s)", f"{down:.1f}")
    tableau.record(Result.ok(
        f"{rid} redémarré sur {node.name} par Pacemaker (fail-count {before} → {state.fail_count(rid, node.name)}) ; "
        f"FTP indisponible {secs(down)} ; service de nouveau rendu {secs(windows[-1].end - since)} après le kill"))


@when(parsers.re(r"le service FTP est tué sur le serveur (?P<role>maître|esclave) et son redémarrage empêché"),
      target_fixture="mouvement")
def tuer_et_empecher(cluster, inventaire, pannes, sonde, role):
    node = node_for(cluster, role)
    block = BlockRestart(cluster, node, inventaire.resources.ftp)
    pannes.append(block)
    block.inject()
    kill = _start(KillService(cluster, node), pannes, sonde)
    return Movement(kill.started_at, cluster.peer(node).name, f"kill -9 proftpd sur {node.name}, redémarrage empêché")


@then(parsers.re(r"le service FTP est repris par le serveur (?P<role>maître|esclave) avec ses données"))
def service_repris(cluster, historique, inventaire, sonde, mouvement, fichiers_temoins, client_ftp, tableau, role):
    result = wait_for_move(cluster, historique, inventaire, sonde, mouvement)
    if result.verdict.value != "OK":
        tableau.record(result)
        return
    lost = []
    for nom, (path, want) in fichiers_temoins.items():
        try:
            data, _ = client_ftp.download(path)
            if sha256(data) != want:
                lost.append(f"{path} différent")
        except Exception as exc:  # noqa: BLE001
            lost.append(f"{path} illisible ({getattr(exc, 'what', exc)})")
    if lost:
        tableau.record(Result.ko(result.observed + " ; mais " + ", ".join(lost)))
    else:
        tableau.record(Result.ok(result.observed + f" ; {len(fichiers_temoins)} fichier(s) témoin(s) relu(s) à l'identique"))


@when("la cause est supprimée et les erreurs effacées (crm resource cleanup)", target_fixture="mouvement")
def supprimer_la_cause(cluster, pannes, sonde, historique):
    block = next(f for f in pannes if isinstance(f, BlockRestart))
    sonde.start()
    block.heal()
    return Movement(block.heal_started_at, block.node.name, f"cleanup de {block.resource}")


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


# --- save and restore (Q6, Q7) -----------------------------------------------------------------

SAVE_FILE = "/root/sauveha.conf"


def _cib(node) -> str:
    return node.run("cibadmin -Q --scope configuration", timeout=60).stdout


@when("on sauvegarde la configuration avec crm configure save", target_fixture="sauvegarde")
def sauvegarder(cluster):
    master = cluster.master
    before = _cib(master)
    res = master.run(f"rm -f {SAVE_FILE}; crm configure save {SAVE_FILE} && cat {SAVE_FILE}", timeout=60, check=False)
    attach_text("sauveha.conf", res.stdout)
    return before, res


@then("la sauvegarde contient toute la configuration du cluster")
def sauvegarde_complete(sauvegarde, inventaire, tableau):
    before, res = sauvegarde
    if not res.ok:
        tableau.record(Result.ko(f"crm configure save a échoué : {(res.stderr or res.stdout).strip()[-200:]}"), stop=True)
        return
    text = res.stdout
    r = inventaire.resources
    missing = [rid for rid in (r.drbd, r.ms, r.fs, r.ftp, r.web, r.ip, r.group) if f" {rid} " not in f" {text} ".replace("\n", " ")]
    if missing:
        tableau.record(Result.ko(f"{SAVE_FILE} ne contient pas : {', '.join(missing)}"), stop=True)
        return
    lines = [l for l in text.splitlines() if l and not l.startswith(("\t", " "))]
    kinds = {}
    for l in lines:
        kinds[l.split()[0]] = kinds.get(l.split()[0], 0) + 1
    tableau.record(Result.ok(f"{SAVE_FILE} écrit : " + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))))


@when("on supprime des ressources et des contraintes puis on restaure avec crm configure load update",
      target_fixture="restauration")
def supprimer_et_restaurer(cluster, inventaire):
    master = cluster.master
    r = inventaire.resources
    deleted = []
    # a running resource cannot be deleted: stop the MySQL clone first, as a student would
    master.run(quote("crm", "resource", "stop", r.mysql_clone), timeout=60)
    cluster.wait_state(f"{r.mysql_clone} stopped", lambda s: not s.where(r.mysql_clone), deadline=180, interval=2)
    cfg = configuration_xml(_cib(master))
    constraints = [c.get("id") for c in cfg.findall(".//rsc_order") + cfg.findall(".//rsc_colocation")
                   if c.get("rsc") == r.ftp or c.get("then") == r.ftp][:2]
    for rid in [r.mysql_clone] + constraints:
        master.run(quote("crm", "configure", "delete", "--force", rid) + f" || crm configure delete {shlex.quote(rid)}", timeout=60)
        deleted.append(rid)
    after_delete = configuration_xml(_cib(master))
    still = [rid for rid in deleted if after_delete.find(f".//*[@id='{rid}']") is not None]
    res = master.run(f"crm configure load update {SAVE_FILE}", timeout=120, check=False)
    restored = _cib(master)
    attach_text("configuration après restauration", restored, xml=False)
    return deleted, still, res, restored


@then("la configuration restaurée est identique à la configuration sauvegardée")
def restauration_identique(cluster, inventaire, sauvegarde, restauration, tableau):
    before, _ = sauvegarde
    deleted, still, res, restored = restauration
    if still:
        tableau.record(Result.ko(f"suppression sans effet pour {', '.join(still)} : la restauration n'est pas éprouvée"))
        return
    if not res.ok:
        tableau.record(Result.ko(f"crm configure load update a échoué : {(res.stderr or res.stdout).strip()[-200:]}"))
        return
    diffs = config_differences(configuration_xml(before), configuration_xml(restored))
    if diffs:
        tableau.record(Result.ko("configuration restaurée différente : " + " ; ".join(diffs[:6])))
        return
    r = inventaire.resources
    try:
        waited = cluster.wait_state(f"{r.mysql_clone} started again on both nodes",
                                    lambda s: len(s.where(r.mysql_clone)) == 2 and not s.failed_actions,
                                    deadline=240, interval=2)
        back = f" ; {r.mysql_clone} redémarré sur les deux nœuds en {secs(waited.elapsed)}"
    except WaitTimeout as exc:
        tableau.record(Result.ko(f"configuration identique mais {r.mysql_clone} ne redémarre pas : {exc.last_seen}"))
        return
    tableau.record(Result.ok(f"{', '.join(deleted)} supprimés puis restaurés ; configuration identique à la sauvegarde "
                             f"(ressources, contraintes, attributs){back}"))


# --- conformance to the lab's configuration ------------------------------------------------------

@when("on lit la configuration du cluster (crm configure show)", target_fixture="configuration")
def lire_configuration(cluster):
    master = cluster.master
    show = master.run("crm configure show 2>/dev/null", timeout=60, check=False).stdout
    attach_text("crm configure show", show)
    return configuration_xml(_cib(master))


@then("elle contient chacun de ces éléments du Coté Labo :")
def contient(configuration, inventaire, tableau, datatable):
    """One row of the report per element of the lab, every element checked even when one is KO."""
    results = []
    for (line,) in datatable[1:]:
        lab_line = normalise(line, inventaire)
        results.append(tableau.record(check_line(lab_line, configuration, inventaire), expected=lab_line, raise_=False))
    tableau.conclude(results)
