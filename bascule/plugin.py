"""bascule's pytest plugin: options, fixtures and the baseline guard.

`pytest features/` runs against the embedded lab (brought up through python-vagrant);
`pytest features/ --inventory lab.toml` against an existing cluster. Problems in the user's setup
end the run with one line (no traceback). After every scenario the cluster is brought back to its
baseline, or the run stops saying what is left broken.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from bascule.judging.verdict import Result, Verdict
from bascule.errors import BasculeError, BaselineError
from bascule.reporting.report import Report, Row, attach_text
from bascule.waits import PROGRESS

ACTION = pytest.StashKey[str]()
STEP = pytest.StashKey[object]()
ROWS_DONE = pytest.StashKey[int]()
KO_ROWS = pytest.StashKey[list]()  # observed results of the scenario's KO rows, failed at its end
STEP_FAILED = pytest.StashKey[bool]()


def _real_stderr():
    """A copy of fd 2 taken when pytest loads this plugin, before it captures the output: progress
    lines (a wait, a lab phase) go there and show as they happen, on a terminal or in a CI log."""
    try:
        return os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
    except OSError:
        return None


PROGRESS.stream = _real_stderr()


def pytest_addoption(parser):
    g = parser.getgroup("bascule", "bascule: acceptance tests of the HA FTP lab")
    g.addoption("--inventory", metavar="FILE", default=None,
                help="TOML inventory of an existing lab cluster (default: the embedded two-VM lab)")
    g.addoption("--lab-xx", metavar="XX", default="01",
                help="number of the embedded lab: nodes intralabXX and hdintralabXX (default 01)")
    g.addoption("--debian", metavar="N", default=None,
                help="Debian release of the embedded lab: 12 or 13; without it, the existing lab's release, else 12. "
                     "A lab of another release must be taken down first (`bascule lab down`)")
    g.addoption("--bascule-reports", metavar="DIR", default="reports",
                help="where the completed test tables and the history go (default reports/)")
    g.addoption("--bascule-tendance", metavar="FILE", default=None,
                help="append this run's figures (move times, FTP downtimes, verdicts) to FILE (JSON lines) and show "
                     "the last nights per move in the HTML table")
    g.addoption("--bascule-groupe", metavar="NAME", default="",
                help="the group this cluster belongs to (bascule classe sets it), in the trend file")
    g.addoption("--remettre-en-etat", action="store_true", default=False,
                help="bring a cluster found away from its baseline back to it before the first row (the table "
                     "then says what was repaired); without it, such a run stops after « État du cluster au départ »")


def pytest_configure(config):
    for tag, what in (("q2", "tableau Q2 (DRBD + système de fichiers)"), ("q5", "tableau Q5 (FTP)"),
                      ("supplementaire", "tests supplémentaires de la remarque après Q5"),
                      ("splitbrain", "document 3"), ("sauvegarde", "Q6/Q7"), ("conformite", "configuration finale"),
                      ("lent", "scénario long (redémarrage, coupure)")):
        config.addinivalue_line("markers", f"{tag}: {what}")
    # a run that stops early must not leave the previous run's table for a student to hand in (an
    # acceptance run only: the project's own tests, run meanwhile, must not wipe a run's reports)
    out = Path(config.getoption("bascule_reports", "reports") or "reports")
    acceptance = config.getoption("inventory", None) is not None or _runs_features(config)
    for old in (() if not acceptance else ("tableau-de-tests.md", "tableau-de-tests.html", "tableau-de-tests.json", "historique.jsonl", "durees.json")):
        try:
            (out / old).unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
            pass
    if acceptance:  # this run's snapshots only (two of them with one name are told apart by a suffix)
        import shutil
        shutil.rmtree(out / "captures", ignore_errors=True)
    from bascule.judging.history import History
    config.stash[HISTORY] = History()
    config.stash[REPORT] = Report(date=_now())
    path = config.getoption("inventory", None)
    if path is not None:  # an empty path (an unset shell variable) is an error, never the embedded lab
        from bascule.inventory import load
        try:
            config.stash[INVENTORY] = load(path)
        except BasculeError as exc:
            raise pytest.UsageError(f"bascule: {exc}") from None


INVENTORY = pytest.StashKey[object]()


def _runs_features(config) -> bool:
    """Whether this pytest runs the lab's scenarios (features/), not the project's own tests."""
    return any("features" in Path(str(a).split("::")[0]).parts for a in config.args)
HISTORY = pytest.StashKey[object]()


def _now() -> str:
    from datetime import datetime
    return f"{datetime.now():%Y-%m-%d %H:%M}"


def _stop(exc: BaseException, config=None) -> None:
    """Stop the run with one line; the completed table (written at session end) says why too,
    so that a teacher who opens only the table does not take a short table for a passed lab."""
    __tracebackhide__ = True
    if config is not None:
        report = config.stash.get(REPORT, None)
        if report is None:
            report = config.stash[REPORT] = Report(date=_now())
        report.stopped = str(exc)
        history = config.stash.get(HISTORY, None)
        if history is not None:
            from bascule.judging.history import RUN, INFO
            history.append(RUN, "bascule", "stopped", INFO, str(exc))
    pytest.exit(f"bascule: {exc}", returncode=2)


# --- session fixtures --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def embedded_lab(request):
    """The embedded lab, when no --inventory was given (else None)."""
    if INVENTORY in request.config.stash:
        return None
    from bascule.lab.embedded import EmbeddedLab
    try:
        return EmbeddedLab(xx=request.config.getoption("lab_xx"), debian=request.config.getoption("debian"))
    except BasculeError as exc:
        _stop(exc, request.config)


@pytest.fixture(scope="session")
def inventaire(request, embedded_lab):
    if embedded_lab is None:
        return request.config.stash[INVENTORY]
    try:
        return embedded_lab.up(check_ftp=False, as_found=True)  # the start-state row judges it
    except BasculeError as exc:
        _stop(exc, request.config)


@pytest.fixture(scope="session")
def historique(request):
    """The run's history, saved at the end of the session (pytest_sessionfinish)."""
    return request.config.stash[HISTORY]


