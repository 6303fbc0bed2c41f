"""The rows of the lab's table: each judged by its check, recorded, and the scenario's verdict.

A KO row does not stop its scenario (the table is only useful complete); « inconnu » does; a step
that fails leaves its row and the rows after it written (« non exécuté »), so the table stays whole.
"""

from __future__ import annotations

import allure
import pytest

from bascule.facts.client_view import SHOWN_PHASES, window_sequence
from bascule.facts.windows import downtime_windows
from bascule.judging.judge import judge_live, judged, record_row
from bascule.judging.verdict import Result, Verdict
from bascule.record.rows import Row
from bascule.reporting.table import CompletedTable, allure_figure, allure_parameter, attach_text
from bascule.suite.lab_words import in_lab_words, then_rows
from bascule.suite.plain_rows import write_row
from bascule.suite.stash import (
    ACTION,
    FEATURE,
    HISTORY,
    KO_ROWS,
    NOW_RUNNING,
    REPORT,
    ROW_START,
    ROW_STEP,
    SCENARIO,
    STEP,
    STEP_FAILED,
)


class RowJudge:
    """Records the rows of the lab's table for the current scenario. Every row is judged here, by
    a check of bascule.judging.checks on a typed observation; the row, the check's name, the observation
    and the slice of the history it read go on the history, so that `bascule rejuger` judges the
    saved run again and gets the same table."""

    def __init__(self, request, report: CompletedTable, history=None, inventory=None):
        self.request = request
        self.report = report
        self.history = history if history is not None else request.config.stash.get(HISTORY, None)
        self.inventory = inventory

    def __repr__(self) -> str:
        return "RowJudge()"

    def _where(self, table: str | None, action: str | None, expected: str | None) -> Row:
        """The row the current step fills, in the lab's words."""
        item = self.request.node
        step = item.stash.get(STEP, None)
        if expected is None:
            expected = step.name if step is not None else "?"
        stash = item.stash  # the scenario's item, or the session for the start-state row
        feature = table if table is not None else stash.get(FEATURE, "")
        scenario = "" if table is not None else stash.get(SCENARIO, item.name)
        return in_lab_words(feature, scenario, action if action is not None else stash.get(ACTION, ""), expected)

    def judge(
        self,
        check,
        observation,
        since: float | None = None,
        expected: str | None = None,
        raise_: bool = True,
        stop: bool = False,
        table: str | None = None,
        action: str | None = None,
    ) -> Result:
        """Judge one row: check(observation, history since `since`, inventory). The check sees the
        observation and the events as a saved run will hold them (their JSON form)."""
        __tracebackhide__ = True
        if since is None:
            since = getattr(observation, "since", None)
        item = self.request.node
        row_since = item.stash.get(ROW_START, None)
        row = self._where(table, action, expected)
        inventory = self.inventory or self.request.getfixturevalue("inventaire")
        result = judge_live(self.history, check, observation, since, row_since, inventory, row)
        item.stash[ROW_START] = self.history.now()
        for figure in result.figures:  # the very figures of the row's cell (its check computed them once)
            allure_parameter(figure.name, allure_figure(figure))
        if result.verdict != Verdict.OK:
            _attach_outage_sequences(self.history, row_since if row_since is not None else since)
        self._add(judged(row, result))
        if raise_:
            self.conclude([result], stop=stop)
        return result

    def record(self, result: Result, expected: str | None = None, raise_: bool = True, stop: bool = False) -> Result:
        """A row whose verdict was not given by a check (a step that failed, a row not run): kept on
        the history as it is."""
        __tracebackhide__ = True
        row = judged(self._where(None, None, expected), result)
        record_row(self.history, row)
        self._add(row)
        if raise_:
            self.conclude([result], stop=stop)
        return result

    def _add(self, row: Row) -> None:
        self.report.add(row)
        item = self.request.node
        item.stash[ROW_STEP] = item.stash.get(STEP, None)

    def conclude(self, results: list[Result], stop: bool = False) -> None:
        """A KO row does not stop the scenario: the table is only useful complete (a cluster that
        keeps its data but does not fail back must show both), so the KO is shown as a failed
        Allure step and the scenario fails at its end. « inconnu » stops it: after a step that
        could not be judged, what follows cannot be either."""
        __tracebackhide__ = True
        verdict = Verdict.combine(r.verdict for r in results)
        result = (
            next((r for r in results if r.verdict is verdict), results[0])
            if results
            else Result.unknown("aucune ligne")
        )
        if verdict is Verdict.INCONNU and not any(r.verdict is Verdict.KO for r in results):
            raise Inconnu(result.observed)
        bad = [r.observed for r in results if r.verdict is not Verdict.OK]
        if bad and stop:
            pytest.fail("KO : " + " | ".join(bad), pytrace=False)
        if bad:
            self.request.node.stash.setdefault(KO_ROWS, []).extend(bad)
            _failed_allure_step("KO : " + " | ".join(bad))


