"""A run interrupted by Ctrl-C, or by SIGTERM (CI's timeout, a nightly job stopped), says so.

The faults are healed and the scenario's audit runs as after any scenario (pytest tears the
fixtures down at the end of the session); then the table says at its top that the run was
interrupted and where, the row in progress is « inconnu (interrompu) », every row not reached is
« non exécuté », and the tally counts them.
"""

from __future__ import annotations

import signal

from pytest_bdd.scenario import scenario_wrapper_template_registry

from bascule.reporting.table import CompletedTable
from bascule.suite.lab_words import then_rows
from bascule.suite.stash import ACTION, FEATURE, INTERRUPTED_BY, NOW_RUNNING, SCENARIO, STEP

NOT_RUN = "non exécuté (série interrompue)"


def catch_interruptions(config) -> None:
    """Ctrl-C and SIGTERM both become a KeyboardInterrupt that pytest handles (fixtures torn down,
    session finished), with which one it was noted for the table."""

    def interrupted(signum, _frame):
        if INTERRUPTED_BY not in config.stash:  # a second signal interrupts the healing: let it
            config.stash[INTERRUPTED_BY] = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM : arrêt demandé"
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(signum, interrupted)
        except ValueError:  # not the main thread (pytest run inside another program): pytest's own handling
            pass


def complete_the_table(session, report: CompletedTable, add_row) -> None:
    """The rows an interrupted run did not reach, and why the table ends there."""
    by = session.config.stash[INTERRUPTED_BY]
    item = session.config.stash.get(NOW_RUNNING, None)
    where = "avant le premier scénario"
    remaining = list(session.items)
    if item is not None:
        step = item.stash.get(STEP, None)
        scenario = item.stash.get(SCENARIO, item.name)
        where = f"pendant « {scenario} »" + (f", à l'étape « {step.name} »" if step is not None else "")
        _rest_of_scenario(item, by, add_row, report)
        remaining = remaining[remaining.index(item) + 1 :] if item in remaining else []
    for later in remaining:
        template = scenario_wrapper_template_registry.get(getattr(later, "obj", None))
        if template is None:
            continue
        for r in then_rows(template.steps, feature=template.feature.name, scenario=template.name):
            add_row(r.row.found(NOT_RUN, "non exécuté"))
    report.stopped = (
        f"série interrompue ({by}) {where} ; bascule a défait ses propres pannes (ligne d'audit du "
        f"scénario interrompu) ; les lignes suivantes n'ont pas été exécutées"
    )


def _rest_of_scenario(item, by: str, add_row, report: CompletedTable) -> None:
    """The row in progress is inconnu (interrompu); the scenario's later rows, non exécuté."""
    template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))
    if template is None:
        return
    steps = list(template.steps)
    current = item.stash.get(STEP, None)
    # by line: a scenario may repeat a step's words (Q5 tests FTP after each move)
    start = next((i for i, s in enumerate(steps) if current is not None and s.line_number == current.line_number), 0)
    scenario = item.stash.get(SCENARIO, item.name)
    feature = item.stash.get(FEATURE, "")
    then_texts = {r.row.expected for r in then_rows(steps, feature=feature)}  # not the audit's row, nor the start row
    thens_written = sum(1 for r in report.rows if r.scenario == scenario and r.expected in then_texts)
    if (
        current is not None
        and current.type == "then"
        and thens_written > sum(1 for s in steps[:start] if s.type == "then")
    ):
        start += 1  # its row was recorded before the interruption
    for n, r in enumerate(then_rows(steps[start:], item.stash.get(ACTION, ""), feature, scenario)):
        status, observed = ("inconnu", f"interrompu ({by}) pendant cette ligne") if n == 0 else ("non exécuté", NOT_RUN)
        add_row(r.row.found(observed, status))
