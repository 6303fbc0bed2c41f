"""The lab's test tables, completed with what was observed, as Markdown and HTML under reports/.

Columns exactly as the lab prints them: « Actions à effectuer | Résultats attendus | Résultats
obtenus | Statut ». Rows come from the scenarios' steps (the When step is the action, the Then step
the expected result), in the order they ran.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from functools import cache
from pathlib import Path

import allure
from jinja2 import Environment, PackageLoader, StrictUndefined, pass_eval_context, select_autoescape
from markupsafe import Markup

from bascule.record.rows import Row

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_LINE_BREAK = re.compile(r"\r\n?|\n")

COLUMNS = ("Actions à effectuer", "Résultats attendus", "Résultats obtenus", "Statut")
COLOURS = {"OK": "#d4edda", "KO": "#f8d7da", "inconnu": "#fff3cd", "non exécuté": "#e2e3e5"}  # a status's cell


# --- the templates (bascule/reporting/templates) ---------------------------------------------------


def markdown_cell(text) -> str:
    """Text for a Markdown table's cell: its pipes escaped, its line breaks made spaces (a row is one
    line, and a pipe would end the cell)."""
    return _LINE_BREAK.sub(" ", str(text)).replace("|", "\\|")


@pass_eval_context
def _escaped_as_ever(eval_ctx, value):
    """In an HTML template, each value escaped by html.escape, as the pages were before the templates
    (' is &#x27; and " &quot;, where MarkupSafe writes &#39; and &#34;): the same page, byte for
    byte. Autoescaping then leaves it as it is; Markdown templates are not escaped at all."""
    if eval_ctx.autoescape and not hasattr(value, "__html__"):
        return Markup(html.escape(str(value)))
    return value


@cache
def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("bascule.reporting", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        finalize=_escaped_as_ever,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = markdown_cell
    return env


def render(template: str, **context) -> str:
    """One of the report templates: *.html.j2 autoescaped, *.md.j2 as it is (`cell` for table cells)."""
    return _templates().get_template(template).render(**context)


@dataclass
class CompletedTable:
    title: str = "bascule — tableaux de tests complétés"
    cluster: str = ""
    rows: list[Row] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)  # e.g. {"Q2 bascule": "14,2 s"}
    stopped: str = ""  # why the run stopped before its end ("" when it ran to the end)
    date: str = ""  # when the run began, « 2026-11-27 14:05 »
    repaired: list[str] = field(default_factory=list)  # what --remettre-en-etat repaired before the first row
    timelines: dict[str, str] = field(default_factory=dict)  # scenario -> its timeline PNG, relative to the tables
    trends: dict[str, str] = field(default_factory=dict)  # move -> its last nights' PNG (--bascule-tendance)
    versions: dict[str, str] = field(default_factory=dict)  # the cluster's software (pacemaker, corosync, …)

    def add(self, row: Row) -> None:
        # tools on the nodes colour their messages (crmsh's ERROR): keep the words, not the escapes
        self.rows.append(replace(row, observed=_ANSI.sub("", row.observed).replace("\n", " ").strip()))

    def tables(self) -> dict[str, list[Row]]:
        out: dict[str, list[Row]] = {}
        for r in self.rows:
            out.setdefault(r.table, []).append(r)
        return out

    def counts(self) -> dict[str, int]:
        c: dict[str, int] = {}
        for r in self.rows:
            c[r.status] = c.get(r.status, 0) + 1
        return c

    # -- Markdown and HTML: templates/table.md.j2 and table.html.j2 ------------------------------
    def _context(self) -> dict:
        """What both templates show: the run's facts, then each table with its rows."""
        sections = [
            {
                "name": table,
                "rows": rows,
                "several_scenarios": len({r.scenario for r in rows}) > 1,
                "timelines": [
                    (s, self.timelines[s]) for s in dict.fromkeys(r.scenario for r in rows) if self.timelines.get(s)
                ],
            }
            for table, rows in self.tables().items()
        ]
        return {
            "title": self.title,
            "cluster": self.cluster,
            "date": self.date or datetime.now().strftime("%Y-%m-%d %H:%M"),
            "versions": self.versions,
            "counts": sorted(self.counts().items()),
            "stopped": self.stopped,
            "repaired": self.repaired,
            "columns": COLUMNS,
            "tables": sections,
            "figures": self.figures,
            "trends": self.trends,
            "colours": COLOURS,
        }

    def markdown(self) -> str:
        return render("table.md.j2", **self._context())

    def html(self) -> str:
        return render("table.html.j2", **self._context())

    def write(self, directory: str | Path) -> dict[str, Path]:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        paths = {
            "md": d / "tableau-de-tests.md",
            "html": d / "tableau-de-tests.html",
            "json": d / "tableau-de-tests.json",
        }
        paths["md"].write_text(self.markdown(), encoding="utf-8")
        paths["html"].write_text(self.html(), encoding="utf-8")
        paths["json"].write_text(
            json.dumps(
                {
                    "cluster": self.cluster,
                    "date": self.date,
                    "figures": self.figures,
                    "stopped": self.stopped,
                    "repaired": self.repaired,
                    "timelines": self.timelines,
                    "trends": self.trends,
                    "versions": self.versions,
                    "rows": [asdict(r) for r in self.rows],
                },
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )
        return paths


# --- Allure ----------------------------------------------------------------------------------------


def attach_text(name: str, text: str, xml: bool = False) -> None:
    """Attach text to the current Allure step (a no-op when Allure is not recording)."""
    try:
        kind = allure.attachment_type.XML if xml else allure.attachment_type.TEXT
        allure.attach(text, name=name, attachment_type=kind)
    except Exception:  # noqa: BLE001 - outside a BDD test or without allure: nothing to attach to
        pass  # outside a BDD test or without allure: nothing to attach to


def attach_snapshot(label: str, snapshot) -> None:
    """crm_mon XML and DRBD status of a cluster snapshot, as Allure attachments."""
    if snapshot.crm_mon_xml:
        attach_text(f"crm_mon XML — {label}", snapshot.crm_mon_xml, xml=True)
    drbd = "\n".join(f"== {node} ==\n{text}" for node, text in snapshot.drbd_text.items())
    attach_text(f"DRBD — {label}", drbd)


def allure_figure(figure) -> str:
    """A row's figure (judging.verdict.Figure) as Allure shows it: seconds to a tenth."""
    return f"{figure.seconds:.1f}"


def allure_parameter(name: str, value: str) -> None:
    try:
        allure.dynamic.parameter(name, value)
    except Exception:  # noqa: BLE001 - outside a BDD test or without allure: nothing to set
        pass


def slug(label: str, limit: int = 120) -> str:
    """A file name from a French label: ASCII, lower case, words joined by « - »."""
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_label.lower()).strip("-")[:limit]


def save_snapshot(directory, label: str, snapshot) -> None:
    """Keep a snapshot's raw crm_mon XML and DRBD text under reports/captures/ (test fixtures are
    taken from there)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    base = name = slug(label)
    # two scenarios can make the same fault (kill -9 proftpd with and without its restart
    # prevented): the second one's snapshot goes beside the first one's, not over it
    taken, n = {p.name.split(".")[0] for p in d.iterdir()}, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    if snapshot.crm_mon_xml:
        (d / f"{name}.crm_mon.xml").write_text(snapshot.crm_mon_xml, encoding="utf-8")
    for node, text in snapshot.drbd_text.items():
        (d / f"{name}.{node}.drbd.txt").write_text(text, encoding="utf-8")
