"""Steps of the replication's faults: a network cable pulled (the remark after Q5) and a split brain
provoked, detected and resolved as document 3 says."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from bascule.cluster.faults import CablePull, cable_pull
from bascule.cluster.moves import Movement, await_cable_return, await_cable_takeover
from bascule.cluster.split_brain import SplitBrain, resolve_after_cable
from bascule.judging import checks
from bascule.record.observations import CableOutcome

from .commun import FAILOVER_DEADLINE, node_for

CABLE_OUT_S = 90  # an existing lab's node puts its own link back after this long (see CablePull)


# --- the network cable -------------------------------------------------------------------------


@when(parsers.re(r"le câble réseau du serveur (?P<role>maître|esclave) est débranché"), target_fixture="coupure")
def debrancher(cluster, hyperviseur, pannes, role) -> CablePull:
    return pannes.start(cable_pull(cluster, node_for(cluster, role), hyperviseur, seconds=CABLE_OUT_S))


@then(parsers.re(r"le serveur (?P<role>maître|esclave) reprend le service FTP sur l'adresse IP virtuelle"))
def esclave_reprend(cluster, sonde, coupure, lignes, role):
    seen = await_cable_takeover(cluster, sonde, coupure.started_at, node_for(cluster, role), FAILOVER_DEADLINE)
    lignes.judge(checks.cable_taken_over, seen)


@when(parsers.re(r"le câble réseau du serveur (?P<role>maître|esclave) est rebranché"), target_fixture="rebranchement")
def rebrancher(cluster, coupure) -> CableOutcome:
    coupure.heal()
    return await_cable_return(cluster, coupure.lines_before)


@then("l'issue de la coupure est rapportée (split brain DRBD ou non)")
def issue_coupure(rebranchement, lignes):
    lignes.judge(checks.cable_outcome, rebranchement, stop=not rebranchement.reformed)


@when("le split brain éventuel est résolu comme l'indique le document 3", target_fixture="mouvement")
def resoudre_eventuel(cluster, coupure, rebranchement, historique) -> Movement:
    t = historique.now()
    resolve_after_cable(cluster, coupure, rebranchement)
    return Movement(t, cluster.master.name, "reprise après le câble rebranché")


# --- split brain on purpose (document 3) -------------------------------------------------------


@when("la réplication DRBD est coupée et chaque serveur, primaire, écrit son propre fichier", target_fixture="split")
def provoquer_split_brain(cluster, pannes) -> SplitBrain:
    return pannes.start(SplitBrain(cluster))


@when("la réplication est rétablie")
def retablir_replication(split):
    split.reconnect()


@then("DRBD détecte le split brain et arrête la réplication (StandAlone)")
def split_brain_detecte(split, lignes):
    lignes.judge(checks.split_brain_detected, split.await_detection(), stop=True)


@when(parsers.re(r"on résout le split brain en écartant les données du serveur (?P<role>maître|esclave)"))
def resoudre_split_brain(cluster, split, role):
    split.resolve_discarding(node_for(cluster, role))


@then(
    parsers.re(r"DRBD est de nouveau UpToDate/UpToDate avec les fichiers du serveur (?P<role>maître|esclave) seulement")
)
def split_brain_resolu(cluster, split, lignes, role):
    lignes.judge(checks.split_brain_resolved, split.await_resolution(node_for(cluster, role), FAILOVER_DEADLINE))