@pytest.fixture(scope="session")
def cluster(request, inventaire, historique):
    from bascule.cluster.cluster import Cluster
    c = Cluster(inventaire, historique)
    c.captures_dir = Path(request.config.getoption("bascule_reports")) / "captures"
    try:
        for node in c.nodes.values():
            node.require_tools("crm", "crm_mon", "drbdadm")
        check_vip(c)
    except BasculeError as exc:
        _stop(exc, request.config)
    from bascule.judging.history import INFO, RUN
    from bascule.inventory import public
    report = request.config.stash[REPORT]
    report.cluster = f"{c.master.name} (maître) + {c.slave.name}, VIP {c.inv.vip}"
    historique.append(RUN, "bascule", "start", INFO, {"date": report.date, "cluster": report.cluster,
                                                      "inventory": public(inventaire)})
    yield c
    c.close()


def check_vip(cluster) -> None:
    """The inventory's VIP must be the address that IPFailover carries: otherwise every FTP row
    would fail for a typo in the inventory, not for the cluster."""
    from bascule.errors import InventoryError
    from bascule.cluster.nodes import quote
    rid = cluster.inv.resources.ip
    res = cluster.master.run(quote("crm_resource", "--resource", rid, "--get-parameter", "ip"), timeout=60, check=False)
    configured = res.stdout.strip().splitlines()[-1].strip() if res.ok and res.stdout.strip() else None
    if configured is None:
        raise InventoryError(f"inventory {cluster.inv.source}: the cluster has no resource {rid} with an ip parameter",
                             "set [resources] ip to the id of the IPaddr2 resource (crm configure show)")
    if configured != cluster.inv.vip:
        raise InventoryError(f"inventory {cluster.inv.source}: cluster.vip is {cluster.inv.vip} but {rid} carries {configured}",
                             f"set vip = \"{configured}\" in [cluster]")


@pytest.fixture(scope="session")
def noeud_maitre(cluster):
    """The preferred master (intralabXX)."""
    return cluster.master


