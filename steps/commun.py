"""Steps shared by every feature: the baseline, standby/online, the resources' placement.

Steps stay thin: they act through the library, gather a typed observation, and hand it to a check
of bascule.judging.checks through `lignes.judge`. No step builds a verdict itself.
"""
from __future__ import annotations

from dataclasses import replace

import pytest
from pytest_bdd import given, parsers, then, when

from bascule.judging import checks
from bascule.cluster.cluster import node_seen
from bascule.cluster.faults import Standby
from bascule.cluster.moves import Movement, await_move
from bascule.cluster.ftp import FTPUnavailable
from bascule.record.observations import FtpWitness, ResourcesSeen
from bascule.reporting.table import attach_snapshot
from bascule.suite.stash import BASELINE_SNAPSHOT

ROLE = parsers.re  # steps name nodes by their role in the lab: « maître » or « esclave »
FAILOVER_DEADLINE = 360  # under emulation a clean reboot moves everything in up to 4 min (measured 235 s)


def node_for(cluster, role: str):
    return cluster.master if role == "maître" else cluster.slave


@pytest.fixture
def fichiers_temoins() -> dict[str, FtpWitness]:
    """Witness files written through FTP by the scenario: name -> FtpWitness (path, sha256)."""
    return {}


@pytest.fixture
def ecritures() -> dict:
    """Files written on a node's /home by the scenario (the lab's touch): name -> FileWrite."""
    return {}


@given("le cluster dans son état de référence")
def etat_de_reference(request, ligne_de_base, cluster):
    # the reading that found the cluster at its baseline, when there was one (none in read-only runs)
    attach_snapshot("état de référence", request.node.stash.get(BASELINE_SNAPSHOT, None) or cluster.snapshot())


@when(ROLE(r"on vérifie sur le serveur (?P<role>maître|esclave) que les ressources sont bien activées"),
      target_fixture="verification")
def verifier_ressources(cluster, client_ftp, role) -> ResourcesSeen:
    xml, _ = cluster.crm_mon()
    seen = {n.name: node_seen(cluster, n) for n in cluster.nodes.values()}
    try:
        home, server = client_ftp.listing_and_server(".")
        return ResourcesSeen(xml, seen, tuple(home), "", server, node_for(cluster, role).name)
    except FTPUnavailable as exc:
        return ResourcesSeen(xml, seen, None, exc.what, None, node_for(cluster, role).name)


@then(ROLE(r"les ressources sont activées sur le serveur (?P<role>maître|esclave)"))
def ressources_activees(verification, cluster, lignes, role):
    lignes.judge(checks.resources_active, replace(verification, on=node_for(cluster, role).name))


@when(ROLE(r"le serveur (?P<role>maître|esclave) est mis en « standby »"), target_fixture="mouvement")
def mise_en_standby(cluster, pannes, role) -> Movement:
    node = node_for(cluster, role)
    fault = pannes.start(Standby(cluster, node))
    return Movement(fault.started_at, cluster.peer(node).name, f"standby de {node.name}")


@when(ROLE(r"le serveur (?P<role>maître|esclave) est remis « online »"), target_fixture="mouvement")
def remise_online(cluster, pannes, role) -> Movement:
    node = node_for(cluster, role)
    fault = pannes.find(Standby, node)
    if fault is None:  # the scenario did not put it in standby itself: bring it online all the same
        fault = Standby(cluster, node)
        fault.injected = True
    fault.heal()
    return Movement(fault.heal_started_at, node.name, f"retour online de {node.name}")


def move_towards(cluster, sonde, mouvement: Movement, role: str):
    """Wait for the move towards the node the Then step names (the wait and the verdict use the
    same condition, facts.placement.move_problems)."""
    return await_move(cluster, sonde, mouvement, node_for(cluster, role).name, FAILOVER_DEADLINE)


@then(ROLE(r"les ressources sont arrêtées sur le serveur (?P<role>maître|esclave) et activées sur le serveur (?P<role2>maître|esclave)"))
def ressources_migrees(cluster, sonde, mouvement, lignes, role, role2):
    if node_for(cluster, role).name == node_for(cluster, role2).name:
        pytest.fail("ligne mal écrite : le même serveur est nommé deux fois", pytrace=False)
    lignes.judge(checks.moved, move_towards(cluster, sonde, mouvement, role2))


@then(ROLE(r"les ressources sont de nouveau activées sur le serveur (?P<role>maître|esclave)( \(auto-failback\))?"))
def ressources_revenues(cluster, sonde, mouvement, lignes, role):
    lignes.judge(checks.moved, move_towards(cluster, sonde, mouvement, role))
