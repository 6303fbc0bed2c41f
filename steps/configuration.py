"""Steps of the configuration: save and restore (Q6/Q7) and conformance to the lab's final
`crm configure show`."""
from __future__ import annotations

import shlex

from pytest_bdd import then, when

from bascule.checks import Result, secs
from bascule.conformance import check_line, config_differences, configuration_xml, normalise
from bascule.nodes import quote
from bascule.report import attach_text
from bascule.waits import WaitTimeout


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