def _attach_outage_sequences(history, since: float | None) -> None:
    """An outage whose cell sums its phases up by kind (facts/client_view.window_phases) is
    attached to Allure whole: every phase, in order."""
    if history is None:
        return
    events = history.since(since) if since is not None else list(history.events)
    for i, window in enumerate(w for w in downtime_windows(events) if len(w.phases) > SHOWN_PHASES):
        attach_text(f"indisponibilité {i + 1} : les {len(window.phases)} phases dans l'ordre", window_sequence(window))


def _failed_allure_step(text: str) -> None:
    """A red sub-step under the current Then step, which itself stays green as it did its job."""
    try:
        with allure.step(text[:300]):
            raise AssertionError(text)
    except AssertionError:
        pass


class Inconnu(Exception):
    """The suite could not decide: the row is « inconnu », never OK."""


@pytest.fixture
def lignes(request, tableau_de_tests):
    return RowJudge(request, tableau_de_tests)


def pytest_bdd_before_scenario(request, feature, scenario):
    request.node.stash[FEATURE] = feature.name
    request.node.stash[SCENARIO] = scenario.name
    request.config.stash[NOW_RUNNING] = request.node


def pytest_bdd_before_step(request, feature, scenario, step, step_func):
    request.node.stash[STEP] = step
    if step.type == "when":
        request.node.stash[ACTION] = step.name


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Once a scenario is over (its teardown too), an interruption falls between scenarios; an
    interruption inside it never gets here (it goes through this hook as an exception)."""
    done = yield
    item.config.stash[NOW_RUNNING] = None
    return done


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
    history = request.config.stash.get(HISTORY, None)
    action = request.node.stash.get(ACTION, "")

    def write(row: Row, observed: str, status: str) -> None:
        write_row(report, history, row.found(observed, status))

    if isinstance(exception, pytest.exit.Exception):
        # the run was stopped (a cluster that starts broken, one that did not come back): the
        # reason heads the table; this scenario's rows were not run
        for r in then_rows(steps[idx:], action, feature.name, scenario.name):
            if not (r.step is step and request.node.stash.get(ROW_STEP, None) is step):
                write(r.row, "non exécuté (série arrêtée : la raison est en tête du tableau)", "non exécuté")
        return
    verdict = "inconnu" if not isinstance(exception, AssertionError) else "KO"
    # a Then step that raised before it recorded its row: the row is still written
    if step.type == "then" and request.node.stash.get(ROW_STEP, None) is not step:
        write(
            in_lab_words(feature.name, scenario.name, action, step.name),
            f"la vérification n'a pas pu aller au bout : {exception}",
            verdict,
        )
    # a failure outside a Then step (the action itself failed): that row is KO or inconnu
    if step.type != "then":
        nxt = next((s for s in steps[idx + 1 :] if s.type == "then"), None)
        write(
            in_lab_words(feature.name, scenario.name, step.name, nxt.name if nxt else ""),
            f"l'action a échoué : {exception}",
            verdict,
        )
        idx = steps.index(nxt) if nxt else idx
    for r in then_rows(steps[idx + 1 :], action, feature.name, scenario.name):
        write(r.row, "non exécuté (une ligne précédente a échoué)", "non exécuté")
