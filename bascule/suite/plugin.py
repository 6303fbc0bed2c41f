"""bascule's pytest plugin: options, fixtures and the baseline guard.

`pytest features/` runs against the embedded lab (brought up through python-vagrant);
`pytest features/ --inventory lab.toml` against an existing cluster. Problems in the user's setup
end the run with one line (no traceback). After every scenario the cluster is brought back to its
baseline, or the run stops saying what is left broken.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from pytest_bdd.scenario import scenario_wrapper_template_registry

from bascule.cluster.cluster import Cluster
from bascule.cluster.ftp import FTPClient
from bascule.cluster.nodes import COMMAND_TIME, quote
from bascule.errors import BasculeError, InventoryError
from bascule.inventory import load, public
from bascule.lab.embedded import EmbeddedLab
from bascule.record.history import INFO, RUN, History
from bascule.reporting import trend
from bascule.reporting.table import CompletedTable, attach_snapshot, save_snapshot
from bascule.suite.interruption import catch_interruptions, complete_the_table
from bascule.suite.plain_rows import write_row
from bascule.suite.plan import Plan, keys_of
from bascule.suite.stash import HISTORY, INTERRUPTED_BY, INVENTORY, REPORT, STARTED, run_date, stop_run
from bascule.waits import ACCOUNTING, PROGRESS

# the plugin's other parts: the rows of the table, and what surrounds each scenario
pytest_plugins = ["bascule.suite.rows", "bascule.suite.scenario"]


def _real_stderr():
    """A copy of fd 2 taken when pytest loads this plugin, before it captures the output: progress
    lines (a wait, a lab phase) go there and show as they happen, on a terminal or in a CI log."""
    try:
        return os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
    except OSError:
        return None


PROGRESS.stream = _real_stderr()


def _owned_elsewhere(option: str) -> bool:
    """Whether another installed pytest plugin registers this option name: pytest-ansible owns
    --inventory, and pytest refuses to start when two plugins add one name."""
    return option == "--inventory" and importlib.util.find_spec("pytest_ansible") is not None


def _add(group, name: str, alias: str | None, **kwargs) -> None:
    """An option under its French --bascule- name, its former name kept as an alias when free."""
    names = [name] + ([alias] if alias and not _owned_elsewhere(alias) else [])
    try:
        group.addoption(*names, **kwargs)
    except ValueError:  # the alias was taken after all (a plugin loaded before this one)
        group.addoption(name, **kwargs)


def pytest_addoption(parser):
    g = parser.getgroup("bascule", "bascule: tests de recette du lab « Haute disponibilité d'un serveur FTP »")
    _add(
        g,
        "--bascule-inventaire",
        "--inventory",
        dest="bascule_inventaire",
        metavar="FICHIER",
        default=None,
        help="inventaire TOML d'un cluster existant (sans lui : le lab embarqué à deux VM) ; aussi dans le "
        "fichier ini : bascule_inventaire = lab.toml",
    )
    parser.addini(
        "bascule_inventaire",
        "inventaire TOML du cluster à tester (comme --bascule-inventaire), relatif au fichier ini",
        default="",
    )
    _add(
        g,
        "--bascule-rapports",
        "--bascule-reports",
        dest="bascule_rapports",
        metavar="DOSSIER",
        default="reports",
        help="où vont les tableaux de tests complétés et l'historique (par défaut reports/)",
    )
    _add(
        g,
        "--bascule-lab-xx",
        "--lab-xx",
        dest="bascule_lab_xx",
        metavar="XX",
        default="01",
        help="numéro du lab embarqué : nœuds intralabXX et hdintralabXX (par défaut 01)",
    )
    _add(
        g,
        "--bascule-debian",
        "--debian",
        dest="bascule_debian",
        metavar="N",
        default=None,
        help="version de Debian du lab embarqué : 12 ou 13 ; sans elle, celle du lab existant, sinon 12. "
        "Un lab d'une autre version doit d'abord être arrêté (bascule lab arreter)",
    )
    g.addoption(
        "--bascule-tendance",
        metavar="FICHIER",
        default=None,
        help="ajoute les chiffres de la série (durées des bascules, indisponibilités FTP, verdicts) à FICHIER "
        "(lignes JSON) et montre les dernières nuits de chaque bascule dans le tableau HTML",
    )
    g.addoption(
        "--bascule-groupe",
        metavar="NOM",
        default="",
        help="le groupe d'étudiants de ce cluster (bascule classe le donne), dans le fichier de tendance",
    )
    g.addoption(
        "--bascule-lecture-seule",
        action="store_true",
        default=False,
        help="lit le cluster sans rien y changer (bascule verifier, avec -m conformite) : ni sonde, ni audit, "
        "ni remise en état après le scénario ; une ligne d'état de départ KO n'arrête pas la conformité",
    )
    _add(
        g,
        "--bascule-remettre-en-etat",
        "--remettre-en-etat",
        dest="bascule_remettre_en_etat",
        action="store_true",
        default=False,
        help="ramène à son état de référence un cluster trouvé ailleurs avant la première ligne (le tableau dit "
        "ce qui a été réparé) ; sans elle, une telle série s'arrête après « État du cluster au départ »",
    )


def inventory_path(config) -> str | None:
    """The inventory named on the command line, else in the ini file (relative to it), else None
    (the embedded lab)."""
    given = config.getoption("bascule_inventaire", None)
    if given is not None:
        return given
    try:
        ini = config.getini("bascule_inventaire")
    except ValueError:
        return None
    if not ini:
        return None
    path = Path(ini).expanduser()
    return str(path if path.is_absolute() or config.inipath is None else Path(config.inipath).parent / path)


# the run's config, for the one hook pytest calls without it (pytest_keyboard_interrupt)
_CONFIG: dict = {}


def pytest_configure(config):
    _CONFIG["config"] = config
    for tag, what in (
        ("q2", "tableau Q2 (DRBD + système de fichiers)"),
        ("q5", "tableau Q5 (FTP)"),
        ("supplementaire", "tests supplémentaires de la remarque après Q5"),
        ("splitbrain", "document 3"),
        ("sauvegarde", "Q6/Q7"),
        ("conformite", "configuration finale"),
        ("lent", "scénario long (redémarrage, coupure)"),
    ):
        config.addinivalue_line("markers", f"{tag}: {what}")
    config.stash[HISTORY] = History()
    config.stash[REPORT] = CompletedTable(date=run_date())
    path = inventory_path(config) if _runs_features(config) or config.getoption("bascule_inventaire", None) else None
    if path is not None:  # an empty path (an unset shell variable) is an error, never the embedded lab
        try:
            config.stash[INVENTORY] = load(path)
        except BasculeError as exc:
            raise pytest.UsageError(f"bascule: {exc}") from None


def _clear_last_run(config) -> None:
    """A run that stops early must not leave the previous run's table for a student to hand in. Only a
    run that will run scenarios clears them: listing them (--co), --help, --markers or --version keep
    the last night's reports, and so do the project's own tests, run meanwhile."""
    out = Path(config.getoption("bascule_rapports", "reports") or "reports")
    for old in (
        "tableau-de-tests.md",
        "tableau-de-tests.html",
        "tableau-de-tests.json",
        "historique.jsonl",
        "durees.json",
    ):
        try:
            (out / old).unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
            pass
    # this run's snapshots only (two of them with one name are told apart by a suffix)
    shutil.rmtree(out / "captures", ignore_errors=True)


def _runs_scenarios(config) -> bool:
    """Whether this pytest will run the lab's scenarios: not when it only lists them or their fixtures."""
    looks_only = ("collectonly", "setupplan", "showfixtures", "show_fixtures_per_test")
    return _runs_features(config) and not any(getattr(config.option, name, False) for name in looks_only)