@pytest.fixture(scope="session")
def noeud_esclave(cluster):
    """The slave (hdintralabXX)."""
    return cluster.slave


@pytest.fixture(scope="session")
def client_ftp(inventaire):
    from bascule.cluster.ftp import FTPClient
    return FTPClient.for_inventory(inventaire)


@pytest.fixture(scope="session")
def rapport(request):
    return request.config.stash[REPORT]


REPORT = pytest.StashKey[Report]()


# --- per scenario ------------------------------------------------------------------------------

START_TABLE = "État du cluster au départ"
START_ACTION = "Lire le cluster avant tout test : crm_mon, DRBD sur chaque nœud, contraintes, connexion et écriture FTP sur la VIP"
START_EXPECTED = ("Le cluster est dans son état de référence : deux nœuds en ligne, rien en maintenance, aucune action en "
                  "échec, DRBD Connected UpToDate/UpToDate, ms-drbd0 promu et toutes les ressources sur le maître, aucune "
                  "contrainte étrangère au lab, FTP utilisable sur la VIP")
AUDIT_ACTION = "Après le scénario : bascule défait ses propres pannes et audite le cluster"
AUDIT_EXPECTED = "Le cluster revient à son état de référence sans autre réparation"


@pytest.fixture(scope="session")
def etat_au_depart(request, cluster, historique, rapport, inventaire):
    """« État du cluster au départ »: the cluster is judged as found, before any row. Nothing is
    repaired unless --remettre-en-etat asks for it, and then the table says what was repaired.
    A cluster that starts away from its baseline (or an FTP account that cannot log in and write)
    stops the run here: the lab's rows are not run on a cluster that starts broken, and no fault is
    injected into it."""
    from bascule.judging.checks import start_state
    from bascule.judging.observations import StartState
    from bascule.cluster.recovery import ftp_access, restore_baseline
    table = Table(request, rapport, historique, inventaire)
    _versions(request.config, cluster, rapport)

    def look():
        reading = cluster.reading()
        return StartState(reading, ftp_access(cluster) if reading.crm_mon_xml is not None else None)
    found = look()
    first = table.judge(start_state, found, raise_=False, table=START_TABLE, action=START_ACTION,
                        expected=START_EXPECTED)
    attach_text(f"{START_TABLE} : {first.verdict.value}", first.observed + (f"\n\nPour corriger : {first.fix}" if first.fix else ""))
    if first.verdict is Verdict.OK:
        return first
    if found.ftp is not None and found.ftp.login_refused:
        # the inventory's password, not the cluster: no repair can mend it
        _stop(BaselineError(f"état du cluster au départ {first.verdict.value} : {first.observed}", first.fix),
              request.config)
    if not request.config.getoption("remettre_en_etat"):
        _stop(BaselineError(f"état du cluster au départ {first.verdict.value} : {first.observed}",
                            (first.fix + " ; ou relancer avec --remettre-en-etat" if first.fix
                             else "réparer le cluster, ou relancer avec --remettre-en-etat")
                            + " (les lignes du lab ne sont pas exécutées sur un cluster qui part cassé)"),
              request.config)
    from bascule.errors import RepairIncomplete
    from bascule.judging.history import INFO, RUN

    def said(repairs) -> None:
        rapport.repaired = [f"{r.what} (vu : {r.why})" for r in repairs]
        historique.append(RUN, "bascule", "repaired", INFO, rapport.repaired)
    try:
        repairs, _ = restore_baseline(cluster, deadline=420)
    except RepairIncomplete as exc:
        said(exc.repairs)  # what bascule changed is told even when it did not suffice
        _stop(BaselineError(f"--remettre-en-etat : {exc.what}", exc.fix), request.config)
    except BasculeError as exc:
        _stop(BaselineError(f"--remettre-en-etat : {exc.what}", exc.fix), request.config)
    said(repairs)
    again = table.judge(start_state, look(), raise_=False, table=START_TABLE,
                        action="Après --remettre-en-etat : relire le cluster", expected=START_EXPECTED)
    if again.verdict is not Verdict.OK:
        _stop(BaselineError(f"après --remettre-en-etat, le cluster n'est toujours pas dans son état de référence : "
                            f"{again.observed}", again.fix or "réparer le cluster à la main"), request.config)
    return again


