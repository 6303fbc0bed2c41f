"""Steps of the faults on a node and what must survive them: witness files through FTP, a clean
reboot, a power cut, the FTP service killed with and without its restart prevented (the remark
after Q5)."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import pytest
from pytest_bdd import given, parsers, then, when

from bascule.cluster.faults import BlockRestart, FaultUnavailable, KillService, PowerLoss, Reboot, power_switch
from bascule.cluster.ftp import describe_error, sha256
from bascule.cluster.moves import Movement, await_restart
from bascule.judging import checks
from bascule.record.observations import FtpWitness, Takeover, WitnessRead

from .commun import move_towards, node_for


# --- witness files through FTP -----------------------------------------------------------------

@given(parsers.parse('un fichier témoin "{nom}" écrit via le client FTP et enregistré sur disque'))
def temoin_ftp(cluster, client_ftp, inventaire, fichiers_temoins, nom):
    data = f"bascule témoin {nom} {time.time():.3f} {os.urandom(16).hex()}\n".encode() * 32
    path = f"{inventaire.ftp.documents}/temoin-{nom}.txt"
    client_ftp.upload(path, data)
    # An upload acknowledged seconds before a power cut may exist only in the page cache: its loss
    # says nothing about the cluster. Flushing makes the witness test replication, not writeback.
    cluster.flush_to_disk()
    fichiers_temoins[nom] = FtpWitness(path, sha256(data))


def read_witness(client_ftp, witness: FtpWitness) -> WitnessRead:
    """A witness read back through the FTP client on the VIP; an error is what the client saw."""
    try:
        data, _ = client_ftp.download(witness.path)
        return WitnessRead(witness.path, witness.sha256, sha256(data), len(data))
    except Exception as exc:  # noqa: BLE001 - the row says what the client saw
        return WitnessRead(witness.path, witness.sha256, None, None, getattr(exc, "what", None) or describe_error(exc))


@when(parsers.parse('on relit le fichier témoin "{nom}" via le client FTP'), target_fixture="relecture")
def relire_temoin(client_ftp, fichiers_temoins, nom) -> WitnessRead:
    return read_witness(client_ftp, fichiers_temoins[nom])


@then("le fichier témoin est intact")
def temoin_intact(relecture, lignes):
    lignes.judge(checks.witness_intact, relecture)


# --- reboot and power loss ---------------------------------------------------------------------

@when(parsers.re(r"le serveur (?P<role>maître|esclave) est redémarré"), target_fixture="mouvement")
def redemarrage(cluster, pannes, role) -> Movement:
    node = node_for(cluster, role)
    fault = pannes.start(Reboot(cluster, node))
    return Movement(fault.started_at, cluster.peer(node).name, f"redémarrage de {node.name}")


@when(parsers.re(r"le courant du serveur (?P<role>maître|esclave) est coupé"), target_fixture="mouvement")
def coupure_courant(cluster, embedded_lab, pannes, role) -> Movement:
    node = node_for(cluster, role)
    off, on = power_switch(node, embedded_lab.hypervisor if embedded_lab is not None else None)
    try:
        fault = PowerLoss(cluster, node, off, on)
    except FaultUnavailable as exc:
        pytest.skip(f"coupure de courant impossible sur ce cluster : {exc}")
    pannes.start(fault)
    return Movement(fault.started_at, cluster.peer(node).name, f"coupure de courant de {node.name}")


def _rejoin(cluster, pannes, historique, role, kind) -> Movement:
    node = node_for(cluster, role)
    pannes.find(kind, node).heal()
    # the failback is timed from the node's return to the cluster, as a student would time it; a node
    # back from a reboot may still resync DRBD, whose promotion score only moves at its next monitor:
    # until then an idle cluster proves nothing
    return Movement(historique.now(), node.name, f"retour de {node.name}",
                    cluster.monitor_interval(cluster.inv.resources.drbd) or 0.0)


@when(parsers.re(r"le serveur (?P<role>maître|esclave) a redémarré et rejoint le cluster"), target_fixture="mouvement")
def retour_apres_redemarrage(cluster, pannes, historique, role) -> Movement:
    return _rejoin(cluster, pannes, historique, role, Reboot)


@when(parsers.re(r"le courant du serveur (?P<role>maître|esclave) est rétabli et qu'il rejoint le cluster"),
      target_fixture="mouvement")
def retour_du_courant(cluster, pannes, historique, role) -> Movement:
    return _rejoin(cluster, pannes, historique, role, PowerLoss)


# --- a service killed --------------------------------------------------------------------------

@dataclass(frozen=True)
class Kill:
    """proftpd killed on a node: when, and the resource's fail-count there before."""
    since: float
    node: str
    fail_count_before: int


@when(parsers.re(r"le service FTP est tué sur le serveur (?P<role>maître|esclave)$"), target_fixture="arret")
def tuer_service(cluster, inventaire, pannes, role) -> Kill:
    node = node_for(cluster, role)
    # one reading gives the fail-count before and the kill's « avant » snapshot
    found = cluster.snapshot()
    before = cluster.fail_count(found.state if found.state is not None else cluster.state(),
                                inventaire.resources.ftp, node.name)
    fault = pannes.start(KillService(cluster, node), before=found)
    return Kill(fault.started_at, node.name, before)


RESTART_DEADLINE = 180


@then(parsers.re(r"Pacemaker redémarre le service FTP sur le serveur (?P<role>maître|esclave)"))
def service_redemarre(cluster, inventaire, sonde, arret, lignes, role):
    seen = await_restart(cluster, sonde, arret.since, inventaire.resources.ftp, node_for(cluster, role).name,
                         arret.fail_count_before, RESTART_DEADLINE)
    lignes.judge(checks.service_restarted, seen)


@when(parsers.re(r"le service FTP est tué sur le serveur (?P<role>maître|esclave) et son redémarrage empêché"),
      target_fixture="mouvement")
def tuer_et_empecher(cluster, inventaire, pannes, role) -> Movement:
    node = node_for(cluster, role)
    block = pannes.start(BlockRestart(cluster, node, inventaire.resources.ftp))
    # a binary made non-executable shows neither in crm_mon nor in DRBD: the reading before it stands
    kill = pannes.start(KillService(cluster, node), before=block.snapshot_before)
    # until serviceFTP's next monitor, nothing tells the cluster that proftpd died
    return Movement(kill.started_at, cluster.peer(node).name, f"kill -9 proftpd sur {node.name}, redémarrage empêché",
                    cluster.monitor_interval(inventaire.resources.ftp) or 0.0)


@then(parsers.re(r"le service FTP est repris par le serveur (?P<role>maître|esclave) avec ses données"))
def service_repris(cluster, sonde, mouvement, fichiers_temoins, client_ftp, lignes, role):
    move = move_towards(cluster, sonde, mouvement, role)
    reads = tuple(read_witness(client_ftp, w) for w in fichiers_temoins.values())
    lignes.judge(checks.taken_over, Takeover(move, reads), since=move.since)


@when("la cause est supprimée et les erreurs effacées (crm resource cleanup)", target_fixture="mouvement")
def supprimer_la_cause(cluster, pannes) -> Movement:
    block = pannes.find(BlockRestart)
    block.heal()
    return Movement(block.heal_started_at, block.node.name, f"cleanup de {block.resource}")
