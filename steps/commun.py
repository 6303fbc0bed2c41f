"""Steps shared by every feature: the baseline, standby/online, the resources' placement.

Steps only call: they act through the library (bascule.cluster), and hand the typed observation it
returns to a check of bascule.judging.checks through `lignes.judge`. No step builds a verdict, an
observation or a figure itself.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from pytest_bdd import given, parsers, then, when

from bascule.cluster.cluster import resources_seen
from bascule.cluster.faults import Standby
from bascule.cluster.moves import Movement, await_move, away_from, back_online
from bascule.judging import checks
from bascule.record.observations import MoveSeen, ResourcesSeen

ROLE = parsers.re  # steps name nodes by their role in the lab: « maître » or « esclave »
FAILOVER_DEADLINE = 360  # under emulation a clean reboot moves everything in up to 4 min (measured 235 s)


def node_for(cluster, role: str):
    return cluster.master if role == "maître" else cluster.slave


@given("le cluster dans son état de référence")
def etat_de_reference(ligne_de_base, pieces_jointes):
    pieces_jointes.reference_state()


@when(
    ROLE(r"on vérifie sur le serveur (?P<role>maître|esclave) que les ressources sont bien activées"),
    target_fixture="verification",
)
def verifier_ressources(cluster, client_ftp, role) -> ResourcesSeen:
    return resources_seen(cluster, client_ftp, node_for(cluster, role))


@then(ROLE(r"les ressources sont activées sur le serveur (?P<role>maître|esclave)"))
def ressources_activees(verification, cluster, lignes, role):
    lignes.judge(checks.resources_active, replace(verification, on=node_for(cluster, role).name))


@when(ROLE(r"le serveur (?P<role>maître|esclave) est mis en « standby »"), target_fixture="mouvement")
def mise_en_standby(cluster, pannes, role) -> Movement:
    return away_from(cluster, pannes.start(Standby(cluster, node_for(cluster, role))), "standby")


@when(ROLE(r"le serveur (?P<role>maître|esclave) est remis « online »"), target_fixture="mouvement")
def remise_online(cluster, pannes, role) -> Movement:
    return back_online(cluster, pannes, node_for(cluster, role))


def move_towards(cluster, sonde, mouvement: Movement, role: str) -> MoveSeen:
    """Wait for the move towards the node the Then step names (the wait and the verdict use the
    same condition, facts.placement.move_problems)."""
    return await_move(cluster, sonde, mouvement, node_for(cluster, role).name, FAILOVER_DEADLINE)


@then(
    ROLE(
        r"les ressources sont arrêtées sur le serveur (?P<role>maître|esclave) et activées sur le serveur "
        r"(?P<role2>maître|esclave)"
    )
)
def ressources_migrees(cluster, sonde, mouvement, lignes, role, role2):
    if node_for(cluster, role).name == node_for(cluster, role2).name:
        pytest.fail("ligne mal écrite : le même serveur est nommé deux fois", pytrace=False)
    lignes.judge(checks.moved, move_towards(cluster, sonde, mouvement, role2))


@then(ROLE(r"les ressources sont de nouveau activées sur le serveur (?P<role>maître|esclave)( \(auto-failback\))?"))
def ressources_revenues(cluster, sonde, mouvement, lignes, role):
    lignes.judge(checks.moved, move_towards(cluster, sonde, mouvement, role))
