"""Around each scenario: the state of the cluster found at the start of the run, the baseline
before the scenario, its faults healed and the audit after it, the FTP probe in between, and the
scenario's timeline.
"""

from __future__ import annotations

import sys
from pathlib import Path

import allure
import pytest

from bascule.cluster.evidence import ftp_side, serving_node
from bascule.cluster.faults import Faults
from bascule.cluster.ftp import Probe
from bascule.cluster.recovery import audit_after, ftp_access, restore_baseline, settle
from bascule.cluster.witnesses import FtpWitnesses, NodeWrites
from bascule.errors import BasculeError, BaselineError, RepairIncomplete
from bascule.facts.placement import baseline_problems
from bascule.judging.checks import audit, audit_config_changes, start_state
from bascule.judging.verdict import Verdict
from bascule.record.history import INFO, RUN
from bascule.record.observations import StartState
from bascule.reporting.table import CompletedTable, attach_text, slug
from bascule.reporting.timeline import draw
from bascule.suite.attachments import Attachments
from bascule.suite.rows import RowJudge
from bascule.suite.stash import (
    AUDITED_CONFIG,
    BASELINE_SNAPSHOT,
    FAULTS,
    INTERRUPTED_BY,
    ROW_START,
    SCENARIO,
    AuditedConfig,
    stop_run,
)

START_TABLE = "État du cluster au départ"
CONFIG_STILL_FRESH = 30.0  # seconds after an audit during which its reading of the configuration stands


START_ACTION = (
    "Lire le cluster avant tout test : crm_mon, DRBD sur chaque nœud, contraintes, connexion et écriture FTP sur la VIP"
)


START_EXPECTED = (
    "Le cluster est dans son état de référence : deux nœuds en ligne, rien en maintenance, aucune action en "
    "échec, DRBD Connected UpToDate/UpToDate, ms-drbd0 promu et toutes les ressources sur le maître, aucune "
    "contrainte étrangère au lab, FTP utilisable sur la VIP"
)


AUDIT_ACTION = "Après le scénario : bascule défait ses propres pannes et audite le cluster"


AUDIT_EXPECTED = "Le cluster revient à son état de référence sans autre réparation"


@pytest.fixture(scope="session")
def etat_au_depart(request, cluster, historique, tableau_de_tests, inventaire):
    """« État du cluster au départ »: the cluster is judged as found, before any row. Nothing is
    repaired unless --bascule-remettre-en-etat asks for it, and then the table says what was repaired.
    A cluster that starts away from its baseline (or an FTP account that cannot log in and write)
    stops the run here: the lab's rows are not run on a cluster that starts broken, and no fault is
    injected into it."""
    table = RowJudge(request, tableau_de_tests, historique, inventaire)
    _versions(request.config, cluster, tableau_de_tests)

    def look():
        reading = cluster.reading()
        access = ftp_access(cluster) if reading.crm_mon_xml is not None else None
        failed = access is not None and (not access.logged_in or not access.wrote)
        # why the account could not log in or write, read on the node that serves (read only)
        return StartState(reading, access, ftp_side(cluster, serving_node(cluster)) if failed else None)

    found = look()
    first = table.judge(
        start_state, found, raise_=False, table=START_TABLE, action=START_ACTION, expected=START_EXPECTED
    )
    attach_text(
        f"{START_TABLE} : {first.verdict.value}",
        first.observed + (f"\n\nPour corriger : {first.fix}" if first.fix else ""),
    )
    if first.verdict is Verdict.OK or request.config.getoption("bascule_lecture_seule"):
        return first  # read only: the configuration is judged all the same, nothing is repaired
    if found.ftp is not None and found.ftp.login_refused:
        # the inventory's password, not the cluster: no repair can mend it
        stop_run(
            BaselineError(f"état du cluster au départ {first.verdict.value} : {first.observed}", first.fix),
            request.config,
        )
    if not request.config.getoption("bascule_remettre_en_etat"):
        stop_run(
            BaselineError(
                f"état du cluster au départ {first.verdict.value} : {first.observed}",
                (
                    first.fix + " ; ou relancer avec --bascule-remettre-en-etat"
                    if first.fix
                    else "réparer le cluster, ou relancer avec --bascule-remettre-en-etat"
                )
                + " (les lignes du lab ne sont pas exécutées sur un cluster qui part cassé)",
            ),
            request.config,
        )

    def said(repairs) -> None:
        tableau_de_tests.repaired = [f"{r.what} (vu : {r.why})" for r in repairs]
        historique.append(RUN, "bascule", "repaired", INFO, tableau_de_tests.repaired)

    try:
        repairs, _ = restore_baseline(cluster, deadline=420)
    except RepairIncomplete as exc:
        said(exc.repairs)  # what bascule changed is told even when it did not suffice
        stop_run(BaselineError(f"--bascule-remettre-en-etat : {exc.what}", exc.fix), request.config)
    except BasculeError as exc:
        stop_run(BaselineError(f"--bascule-remettre-en-etat : {exc.what}", exc.fix), request.config)
    said(repairs)
    again = table.judge(
        start_state,
        look(),
        raise_=False,
        table=START_TABLE,
        action="Après --bascule-remettre-en-etat : relire le cluster",
        expected=START_EXPECTED,
    )
    if again.verdict is not Verdict.OK:
        stop_run(
            BaselineError(
                f"après --bascule-remettre-en-etat, le cluster n'est toujours pas dans son état de référence : "
                f"{again.observed}",
                again.fix or "réparer le cluster à la main",
            ),
            request.config,
        )
    return again


