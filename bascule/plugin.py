"""bascule's pytest plugin: options, fixtures and the baseline guard.

`pytest features/` runs against the embedded lab (brought up through python-vagrant);
`pytest features/ --inventory lab.toml` against an existing cluster. Problems in the user's setup
end the run with one line (no traceback). After every scenario the cluster is brought back to its
baseline, or the run stops saying what is left broken.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from .checks import Result, Verdict
from .errors import BasculeError, BaselineError
from .report import Report, Row

ACTION = pytest.StashKey[str]()
STEP = pytest.StashKey[object]()
ROWS_DONE = pytest.StashKey[int]()
KO_ROWS = pytest.StashKey[list]()  # observed results of the scenario's KO rows, failed at its end
STEP_FAILED = pytest.StashKey[bool]()


def pytest_addoption(parser):
    g = parser.getgroup("bascule", "bascule: acceptance tests of the HA FTP lab")
    g.addoption("--inventory", metavar="FILE", default=None,
                help="TOML inventory of an existing lab cluster (default: the embedded two-VM lab)")
    g.addoption("--lab-xx", metavar="XX", default="01",
                help="number of the embedded lab: nodes intralabXX and hdintralabXX (default 01)")
    g.addoption("--bascule-reports", metavar="DIR", default="reports",
                help="where the completed test tables and the history go (default reports/)")


def pytest_configure(config):
    for tag, what in (("q2", "tableau Q2 (DRBD + système de fichiers)"), ("q5", "tableau Q5 (FTP)"),
                      ("supplementaire", "tests supplémentaires de la remarque après Q5"),
                      ("splitbrain", "document 3"), ("sauvegarde", "Q6/Q7"), ("conformite", "configuration finale"),
                      ("lent", "scénario long (redémarrage, coupure)")):
        config.addinivalue_line("markers", f"{tag}: {what}")
    path = config.getoption("inventory", None)
    if path:
        from .inventory import load
        try:
            config.stash[INVENTORY] = load(path)
        except BasculeError as exc:
            raise pytest.UsageError(f"bascule: {exc}") from None


INVENTORY = pytest.StashKey[object]()


def _stop(exc: BaseException, config=None) -> None:
    """Stop the run with one line; the completed table (written at session end) says why too,
    so that a teacher who opens only the table does not take a short table for a passed lab."""
    __tracebackhide__ = True
    if config is not None:
        report = config.stash.get(REPORT, None)
        if report is None:
            report = config.stash[REPORT] = Report()
        report.stopped = str(exc)
    pytest.exit(f"bascule: {exc}", returncode=2)


# --- session fixtures --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def embedded_lab(request):
    """The embedded lab, when no --inventory was given (else None)."""
    if INVENTORY in request.config.stash:
        return None
    from .lab import EmbeddedLab
    return EmbeddedLab(xx=request.config.getoption("lab_xx"))


@pytest.fixture(scope="session")
def inventaire(request, embedded_lab):
    if embedded_lab is None:
        return request.config.stash[INVENTORY]
    try:
        return embedded_lab.up(check_ftp=False)  # FTP is the scenarios' to judge
    except BasculeError as exc:
        _stop(exc, request.config)


@pytest.fixture(scope="session")
def historique(request):
    from .history import History
    h = History()
    yield h
    out = Path(request.config.getoption("bascule_reports"))
    h.save_jsonl(out / "historique.jsonl")


@pytest.fixture(scope="session")
def cluster(request, inventaire, historique):
    from .cluster import Cluster
    c = Cluster(inventaire, historique)
    c.captures_dir = Path(request.config.getoption("bascule_reports")) / "captures"
    try:
        for node in c.nodes.values():
            node.require_tools("crm", "crm_mon", "drbdadm")
        check_vip(c)
    except BasculeError as exc:
        _stop(exc, request.config)
    yield c
    c.close()


def check_vip(cluster) -> None:
    """The inventory's VIP must be the address that IPFailover carries: otherwise every FTP row
    would fail for a typo in the inventory, not for the cluster."""
    from .errors import InventoryError
    from .nodes import quote
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
    from .ftp import FTPClient
    return FTPClient.for_inventory(inventaire)


@pytest.fixture(scope="session")
def rapport(request):
    r = request.config.stash.get(REPORT, None) or Report()
    request.config.stash[REPORT] = r
    return r


REPORT = pytest.StashKey[Report]()


# --- per scenario ------------------------------------------------------------------------------

@pytest.fixture
def ligne_de_base(request, cluster, embedded_lab, rapport):
    """The baseline guard: checked before the scenario, restored and checked after it."""
    from .recovery import restore_baseline
    rapport.cluster = f"{cluster.master.name} (maître) + {cluster.slave.name}, VIP {cluster.inv.vip}"
    try:
        restore_baseline(cluster, deadline=420)
    except BasculeError as exc:
        _stop(BaselineError(f"before the scenario: {exc.what}", exc.fix), request.config)
    yield
    try:
        restore_baseline(cluster, deadline=480)
    except BasculeError as exc:
        _stop(BaselineError(f"after the scenario: {exc.what}", exc.fix), request.config)


@pytest.fixture
def pannes(request, ligne_de_base, cluster):
    """Faults injected by the scenario; each is healed at teardown, even after a failure."""
    injected = []
    yield injected
    errors = []
    for fault in reversed(injected):
        try:
            fault.heal()
        except Exception as exc:  # keep healing the others; the baseline guard then judges
            errors.append(f"{fault.label}: {exc}")
    if errors:
        _stop(BaselineError("a fault could not be healed: " + "; ".join(errors), "repair the cluster by hand"),
              request.config)


class Table:
    """Records the rows of the lab's table for the current scenario."""

    def __init__(self, request, report: Report):
        self.request = request
        self.report = report

    def __repr__(self) -> str:
        return "Table()"

    def record(self, result: Result, expected: str | None = None, raise_: bool = True, stop: bool = False) -> Result:
        """Record the current Then step as a row and judge it (unless raise_ is False: a step with
        several rows records them all, then calls conclude()). stop: a KO here stops the scenario,
        for rows whose failure makes the next actions meaningless or harmful (restoring a save
        that failed, recovering a split brain that was not there)."""
        __tracebackhide__ = True
        item = self.request.node
        step = item.stash.get(STEP, None)
        if expected is None:
            expected = step.name if step is not None else "?"
        action = item.stash.get(ACTION, "")
        feature = getattr(item, "_bascule_feature", "")
        scenario = getattr(item, "_bascule_scenario", item.name)
        self.report.add(Row(feature, scenario, action, expected, result.observed, result.verdict.value, result.details))
        item.stash[ROWS_DONE] = item.stash.get(ROWS_DONE, 0) + 1
        if raise_:
            self.conclude([result], stop=stop)
        return result

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
    # a failure outside a Then step (the action itself failed): that row is KO or inconnu
    if step.type != "then":
        verdict = "inconnu" if not isinstance(exception, AssertionError) else "KO"
        nxt = next((s for s in steps[idx + 1:] if s.type == "then"), None)
        report.add(Row(feature.name, scenario.name, step.name, nxt.name if nxt else "",
                       f"l'action a échoué : {exception}", verdict))
        idx = steps.index(nxt) if nxt else idx
    action = request.node.stash.get(ACTION, "")
    for s in steps[idx + 1:]:
        if s.type == "when":
            action = s.name
        elif s.type == "then":
            report.add(Row(feature.name, scenario.name, action, s.name, "non exécuté (une ligne précédente a échoué)",
                           "non exécuté"))


