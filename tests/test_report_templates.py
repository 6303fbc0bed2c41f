"""The reports' templates (bascule/reporting/templates): Markdown cells that stay in their cell, HTML
escaped the way the pages always were, the class summary's Markdown table whole whatever the groups
left."""

from __future__ import annotations

import re
from pathlib import Path

from test_classe import run_with

from bascule.reporting.class_run import Group, GroupRun, write_summary
from bascule.reporting.table import CompletedTable, Row, markdown_cell


def cells(line: str) -> int:
    """How many cells a Markdown table line has (an escaped pipe is no border)."""
    return len(re.split(r"(?<!\\)\|", line.strip())) - 2


def table_lines(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("|")]


def test_a_markdown_cell_keeps_its_pipes_and_line_breaks_inside():
    assert markdown_cell("a | b\nc\r\nd\re") == "a \\| b c d e"
    assert markdown_cell(3) == "3"


def test_every_line_of_a_markdown_table_has_the_header_s_four_cells():
    report = CompletedTable(
        rows=[
            Row(
                "Q2",
                "Bascule",
                "cat essai1 | wc -l\nsur hdintralab01",
                "1",
                "0 | vide",
                "KO",
                ("détail | un\r\nsuite",),
            ),
            Row("Q2", "Retour", "crm node online", "ressources | A", "vu", "OK"),
        ]
    )
    lines = table_lines(report.markdown())
    assert len(lines) == 2 + 2 + 1 + 2  # header, rule; the two scenarios' lines; the rows; the detail
    assert {cells(line) for line in lines} == {4}
    assert "| cat essai1 \\| wc -l sur hdintralab01 | 1 | 0 \\| vide | KO |" in lines
    assert "| ↳ | | détail \\| un suite | |" in lines


def test_html_is_escaped_as_before_the_templates():
    # html.escape's entities (&#x27;, &quot;), the ones the pages have always had, not MarkupSafe's
    report = CompletedTable(
        title="t <&>",
        cluster="c'1",
        date='d"',
        stopped="<script>x</script>",
        versions={"pacemaker": "2.1 <x>"},
        trends={"l'a": "t/a.png"},
    )
    report.add(Row("Q2 <b>", "S", "a'", 'e"', "o & p", "KO", ("d <1>", "d 'deux'")))
    page = report.html()
    assert "<title>t &lt;&amp;&gt;</title>" in page and "<p>Cluster : c&#x27;1 — d&quot;</p>" in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>" not in page
    assert "<p>Versions : pacemaker 2.1 &lt;x&gt;</p>" in page
    assert "<tr><td>a&#x27;</td><td>e&quot;</td><td>o &amp; p</td>" in page
    assert "<td colspan='3'>d &lt;1&gt;<br>d &#x27;deux&#x27;</td>" in page  # the template's <br> stays markup
    assert "alt='l&#x27;a' title='l&#x27;a'" in page
    assert page.endswith("</body></html>")
    md = report.markdown()
    assert md.startswith("# t <&>\n") and "Cluster : c'1  \nDate : d\"\n" in md  # only HTML is escaped
    assert md.endswith("| KO |\n| ↳ | | d <1> | |\n| ↳ | | d 'deux' | |\n")


def test_the_class_summary_markdown_stays_a_table_when_a_group_has_no_table(tmp_path):
    no_table = GroupRun(
        Group("g3", Path("g3.toml"), Path("g3")), 2, 0.5, error="g3.toml: invalid TOML | line 2\nvip = 3"
    )
    for runs, columns in (([run_with("g1", ["OK", "KO", "OK"], cause="nic=eth0"), no_table], 3), ([no_table], 0)):
        md = write_summary(runs, tmp_path)["md"].read_text(encoding="utf-8")
        lines = table_lines(md)
        assert len(lines) == 2 + len(runs)  # header, rule, a line per group: no line broken in two
        assert {cells(line) for line in lines} == {4 + columns}, md
        assert lines[1] == "|" + "---|" * (4 + columns)
        # no link to a table that does not exist; the run's words on one line, their pipe a « / »
        assert f"| g3 | pas de tableau : g3.toml: invalid TOML / line 2 vip = 3 | {'— | ' * columns} |  |" in lines
        assert "g3/tableau-de-tests" not in md
    page = (tmp_path / "classe.html").read_text(encoding="utf-8")
    assert "<tr><td>g3</td>" in page and "<th title=" not in page
