"""Steps of the configuration: save and restore (Q6/Q7) and conformance to the lab's final
`crm configure show`."""

from __future__ import annotations

from pytest_bdd import then, when

from bascule.cluster.configuration import (
    ConfigurationDeletion,
    ConfigurationRead,
    read_configuration,
    save_configuration,
)
from bascule.judging import checks
from bascule.judging.conformance import lab_lines
from bascule.record.observations import ConfigurationLine, RestoreSeen, SaveSeen

# --- save and restore (Q6, Q7) -----------------------------------------------------------------


@when("on sauvegarde la configuration avec crm configure save", target_fixture="sauvegarde")
def sauvegarder(cluster, pieces_jointes) -> SaveSeen:
    seen = save_configuration(cluster)
    pieces_jointes.saved(seen)
    return seen


@then("la sauvegarde contient toute la configuration du cluster")
def sauvegarde_complete(sauvegarde, lignes):
    lignes.judge(checks.save_complete, sauvegarde, stop=True)  # Q7 would restore nothing


@when(
    "on supprime des ressources et des contraintes puis on restaure avec crm configure load update",
    target_fixture="restauration",
)
def supprimer_et_restaurer(cluster, pannes, pieces_jointes) -> RestoreSeen:
    seen = pannes.start(ConfigurationDeletion(cluster)).restore()
    pieces_jointes.restored(seen)
    return seen


@then("la configuration restaurée est identique à la configuration sauvegardée")
def restauration_identique(restauration, lignes):
    lignes.judge(checks.restore_identical, restauration)


# --- conformance to the lab's configuration ------------------------------------------------------


@when("on lit la configuration du cluster (crm configure show)", target_fixture="configuration")
def lire_configuration(cluster, pieces_jointes) -> ConfigurationRead:
    seen = read_configuration(cluster)
    pieces_jointes.shown(seen)
    return seen


@then("elle contient chacun de ces éléments du Coté Labo :")
def contient(configuration, inventaire, lignes, datatable):
    """One row of the report per element of the lab, every element checked even when one is KO."""
    lignes.conclude(
        [
            lignes.judge(
                checks.configuration_line, ConfigurationLine(line, configuration.cib), expected=line, raise_=False
            )
            for line in lab_lines(datatable, inventaire)
        ]
    )