def pytest_sessionstart(session):
    import time
    session.config.stash[STARTED] = time.monotonic()


STARTED = pytest.StashKey[float]()


def _write_durations(session) -> None:
    """Wall time, time spent waiting on the cluster, time in node commands outside waits: what
    bench/suite_timings.py prints."""
    import json
    import time
    from .nodes import COMMAND_TIME
    from .waits import ACCOUNTING
    if REPORT not in session.config.stash:
        return
    out = Path(session.config.getoption("bascule_reports"))
    out.mkdir(parents=True, exist_ok=True)
    wall = time.monotonic() - session.config.stash[STARTED]
    (out / "durees.json").write_text(json.dumps({
        "wall_s": round(wall, 1), "waiting_on_cluster_s": round(ACCOUNTING.waited, 1),
        "node_commands_outside_waits_s": round(COMMAND_TIME.seconds, 1),
        "figures": session.config.stash[REPORT].figures}, ensure_ascii=False, indent=1))


def pytest_sessionfinish(session, exitstatus):
    _write_durations(session)
    report = session.config.stash.get(REPORT, None)
    if report is None or not (report.rows or report.stopped):
        return
    paths = report.write(session.config.getoption("bascule_reports"))
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    if tr:
        tr.write_line(f"bascule: tableau de tests complété → {paths['md']} et {paths['html']}")


def pytest_exception_interact(node, call, report):
    """A BasculeError inside a test is the user's setup speaking: one line is enough."""
    exc = call.excinfo.value if call.excinfo else None
    if isinstance(exc, BasculeError):
        report.longrepr = f"bascule: {exc}"