def _versions(config, cluster, report: Report) -> None:
    """The cluster's versions, in the table's header and in Allure's environment widget (with the
    report's name: the lab and the cluster)."""
    try:
        report.versions = cluster.versions()
    except BasculeError as exc:
        report.versions = {"versions": f"illisibles ({exc.what})"}
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
    from bascule.cluster.ftp import Probe
    probe = Probe(client_ftp, historique, f"{inventaire.ftp.documents}/bascule-sonde")
    yield probe
    probe.stop()


@pytest.fixture
def ligne_de_base(request, cluster, etat_au_depart, rapport, historique, inventaire, sonde):
    """Before the scenario: the cluster must be at its baseline (the start-state row judged the
    first scenario's; the audit of the previous scenario brought it back for the others). After it:
    bascule undoes its own faults (the `pannes` fixture) and audits the cluster: any other repair is
    a row of the scenario's table. The FTP probe runs in between, through the audit's repairs."""
    from bascule.cluster.recovery import audit_after, settle
    try:
        problems, _ = settle(cluster, deadline=120)
    except BasculeError as exc:
        problems = [str(exc)]
    if problems:
        _stop(BaselineError("before the scenario: the cluster is not at its baseline: " + "; ".join(problems),
                            "see the previous scenario's audit row"), request.config)
    config_before = cluster.cib("configuration")
    injected: list = []
    request.node.stash[FAULTS] = injected
    begun = request.node.stash[ROW_START] = historique.now()
    sonde.start()
    yield
    from bascule.judging.checks import audit, audit_config_changes
    seen = audit_after(cluster, injected, config_before)
    sonde.stop()
    result = Table(request, rapport, historique, inventaire).judge(
        audit, seen, raise_=False, action=AUDIT_ACTION, expected=AUDIT_EXPECTED)
    _timeline(request, rapport, historique, begun)
    if seen.error or seen.baseline_after or audit_config_changes(seen):
        # the next scenarios would judge another cluster than the one found
        _stop(BaselineError(f"after the scenario: {result.observed}",
                            "repair it by hand (crm status, cat /proc/drbd), then rerun"), request.config)
    if result.verdict is not Verdict.OK:
        pytest.fail(f"audit KO : {result.observed}", pytrace=False)


# when the row being judged began: the end of the previous row of the scenario, or its start
ROW_START = pytest.StashKey[float]()


def _timeline(request, report: Report, history, since: float) -> None:
    """The scenario's timeline (bascule.reporting.timeline): a PNG under reports/timelines/, attached to the
    scenario in Allure, embedded in the HTML table; its place goes on the history for `rejuger`."""
    from bascule.judging.history import RUN
    from bascule.reporting.report import slug
    from bascule.reporting.timeline import draw
    item = request.node
    scenario = getattr(item, "_bascule_scenario", item.name)
    out = Path(request.config.getoption("bascule_reports")) / "timelines" / f"{slug(scenario) or 'scenario'}.png"
    try:
        path = draw(list(history.events), since, history.now(), scenario, out)
    except Exception as exc:  # noqa: BLE001 - a picture is a bonus: the rows do not depend on it
        report.timelines[scenario] = ""
        print(f"bascule: timeline of « {scenario} » not drawn: {exc}", file=sys.stderr)
        return
    relative = str(path.relative_to(Path(request.config.getoption("bascule_reports"))))
    report.timelines[scenario] = relative
    history.append(RUN, "bascule", "timeline", "ok", {"scenario": scenario, "path": relative})
    try:
        import allure
        allure.attach.file(str(path), name=f"chronologie — {scenario}", attachment_type=allure.attachment_type.PNG)
    except Exception:
        pass


FAULTS = pytest.StashKey[list]()


