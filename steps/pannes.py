"""Steps of the faults on a node and what must survive them: witness files through FTP, a clean
reboot, a power cut, the FTP service killed with and without its restart prevented (the remark
after Q5)."""
from __future__ import annotations

import os
import subprocess
import time

import pytest
from pytest_bdd import given, parsers, then, when

from bascule.checks import Result, client_downtime, node_named, secs
from bascule.errors import NodeError
from bascule.faults import BlockRestart, FaultUnavailable, KillService, Movement, PowerLoss, Reboot
from bascule.ftp import sha256
from bascule.history import downtime_windows, served_by
from bascule.report import allure_parameter
from bascule.waits import WaitTimeout, wait_until

from .commun import node_for, wait_for_move


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
        down, down_text = client_downtime(historique.since(since), sonde.name)
        try:
            now = cluster.state()
            unseen = now.started(rid) and now.fail_count(rid, node.name) <= before
        except NodeError:
            unseen = False
        if unseen:  # the monitor never ran or never failed: Pacemaker still believes it runs
            tableau.record(Result.ko(f"Pacemaker n'a pas vu l'arrêt en {secs(exc.deadline)} : {rid} toujours « Started » "
                                     f"sur {node.name}, fail-count {before} inchangé ; {down_text}"))
        else:
            tableau.record(Result.ko(f"{rid} n'a pas été redémarré sur {node.name} : {exc.last_seen} ; {down_text}"))
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
    serving = served_by(evs, sonde.name)
    last = node_named(serving[-1][1], inventaire) if serving else None
    if last is not None and last != node.name:
        tableau.record(Result.ko(f"{rid} relancé sur {node.name} mais le client FTP est servi par {last}"))
        return
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