def _runs_features(config) -> bool:
    """Whether this pytest runs the lab's scenarios (features/), not the project's own tests."""
    return any("features" in Path(str(a).split("::")[0]).parts for a in config.args)


# --- session fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def labo_embarque(request):
    """The embedded lab, when no --inventory was given (else None)."""
    if INVENTORY in request.config.stash:
        return None
    try:
        return EmbeddedLab(
            xx=request.config.getoption("bascule_lab_xx"), debian=request.config.getoption("bascule_debian")
        )
    except BasculeError as exc:
        stop_run(exc, request.config)


@pytest.fixture(scope="session")
def inventaire(request, labo_embarque):
    if labo_embarque is None:
        return request.config.stash[INVENTORY]
    try:
        return labo_embarque.up(check_ftp=False, as_found=True)  # the start-state row judges it
    except BasculeError as exc:
        stop_run(exc, request.config)


@pytest.fixture(scope="session")
def hyperviseur(labo_embarque):
    """What cuts the embedded lab's power and cables from outside (None on an existing cluster: the
    inventory's commands, or the node itself, do it)."""
    return labo_embarque.hypervisor if labo_embarque is not None else None


@pytest.fixture(scope="session")
def historique(request):
    """The run's history, saved at the end of the session (pytest_sessionfinish)."""
    return request.config.stash[HISTORY]