@pytest.fixture
def pannes(request, ligne_de_base, cluster):
    """Faults injected by the scenario; each is healed at teardown, even after a failure, before
    the audit of ligne_de_base looks at the cluster."""
    injected = request.node.stash[FAULTS]
    yield injected
    errors = []
    for fault in reversed(injected):
        try:
            fault.heal()
        except Exception as exc:  # keep healing the others; the audit then judges
            errors.append(f"{fault.label}: {exc}")
    if errors:
        _stop(BaselineError("a fault could not be healed: " + "; ".join(errors), "repair the cluster by hand"),
              request.config)


class Table:
    """Records the rows of the lab's table for the current scenario. Every row is judged here, by
    a check of bascule.judging.checks on a typed observation; the row, the check's name, the observation
    and the slice of the history it read go on the history, so that `bascule rejuger` judges the
    saved run again and gets the same table."""

    def __init__(self, request, report: Report, history=None, inventory=None):
        self.request = request
        self.report = report
        self.history = history if history is not None else request.config.stash.get(HISTORY, None)
        self.inventory = inventory

    def __repr__(self) -> str:
        return "Table()"

    def _where(self, table: str | None, action: str | None, expected: str | None) -> tuple[str, str, str, str]:
        item = self.request.node
        step = item.stash.get(STEP, None)
        if expected is None:
            expected = step.name if step is not None else "?"
        return (table if table is not None else getattr(item, "_bascule_feature", ""),
                "" if table is not None else getattr(item, "_bascule_scenario", getattr(item, "name", "")),
                action if action is not None else item.stash.get(ACTION, ""), expected)

    def judge(self, check, observation, since: float | None = None, expected: str | None = None, raise_: bool = True,
              stop: bool = False, table: str | None = None, action: str | None = None) -> Result:
        """Judge one row: check(observation, history since `since`, inventory). The check sees the
        observation and the events as a saved run will hold them (their JSON form)."""
        __tracebackhide__ = True
        from bascule.judging.judge import RowPlace, judge_live
        if since is None:
            since = getattr(observation, "since", None)
        item = self.request.node
        row_since = item.stash.get(ROW_START, None) if hasattr(item, "stash") else None
        feature, scenario, act, exp = self._where(table, action, expected)
        inventory = self.inventory or self.request.getfixturevalue("inventaire")
        result = judge_live(self.history, check, observation, since, row_since, inventory,
                            RowPlace(feature, scenario, act, exp))
        if hasattr(item, "stash"):
            item.stash[ROW_START] = self.history.now()
        self._add(feature, scenario, act, exp, result)
        if raise_:
            self.conclude([result], stop=stop)
        return result

    def record(self, result: Result, expected: str | None = None, raise_: bool = True, stop: bool = False) -> Result:
        """A row whose verdict was not given by a check (a step that failed, a row not run): kept on
        the history as it is."""
        __tracebackhide__ = True
        feature, scenario, act, exp = self._where(None, None, expected)
        _plain_row_event(self.history, row_of(feature, scenario, act, exp, result))
        self._add(feature, scenario, act, exp, result)
        if raise_:
            self.conclude([result], stop=stop)
        return result

    def _add(self, feature: str, scenario: str, action: str, expected: str, result: Result) -> None:
        self.report.add(row_of(feature, scenario, action, expected, result))
        item = self.request.node
        if hasattr(item, "stash"):
            item.stash[ROWS_DONE] = item.stash.get(ROWS_DONE, 0) + 1
            item.stash[ROW_STEP] = item.stash.get(STEP, None)

    def conclude(self, results: list[Result], stop: bool = False) -> None:
        """A KO row does not stop the scenario: the table is only useful complete (a cluster that
        keeps its data but does not fail back must show both), so the KO is shown as a failed
        Allure step and the scenario fails at its end. « inconnu » stops it: after a step that
        could not be judged, what follows cannot be either."""
        __tracebackhide__ = True
        verdict = Verdict.combine(r.verdict for r in results)
        result = next((r for r in results if r.verdict is verdict), results[0]) if results else Result.unknown("aucune ligne")
        if verdict is Verdict.INCONNU and not any(r.verdict is Verdict.KO for r in results):
            raise Inconnu(result.observed)
        bad = [r.observed for r in results if r.verdict is not Verdict.OK]
        if bad and stop:
            pytest.fail("KO : " + " | ".join(bad), pytrace=False)
        if bad:
            self.request.node.stash.setdefault(KO_ROWS, []).extend(bad)
            _failed_allure_step("KO : " + " | ".join(bad))


