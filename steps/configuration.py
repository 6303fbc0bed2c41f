"""Steps of the configuration: save and restore (Q6/Q7) and conformance to the lab's final
`crm configure show`."""
from __future__ import annotations

from pytest_bdd import then, when

from bascule.cluster.configuration import ConfigurationDeletion, read_configuration, save_configuration
from bascule.judging import checks
from bascule.judging.conformance import normalise
from bascule.facts.configuration import SAVE_FILE
from bascule.record.observations import ConfigurationLine, RestoreSeen, SaveSeen
from bascule.reporting.table import attach_text


# --- save and restore (Q6, Q7) -----------------------------------------------------------------

@when("on sauvegarde la configuration avec crm configure save", target_fixture="sauvegarde")
def sauvegarder(cluster) -> SaveSeen:
    seen, text = save_configuration(cluster)
    attach_text(SAVE_FILE.rsplit("/", 1)[-1], text)
    return seen


@then("la sauvegarde contient toute la configuration du cluster")
def sauvegarde_complete(sauvegarde, lignes):
    lignes.judge(checks.save_complete, sauvegarde, stop=True)  # Q7 would restore nothing


@when("on supprime des ressources et des contraintes puis on restaure avec crm configure load update",
      target_fixture="restauration")
def supprimer_et_restaurer(cluster, pannes) -> RestoreSeen:
    seen = pannes.start(ConfigurationDeletion(cluster)).restore()
    attach_text("configuration après restauration", seen.restored_xml, xml=False)
    return seen


@then("la configuration restaurée est identique à la configuration sauvegardée")
def restauration_identique(restauration, lignes):
    lignes.judge(checks.restore_identical, restauration)


# --- conformance to the lab's configuration ------------------------------------------------------

@when("on lit la configuration du cluster (crm configure show)", target_fixture="configuration")
def lire_configuration(cluster) -> str:
    show, cib = read_configuration(cluster)
    attach_text("crm configure show", show)
    return cib


@then("elle contient chacun de ces éléments du Coté Labo :")
def contient(configuration, inventaire, lignes, datatable):
    """One row of the report per element of the lab, every element checked even when one is KO."""
    results = []
    for (line,) in datatable[1:]:
        lab_line = normalise(line, inventaire)
        results.append(lignes.judge(checks.configuration_line, ConfigurationLine(lab_line, configuration),
                                     expected=lab_line, raise_=False))
    lignes.conclude(results)