@pytest.fixture(scope="session")
def cluster(request, inventaire, historique):
    captures = Path(request.config.getoption("bascule_rapports")) / "captures"

    def keep_snapshot(label: str, snapshot) -> None:
        attach_snapshot(label, snapshot)
        save_snapshot(captures, label, snapshot)

    c = Cluster(inventaire, historique, keep_snapshot=keep_snapshot)
    try:
        for node in c.nodes.values():
            node.require_tools("crm", "crm_mon", "drbdadm")
        check_vip(c)
    except BasculeError as exc:
        stop_run(exc, request.config)
    report = request.config.stash[REPORT]
    report.cluster = f"{c.master.name} (maître) + {c.slave.name}, VIP {c.inv.vip}"
    historique.append(
        RUN, "bascule", "start", INFO, {"date": report.date, "cluster": report.cluster, "inventory": public(inventaire)}
    )
    yield c
    c.close()


def check_vip(cluster) -> None:
    """The inventory's VIP must be the address that IPFailover carries: otherwise every FTP row
    would fail for a typo in the inventory, not for the cluster."""
    rid = cluster.inv.resources.ip
    res = cluster.master.run(quote("crm_resource", "--resource", rid, "--get-parameter", "ip"), timeout=60, check=False)
    configured = res.stdout.strip().splitlines()[-1].strip() if res.ok and res.stdout.strip() else None
    if configured is None:
        raise InventoryError(
            f"inventaire {cluster.inv.source} : le cluster n'a pas de ressource {rid} avec un paramètre ip",
            "donner à ip dans [resources] l'id de la ressource IPaddr2 (crm configure show)",
        )
    if configured != cluster.inv.vip:
        raise InventoryError(
            f"inventaire {cluster.inv.source} : vip vaut {cluster.inv.vip} dans [cluster], mais "
            f"{rid} porte {configured}",
            f'mettre vip = "{configured}" dans [cluster]',
        )


@pytest.fixture(scope="session")
def client_ftp(inventaire):
    return FTPClient.for_inventory(inventaire)


@pytest.fixture(scope="session")
def tableau_de_tests(request):
    return request.config.stash[REPORT]


# --- per scenario ------------------------------------------------------------------------------

# --- pytest-bdd hooks: which step is the action, which is the expected result ------------------


def pytest_sessionstart(session):
    session.config.stash[STARTED] = time.monotonic()
    config = session.config
    if not _runs_scenarios(config):
        return
    _clear_last_run(config)
    catch_interruptions(config)
    if INVENTORY not in config.stash:
        # the target must never be a surprise: without an inventory, bascule builds and starts VMs
        _say(
            config,
            "bascule: pas d'inventaire (--bascule-inventaire) : la série porte sur le lab embarqué, ses "
            "deux VM sont démarrées ou réutilisées (bascule lab demarrer) ; pour un cluster existant : "
            "--bascule-inventaire mon-lab.toml",
        )


def _say(config, *lines: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for line in lines:
        if reporter is not None:
            reporter.write_line(line, bold=True)
        else:
            print(line, file=sys.stderr)


def pytest_collection_finish(session):
    """Before the first fault, what the selected scenarios are going to do to the cluster."""
    config = session.config
    if not _runs_scenarios(config) or not session.items:
        return
    inv = config.stash.get(INVENTORY, None)
    who = f"{inv.master.name} (maître) + {inv.slave.name}, VIP {inv.vip}" if inv is not None else "du lab embarqué"
    words = []
    for item in session.items:
        template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))
        stem = {Path(template.feature.filename).stem} if template is not None else set()
        words.append(set(item.keywords) | stem)
    _say(config, *Plan(who, keys_of(words), read_only=config.getoption("bascule_lecture_seule")).lines())


