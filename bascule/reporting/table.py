"""The lab's test tables, completed with what was observed, as Markdown and HTML under reports/.

Columns exactly as the lab prints them: « Actions à effectuer | Résultats attendus | Résultats
obtenus | Statut ». Rows come from the scenarios' steps (the When step is the action, the Then step
the expected result), in the order they ran.
"""
from __future__ import annotations

import html
import re
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

COLUMNS = ("Actions à effectuer", "Résultats attendus", "Résultats obtenus", "Statut")


@dataclass(frozen=True)
class Row:
    table: str  # the feature (e.g. « Q2 — DRBD et système de fichiers »)
    scenario: str
    action: str
    expected: str
    observed: str
    status: str  # OK | KO | inconnu | non exécuté
    details: tuple[str, ...] = ()
    cause: str = ""  # the likely cause, when known
    fix: str = ""  # the lab's command that fixes it

    @property
    def new_details(self) -> tuple[str, ...]:
        """The details that the « Résultats obtenus » cell does not already say (a move's anatomy;
        not the start row's departures, which its text lists)."""
        return tuple(d for d in self.details if d not in self.observed)

    @property
    def observed_in_full(self) -> str:
        """The « Résultats obtenus » cell: what was seen, then the likely cause and its fix."""
        text = self.observed
        if self.cause:
            text += f" — cause probable : {self.cause}"
        if self.fix:
            text += f" — pour corriger : {self.fix}"
        return text


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
        from dataclasses import replace
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

    # -- Markdown ---------------------------------------------------------------------------------
    def markdown(self) -> str:
        def cell(s: str) -> str:
            return s.replace("|", "\\|").replace("\n", " ")
        out = [f"# {self.title}", ""]
        if self.cluster:
            out += [f"Cluster : {self.cluster}  ", f"Date : {self.date or datetime.now().strftime('%Y-%m-%d %H:%M')}", ""]
        if self.versions:
            out += ["Versions : " + ", ".join(f"{k} {v}" for k, v in self.versions.items()), ""]
        counts = self.counts()
        out += ["Bilan : " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), ""]
        if self.stopped:
            out += [f"**Exécution arrêtée avant la fin** : {self.stopped}", ""]
        if self.repaired:
            out += ["**Cluster remis en état par bascule avant le premier test (--remettre-en-etat)** : "
                    + " ; ".join(self.repaired), ""]
        for table, rows in self.tables().items():
            out += [f"## {table}", ""]
            out += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
            scenario = None
            for r in rows:
                if len({x.scenario for x in rows}) > 1 and r.scenario != scenario:
                    scenario = r.scenario
                    out.append(f"| **{cell(scenario)}** | | | |")
                out.append(f"| {cell(r.action)} | {cell(r.expected)} | {cell(r.observed_in_full)} | {cell(r.status)} |")
                out.extend(f"| ↳ | | {cell(d)} | |" for d in r.new_details)
            out.append("")
        if self.figures:
            out += ["## Mesures", ""] + [f"- {k} : {v}" for k, v in self.figures.items()] + [""]
        return "\n".join(out)

    # -- HTML -------------------------------------------------------------------------------------
    def html(self) -> str:
        e = html.escape
        colour = {"OK": "#d4edda", "KO": "#f8d7da", "inconnu": "#fff3cd", "non exécuté": "#e2e3e5"}
        parts = [
            "<!doctype html><html lang='fr'><head><meta charset='utf-8'>",
            f"<title>{e(self.title)}</title><style>body{{font-family:sans-serif;margin:2em}}"
            "table{border-collapse:collapse;margin-bottom:2em;width:100%}"
            "th,td{border:1px solid #999;padding:.4em;vertical-align:top;text-align:left}"
            "th{background:#eee}td.s{font-weight:bold;white-space:nowrap}tr.sc td{background:#f4f4f4;font-style:italic}"
            "tr.d td{font-size:.85em;color:#444;border-top:none}figure{margin:0 0 2em}figcaption{font-size:.9em;color:#555}"
            "</style></head><body>",
            f"<h1>{e(self.title)}</h1>",
        ]
        if self.cluster:
            parts.append(f"<p>Cluster : {e(self.cluster)} — {e(self.date or datetime.now().strftime('%Y-%m-%d %H:%M'))}</p>")
        if self.versions:
            parts.append("<p>Versions : " + e(", ".join(f"{k} {v}" for k, v in self.versions.items())) + "</p>")
        parts.append("<p>Bilan : " + e(", ".join(f"{k} {v}" for k, v in sorted(self.counts().items()))) + "</p>")
        if self.stopped:
            parts.append(f"<p style='background:#f8d7da;padding:.5em'><b>Exécution arrêtée avant la fin</b> : {e(self.stopped)}</p>")
        if self.repaired:
            parts.append("<p style='background:#fff3cd;padding:.5em'><b>Cluster remis en état par bascule avant le premier "
                         f"test (--remettre-en-etat)</b> : {e(' ; '.join(self.repaired))}</p>")
        for table, rows in self.tables().items():
            parts.append(f"<h2>{e(table)}</h2><table><tr>" + "".join(f"<th>{e(c)}</th>" for c in COLUMNS) + "</tr>")
            scenario = None
            multi = len({x.scenario for x in rows}) > 1
            for r in rows:
                if multi and r.scenario != scenario:
                    scenario = r.scenario
                    parts.append(f"<tr class='sc'><td colspan='4'>{e(scenario)}</td></tr>")
                parts.append(
                    f"<tr><td>{e(r.action)}</td><td>{e(r.expected)}</td><td>{e(r.observed_in_full)}</td>"
                    f"<td class='s' style='background:{colour.get(r.status, '#fff')}'>{e(r.status)}</td></tr>")
                if r.new_details:
                    parts.append("<tr class='d'><td></td><td colspan='3'>" + "<br>".join(e(d) for d in r.new_details) + "</td></tr>")
            parts.append("</table>")
            for scenario_name in dict.fromkeys(x.scenario for x in rows):
                png = self.timelines.get(scenario_name)
                if png:
                    parts.append(f"<figure><img src='{e(png)}' alt='chronologie' style='max-width:100%'>"
                                 f"<figcaption>Chronologie — {e(scenario_name)}</figcaption></figure>")
        if self.figures:
            parts.append("<h2>Mesures</h2><ul>" + "".join(f"<li>{e(k)} : {e(v)}</li>" for k, v in self.figures.items()) + "</ul>")
        if self.trends:
            parts.append("<h2>Tendance (dernières exécutions, par bascule)</h2><div>"
                         + "".join(f"<img src='{e(png)}' alt='{e(label)}' title='{e(label)}' style='margin:.3em'>"
                                   for label, png in self.trends.items()) + "</div>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, directory: str | Path) -> dict[str, Path]:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        paths = {"md": d / "tableau-de-tests.md", "html": d / "tableau-de-tests.html", "json": d / "tableau-de-tests.json"}
        paths["md"].write_text(self.markdown(), encoding="utf-8")
        paths["html"].write_text(self.html(), encoding="utf-8")
        paths["json"].write_text(json.dumps({"cluster": self.cluster, "date": self.date, "figures": self.figures, "stopped": self.stopped,
                                             "repaired": self.repaired, "timelines": self.timelines,
                                             "trends": self.trends, "versions": self.versions,
                                             "rows": [asdict(r) for r in self.rows]}, ensure_ascii=False, indent=1),
                                 encoding="utf-8")
        return paths


# --- Allure ----------------------------------------------------------------------------------------

def attach_text(name: str, text: str, xml: bool = False) -> None:
    """Attach text to the current Allure step (a no-op when Allure is not recording)."""
    try:
        import allure
        kind = allure.attachment_type.XML if xml else allure.attachment_type.TEXT
        allure.attach(text, name=name, attachment_type=kind)
    except Exception:
        pass  # outside a BDD test or without allure: nothing to attach to


def attach_snapshot(label: str, snapshot) -> None:
    """crm_mon XML and DRBD status of a cluster snapshot, as Allure attachments."""
    if snapshot.crm_mon_xml:
        attach_text(f"crm_mon XML — {label}", snapshot.crm_mon_xml, xml=True)
    drbd = "\n".join(f"== {node} ==\n{text}" for node, text in snapshot.drbd_text.items())
    attach_text(f"DRBD — {label}", drbd)


def allure_parameter(name: str, value: str) -> None:
    try:
        import allure
        allure.dynamic.parameter(name, value)
    except Exception:
        pass


def slug(label: str, limit: int = 120) -> str:
    """A file name from a French label: ASCII, lower case, words joined by « - »."""
    import re
    import unicodedata
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
