"""Steps of the configuration: save and restore (Q6/Q7) and conformance to the lab's final
`crm configure show`."""
from __future__ import annotations

import shlex

from pytest_bdd import then, when

from bascule.judging import checks
from bascule.judging.facts.configuration import SAVE_FILE, configuration_xml
from bascule.judging.conformance import normalise
from bascule.cluster.nodes import quote
from bascule.judging.observations import ConfigurationLine, RestoreSeen, SaveSeen
from bascule.reporting.report import attach_text
from bascule.waits import WaitTimeout


# --- save and restore (Q6, Q7) -----------------------------------------------------------------

@when("on sauvegarde la configuration avec crm configure save", target_fixture="sauvegarde")
def sauvegarder(cluster) -> SaveSeen:
    res = cluster.master.run(f"rm -f {SAVE_FILE}; crm configure save {SAVE_FILE} && cat {SAVE_FILE}", timeout=60, check=False)
    attach_text("sauveha.conf", res.stdout)
    return SaveSeen(res.ok, res.stdout if res.ok else "", "" if res.ok else (res.stderr or res.stdout).strip()[-200:])


@then("la sauvegarde contient toute la configuration du cluster")
def sauvegarde_complete(sauvegarde, tableau):
    tableau.judge(checks.save_complete, sauvegarde, stop=True)  # Q7 would restore nothing


@when("on supprime des ressources et des contraintes puis on restaure avec crm configure load update",
      target_fixture="restauration")
def supprimer_et_restaurer(cluster, inventaire) -> RestoreSeen:
    master = cluster.master
    r = inventaire.resources
    before = cluster.cib("configuration")
    deleted = []
    # a running resource cannot be deleted: stop the MySQL clone first, as a student would
    master.run(quote("crm", "resource", "stop", r.mysql_clone), timeout=60)
    cluster.wait_state(f"{r.mysql_clone} stopped", lambda s: not s.where(r.mysql_clone), deadline=180, interval=2)
    cfg = configuration_xml(before)
    constraints = [c.get("id") for c in cfg.findall(".//rsc_order") + cfg.findall(".//rsc_colocation")
                   if c.get("rsc") == r.ftp or c.get("then") == r.ftp][:2]
    for rid in [r.mysql_clone] + constraints:
        master.run(quote("crm", "configure", "delete", "--force", rid) + f" || crm configure delete {shlex.quote(rid)}", timeout=60)
        deleted.append(rid)
    after_delete = configuration_xml(cluster.cib("configuration"))
    still = tuple(rid for rid in deleted if after_delete.find(f".//*[@id='{rid}']") is not None)
    res = master.run(f"crm configure load update {SAVE_FILE}", timeout=120, check=False)
    restored = cluster.cib("configuration")
    attach_text("configuration après restauration", restored, xml=False)
    back, wait_error = None, ""
    if res.ok and not still:
        try:
            # its own failures only: another resource's failure meanwhile (an IPFailover monitor
            # under load, seen on Debian 13) is the audit's to report, not a clone that did not restart
            back = round(cluster.wait_state(f"{r.mysql_clone} started again on both nodes",
                                            lambda s: len(s.where(r.mysql_clone)) == 2 and not s.failures_of(r.mysql_clone),
                                            deadline=240, interval=2).elapsed, 1)
        except WaitTimeout as exc:
            wait_error = exc.last_seen
    return RestoreSeen(before, tuple(deleted), still, res.ok, "" if res.ok else (res.stderr or res.stdout).strip()[-200:],
                       restored, r.mysql_clone, back, wait_error)


@then("la configuration restaurée est identique à la configuration sauvegardée")
def restauration_identique(restauration, tableau):
    tableau.judge(checks.restore_identical, restauration)


# --- conformance to the lab's configuration ------------------------------------------------------

@when("on lit la configuration du cluster (crm configure show)", target_fixture="configuration")
def lire_configuration(cluster) -> str:
    show = cluster.master.run("crm configure show 2>/dev/null", timeout=60, check=False).stdout
    attach_text("crm configure show", show)
    return cluster.cib("configuration")


@then("elle contient chacun de ces éléments du Coté Labo :")
def contient(configuration, inventaire, tableau, datatable):
    """One row of the report per element of the lab, every element checked even when one is KO."""
    results = []
    for (line,) in datatable[1:]:
        lab_line = normalise(line, inventaire)
        results.append(tableau.judge(checks.configuration_line, ConfigurationLine(lab_line, configuration),
                                     expected=lab_line, raise_=False))
    tableau.conclude(results)
