"""Steps of the faults on a node and what must survive them: witness files through FTP, a clean
reboot, a power cut, the FTP service killed with and without its restart prevented (the remark
after Q5)."""

from __future__ import annotations

import pytest
from pytest_bdd import given, parsers, then, when

from bascule.cluster.faults import FaultUnavailable, KillService, PowerLoss, Reboot, power_loss
from bascule.cluster.moves import Movement, await_restart, away_from, cause_removed, killed_and_blocked, rejoined
from bascule.judging import checks
from bascule.record.observations import Takeover, WitnessRead

from .commun import move_towards, node_for

RESTART_DEADLINE = 180


# --- witness files through FTP -----------------------------------------------------------------


@given(parsers.parse('un fichier témoin "{nom}" écrit via le client FTP et enregistré sur disque'))
def temoin_ftp(cluster, client_ftp, fichiers_temoins, nom):
    fichiers_temoins.upload(cluster, client_ftp, nom)


@when(parsers.parse('on relit le fichier témoin "{nom}" via le client FTP'), target_fixture="relecture")
def relire_temoin(client_ftp, fichiers_temoins, nom) -> WitnessRead:
    return fichiers_temoins.read(client_ftp, nom)


@then("le fichier témoin est intact")
def temoin_intact(relecture, lignes):
    lignes.judge(checks.witness_intact, relecture)


# --- reboot and power loss ---------------------------------------------------------------------


@when(parsers.re(r"le serveur (?P<role>maître|esclave) est redémarré"), target_fixture="mouvement")
def redemarrage(cluster, pannes, role) -> Movement:
    return away_from(cluster, pannes.start(Reboot(cluster, node_for(cluster, role))), "redémarrage")


@when(parsers.re(r"le courant du serveur (?P<role>maître|esclave) est coupé"), target_fixture="mouvement")
def coupure_courant(cluster, hyperviseur, pannes, role) -> Movement:
    try:
        fault = power_loss(cluster, node_for(cluster, role), hyperviseur)
    except FaultUnavailable as exc:
        pytest.skip(f"coupure de courant impossible sur ce cluster : {exc}")
    return away_from(cluster, pannes.start(fault), "coupure de courant")


@when(parsers.re(r"le serveur (?P<role>maître|esclave) a redémarré et rejoint le cluster"), target_fixture="mouvement")
def retour_apres_redemarrage(cluster, pannes, role) -> Movement:
    return rejoined(cluster, pannes, Reboot, node_for(cluster, role))


@when(
    parsers.re(r"le courant du serveur (?P<role>maître|esclave) est rétabli et qu'il rejoint le cluster"),
    target_fixture="mouvement",
)
def retour_du_courant(cluster, pannes, role) -> Movement:
    return rejoined(cluster, pannes, PowerLoss, node_for(cluster, role))


# --- a service killed --------------------------------------------------------------------------


@when(parsers.re(r"le service FTP est tué sur le serveur (?P<role>maître|esclave)$"), target_fixture="arret")
def tuer_service(cluster, pannes, role) -> KillService:
    return pannes.start(KillService(cluster, node_for(cluster, role)))


@then(parsers.re(r"Pacemaker redémarre le service FTP sur le serveur (?P<role>maître|esclave)"))
def service_redemarre(cluster, sonde, arret, lignes, role):
    lignes.judge(
        checks.service_restarted, await_restart(cluster, sonde, arret, node_for(cluster, role).name, RESTART_DEADLINE)
    )


@when(
    parsers.re(r"le service FTP est tué sur le serveur (?P<role>maître|esclave) et son redémarrage empêché"),
    target_fixture="mouvement",
)
def tuer_et_empecher(cluster, pannes, role) -> Movement:
    return killed_and_blocked(cluster, pannes, node_for(cluster, role))


@then(parsers.re(r"le service FTP est repris par le serveur (?P<role>maître|esclave) avec ses données"))
def service_repris(cluster, sonde, mouvement, fichiers_temoins, client_ftp, lignes, role):
    move = move_towards(cluster, sonde, mouvement, role)
    lignes.judge(checks.taken_over, Takeover(move, fichiers_temoins.read_all(client_ftp)), since=move.since)


@when("la cause est supprimée et les erreurs effacées (crm resource cleanup)", target_fixture="mouvement")
def supprimer_la_cause(pannes) -> Movement:
    return cause_removed(pannes)