def _versions(config, cluster, report: CompletedTable) -> None:
    """The cluster's versions, in the table's header and in Allure's environment widget (with the
    report's name: the lab and the cluster)."""
    try:
        report.versions = cluster.versions()
    except BasculeError as exc:
        report.versions = {"versions": f"illisibles ({exc.what})"}
    cluster.history.append(RUN, "bascule", "versions", INFO, report.versions)  # a re-judged table has them too
    alluredir = getattr(config.option, "allure_report_dir", None)
    if alluredir:
        env = {"cluster": report.cluster or cluster.inv.vip, **report.versions}
        lines = [f"{k}={str(v).replace(chr(10), ' ')}" for k, v in env.items()]
        try:
            Path(alluredir).mkdir(parents=True, exist_ok=True)
            (Path(alluredir) / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")
        except OSError:
            pass  # the environment widget is a bonus


@pytest.fixture
def sonde(client_ftp, historique, inventaire):
    """The scenario's background FTP probe: it runs from the scenario's first row to its audit
    (ligne_de_base starts and stops it), so that an outage outside a move is seen too."""
    probe = Probe(client_ftp, historique, f"{inventaire.ftp.documents}/bascule-sonde")
    yield probe
    probe.stop()


@pytest.fixture
def ligne_de_base(request, cluster, etat_au_depart, tableau_de_tests, historique, inventaire, sonde):
    """Before the scenario: the cluster must be at its baseline (the start-state row judged the
    first scenario's; the audit of the previous scenario brought it back for the others). After it:
    bascule undoes its own faults (the `pannes` fixture) and audits the cluster: any other repair is
    a row of the scenario's table. The FTP probe runs in between, through the audit's repairs.
    Read only (--bascule-lecture-seule): none of this, the scenario only reads the cluster."""
    if request.config.getoption("bascule_lecture_seule"):
        request.node.stash[FAULTS] = Faults()
        request.node.stash[ROW_START] = historique.now()
        yield
        return
    # one reading of the whole cluster (crm_mon and DRBD at once); it is the « état de référence »
    # attachment too. Only a cluster away from its baseline is waited for.
    found = cluster.snapshot()
    problems = (
        baseline_problems(found.state, found.drbd, inventaire) if found.state is not None else ["crm_mon illisible"]
    )
    if problems:
        found = None
        try:
            problems, _ = settle(cluster, deadline=120)
        except BasculeError as exc:
            problems = [str(exc)]
    request.node.stash[BASELINE_SNAPSHOT] = found
    if problems:
        stop_run(
            BaselineError(
                "avant le scénario : le cluster n'est pas dans son état de référence : " + " ; ".join(problems),
                "voir la ligne d'audit du scénario précédent",
            ),
            request.config,
        )
    # the configuration the previous scenario's audit has just read, unchanged, stands for this one's
    # « before » (one cibadmin less); otherwise it is read
    audited = request.config.stash.get(AUDITED_CONFIG, None)
    fresh = audited is not None and historique.now() - audited.at < CONFIG_STILL_FRESH
    config_before = audited.text if fresh else cluster.cib("configuration")
    injected = Faults()
    request.node.stash[FAULTS] = injected
    begun = request.node.stash[ROW_START] = historique.now()
    sonde.start()
    yield
    seen = audit_after(cluster, injected, config_before)
    sonde.stop()
    result = RowJudge(request, tableau_de_tests, historique, inventaire).judge(
        audit, seen, raise_=False, action=AUDIT_ACTION, expected=AUDIT_EXPECTED
    )
    _timeline(request, tableau_de_tests, historique, begun)
    if INTERRUPTED_BY in request.config.stash:
        return  # the run ends here anyway: the audit row says what bascule undid, the table's top why it ended
    unchanged = not (seen.error or seen.baseline_after or audit_config_changes(seen))
    request.config.stash[AUDITED_CONFIG] = (
        AuditedConfig(seen.config_after, historique.now()) if unchanged and seen.config_after else None
    )
    if not unchanged:
        # the next scenarios would judge another cluster than the one found
        stop_run(
            BaselineError(
                f"après le scénario : {result.observed}",
                "le réparer à la main (crm status, cat /proc/drbd), puis relancer",
            ),
            request.config,
        )
    if result.verdict is not Verdict.OK:
        pytest.fail(f"audit KO : {result.observed}", pytrace=False)


def _timeline(request, report: CompletedTable, history, since: float) -> None:
    """The scenario's timeline (bascule.reporting.timeline): a PNG under reports/timelines/, attached to the
    scenario in Allure, embedded in the HTML table; its place goes on the history for `rejuger`."""
    item = request.node
    scenario = item.stash.get(SCENARIO, item.name)
    out = Path(request.config.getoption("bascule_rapports")) / "timelines" / f"{slug(scenario) or 'scenario'}.png"
    try:
        path = draw(list(history.events), since, history.now(), scenario, out)
    except Exception as exc:  # noqa: BLE001 - a picture is a bonus: the rows do not depend on it
        report.timelines[scenario] = ""
        print(f"bascule: timeline of « {scenario} » not drawn: {exc}", file=sys.stderr)
        return
    relative = str(path.relative_to(Path(request.config.getoption("bascule_rapports"))))
    report.timelines[scenario] = relative
    history.append(RUN, "bascule", "timeline", "ok", {"scenario": scenario, "path": relative})
    try:
        allure.attach.file(str(path), name=f"chronologie — {scenario}", attachment_type=allure.attachment_type.PNG)
    except Exception:  # noqa: BLE001 - outside a BDD test or without allure: nothing to attach to
        pass


@pytest.fixture
def pannes(request, ligne_de_base, cluster):
    """Faults injected by the scenario; each is healed at teardown, even after a failure, before
    the audit of ligne_de_base looks at the cluster."""
    injected = request.node.stash[FAULTS]
    yield injected
    errors = injected.heal_all()
    if errors:
        stop_run(
            BaselineError("une panne n'a pas pu être défaite : " + " ; ".join(errors), "réparer le cluster à la main"),
            request.config,
        )


@pytest.fixture
def fichiers_temoins() -> FtpWitnesses:
    """Witness files written through the FTP client by the scenario."""
    return FtpWitnesses()


@pytest.fixture
def ecritures() -> NodeWrites:
    """Files written on a node's /home by the scenario (the lab's touch)."""
    return NodeWrites()


@pytest.fixture
def pieces_jointes(request, cluster) -> Attachments:
    """What the scenario's steps show in Allure beside their rows."""
    return Attachments(request, cluster)