ROW_STEP = pytest.StashKey[object]()


def row_of(table: str, scenario: str, action: str, expected: str, result: Result) -> Row:
    return Row(table, scenario, action, expected, result.observed, result.verdict.value, result.details,
               result.cause, result.fix)


def _failed_allure_step(text: str) -> None:
    """A red sub-step under the current Then step, which itself stays green as it did its job."""
    try:
        import allure
    except ImportError:
        return
    try:
        with allure.step(text[:300]):
            raise AssertionError(text)
    except AssertionError:
        pass


class Inconnu(Exception):
    """The suite could not decide: the row is « inconnu », never OK."""


@pytest.fixture
def tableau(request, rapport):
    return Table(request, rapport)


# --- pytest-bdd hooks: which step is the action, which is the expected result ------------------

def pytest_bdd_before_scenario(request, feature, scenario):
    request.node._bascule_feature = feature.name
    request.node._bascule_scenario = scenario.name


def pytest_bdd_before_step(request, feature, scenario, step, step_func):
    request.node.stash[STEP] = step
    if step.type == "when":
        request.node.stash[ACTION] = step.name


def pytest_bdd_after_scenario(request, feature, scenario):
    """The scenario fails when one of its rows was KO (unless a step already failed it)."""
    __tracebackhide__ = True
    bad = request.node.stash.get(KO_ROWS, [])
    if bad and not request.node.stash.get(STEP_FAILED, False):
        pytest.fail("KO : " + " | ".join(bad), pytrace=False)


def pytest_bdd_step_error(request, feature, scenario, step, step_func, step_func_args, exception):
    """Rows after the failing step are written as « non exécuté », so the table stays complete."""
    request.node.stash[STEP_FAILED] = True
    report = request.config.stash.get(REPORT, None)
    if report is None:
        return
    steps = list(scenario.steps)
    try:
        idx = steps.index(step)
    except ValueError:
        return
    if isinstance(exception, pytest.exit.Exception):
        # the run was stopped (a cluster that starts broken, one that did not come back): the
        # reason heads the table; this scenario's rows were not run
        action = request.node.stash.get(ACTION, "")
        for s in steps[idx:]:
            if s.type == "when":
                action = s.name
            elif s.type == "then" and not (s is step and request.node.stash.get(ROW_STEP, None) is step):
                _add_plain_row(request, report, feature.name, scenario.name, action, s.name,
                               "non exécuté (série arrêtée : la raison est en tête du tableau)", "non exécuté")
        return
    # a Then step that raised before it recorded its row: the row is still written
    if step.type == "then" and request.node.stash.get(ROW_STEP, None) is not step:
        verdict = "inconnu" if not isinstance(exception, AssertionError) else "KO"
        _add_plain_row(request, report, feature.name, scenario.name, request.node.stash.get(ACTION, ""), step.name,
                       f"la vérification n'a pas pu aller au bout : {exception}", verdict)
    # a failure outside a Then step (the action itself failed): that row is KO or inconnu
    if step.type != "then":
        verdict = "inconnu" if not isinstance(exception, AssertionError) else "KO"
        nxt = next((s for s in steps[idx + 1:] if s.type == "then"), None)
        _add_plain_row(request, report, feature.name, scenario.name, step.name, nxt.name if nxt else "",
                       f"l'action a échoué : {exception}", verdict)
        idx = steps.index(nxt) if nxt else idx
    action = request.node.stash.get(ACTION, "")
    for s in steps[idx + 1:]:
        if s.type == "when":
            action = s.name
        elif s.type == "then":
            _add_plain_row(request, report, feature.name, scenario.name, action, s.name,
                           "non exécuté (une ligne précédente a échoué)", "non exécuté")