def _write_durations(session) -> None:
    """Wall time, time spent waiting on the cluster, time in node commands outside waits: what
    bench/suite_timings.py prints."""
    report = session.config.stash.get(REPORT, None)
    if report is None or not (report.rows or report.stopped):
        return
    out = Path(session.config.getoption("bascule_rapports"))
    out.mkdir(parents=True, exist_ok=True)
    wall = time.monotonic() - session.config.stash[STARTED]
    (out / "durees.json").write_text(
        json.dumps(
            {
                "wall_s": round(wall, 1),
                "waiting_on_cluster_s": round(ACCOUNTING.waited, 1),
                "node_commands_outside_waits_s": round(COMMAND_TIME.seconds, 1),
                "session_epoch": [round(time.time() - wall, 3), round(time.time(), 3)],
                "figures": session.config.stash[REPORT].figures,
                # every node command: [epoch start, end, node, first word, inside a wait]
                "commands": COMMAND_TIME.spans,
            },
            ensure_ascii=False,
            indent=None,
        )
    )


@pytest.hookimpl(trylast=True)  # after pytest has torn the fixtures down: faults healed, the last audit written
def pytest_sessionfinish(session, exitstatus):
    _write_durations(session)
    report = session.config.stash.get(REPORT, None)
    if report is None or not (report.rows or report.stopped):
        return
    if INTERRUPTED_BY in session.config.stash:
        history = session.config.stash.get(HISTORY, None)
        complete_the_table(session, report, lambda row: write_row(report, history, row))
        if history is not None:
            history.append(RUN, "bascule", "stopped", INFO, report.stopped)
    history = session.config.stash.get(HISTORY, None)
    if history is not None and history.events:
        history.save_jsonl(Path(session.config.getoption("bascule_rapports")) / "historique.jsonl")
        _trend(session.config, report, history)
    if session.exitstatus == 0 and any(r.status in ("KO", "inconnu") for r in report.rows):
        # a KO outside any test (the start-state row, with --remettre-en-etat) still fails the run
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    paths = report.write(session.config.getoption("bascule_rapports"))
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    if tr:
        tr.write_line(f"bascule: tableau de tests complété → {paths['md']} et {paths['html']}")


def _trend(config, report: CompletedTable, history) -> None:
    """--bascule-tendance: append this run's record, and plot each move's last nights into the table."""
    path = config.getoption("bascule_tendance", None)
    if not path:
        return
    try:
        trend.append(path, trend.record_of(list(history.events), config.getoption("bascule_groupe", "")))
        out = Path(config.getoption("bascule_rapports"))
        for label, png in trend.plot(trend.load(path), out / "tendance").items():
            report.trends[label] = str(png.relative_to(out))
    except (OSError, ValueError, KeyError) as exc:
        report.figures["tendance"] = f"non mise à jour : {exc}"


def pytest_exception_interact(node, call, report):
    """A BasculeError inside a test is the user's setup speaking: one line is enough."""
    exc = call.excinfo.value if call.excinfo else None
    if isinstance(exc, BasculeError):
        report.longrepr = f"bascule: {exc}"


@pytest.hookimpl(trylast=True)
def pytest_keyboard_interrupt(excinfo):
    """A run bascule stopped (stop_run: « bascule: … ») ends on bascule's own line: pytest's terminal
    reporter would frame it as « !!! _pytest.outcomes.Exit: … !!! ». Its report of the interruption is
    replaced, for this exception only, by the line itself."""
    exc = excinfo.value
    if not (isinstance(exc, pytest.exit.Exception) and str(exc.msg).startswith("bascule: ")):
        return
    config = _CONFIG.get("config")
    reporter = config.pluginmanager.get_plugin("terminalreporter") if config is not None else None
    if reporter is not None:
        reporter._report_keyboardinterrupt = lambda: reporter.write_line(exc.msg, red=True, bold=True)