def _add_plain_row(request, report: Report, table: str, scenario: str, action: str, expected: str, observed: str,
                   status: str) -> None:
    """A row that no check judged (an action that failed, a row not run)."""
    row = Row(table, scenario, action, expected, observed, status)
    _plain_row_event(request.config.stash.get(HISTORY, None), row)
    report.add(row)


def _plain_row_event(history, row: Row) -> None:
    from bascule.judging.judge import RowPlace, record_plain
    record_plain(history, RowPlace(row.table, row.scenario, row.action, row.expected), row.status, row.observed,
                 tuple(row.details), row.cause, row.fix)


def pytest_sessionstart(session):
    import time
    session.config.stash[STARTED] = time.monotonic()
    config = session.config
    if _runs_features(config) and INVENTORY not in config.stash and not config.option.collectonly:
        # the target must never be a surprise: without --inventory, bascule builds and starts VMs
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        line = ("bascule: pas d'inventaire (--inventory) : la série porte sur le lab embarqué, ses deux VM sont "
                "démarrées ou réutilisées (bascule lab up) ; pour un cluster existant : --inventory mon-lab.toml")
        if reporter is not None:
            reporter.write_line(line, bold=True)
        else:
            print(line, file=sys.stderr)


STARTED = pytest.StashKey[float]()


def _write_durations(session) -> None:
    """Wall time, time spent waiting on the cluster, time in node commands outside waits: what
    bench/suite_timings.py prints."""
    import json
    import time
    from bascule.cluster.nodes import COMMAND_TIME
    from bascule.waits import ACCOUNTING
    report = session.config.stash.get(REPORT, None)
    if report is None or not (report.rows or report.stopped):
        return
    out = Path(session.config.getoption("bascule_reports"))
    out.mkdir(parents=True, exist_ok=True)
    wall = time.monotonic() - session.config.stash[STARTED]
    (out / "durees.json").write_text(json.dumps({
        "wall_s": round(wall, 1), "waiting_on_cluster_s": round(ACCOUNTING.waited, 1),
        "node_commands_outside_waits_s": round(COMMAND_TIME.seconds, 1),
        "session_epoch": [round(time.time() - wall, 3), round(time.time(), 3)],
        "figures": session.config.stash[REPORT].figures,
        # every node command: [epoch start, end, node, first word, inside a wait]
        "commands": COMMAND_TIME.spans}, ensure_ascii=False, indent=None))


def pytest_sessionfinish(session, exitstatus):
    _write_durations(session)
    report = session.config.stash.get(REPORT, None)
    if report is None or not (report.rows or report.stopped):
        return
    history = session.config.stash.get(HISTORY, None)
    if history is not None and history.events:
        history.save_jsonl(Path(session.config.getoption("bascule_reports")) / "historique.jsonl")
        _trend(session.config, report, history)
    if session.exitstatus == 0 and any(r.status in ("KO", "inconnu") for r in report.rows):
        # a KO outside any test (the start-state row, with --remettre-en-etat) still fails the run
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    paths = report.write(session.config.getoption("bascule_reports"))
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    if tr:
        tr.write_line(f"bascule: tableau de tests complété → {paths['md']} et {paths['html']}")


def _trend(config, report: Report, history) -> None:
    """--bascule-tendance: append this run's record, and plot each move's last nights into the table."""
    path = config.getoption("bascule_tendance", None)
    if not path:
        return
    from bascule.reporting import trend
    try:
        trend.append(path, trend.record_of(list(history.events), config.getoption("bascule_groupe", "")))
        out = Path(config.getoption("bascule_reports"))
        for label, png in trend.plot(trend.load(path), out / "tendance").items():
            report.trends[label] = str(png.relative_to(out))
    except (OSError, ValueError, KeyError) as exc:
        report.figures["tendance"] = f"non mise à jour : {exc}"


def pytest_exception_interact(node, call, report):
    """A BasculeError inside a test is the user's setup speaking: one line is enough."""
    exc = call.excinfo.value if call.excinfo else None
    if isinstance(exc, BasculeError):
        report.longrepr = f"bascule: {exc}"
