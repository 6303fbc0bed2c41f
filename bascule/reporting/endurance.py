"""The endurance run's report: the table of its faults (Markdown, HTML, JSON), a timeline of the whole
run (each client's uploads, the faults, the losses), and a record for the nights' trend."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from bascule.judging.endurance import DISCARDED, SPLIT_BRAIN_WORDS, EnduranceVerdict
from bascule.record.endurance import ENDURANCE, START, STOP, UPLOAD
from bascule.record.history import CLIENT, OK, RUN, Event, fault_spans
from bascule.reporting.table import render


def _run_value(events: list[Event], op: str) -> dict:
    e = next((e for e in events if e.source == RUN and e.process == ENDURANCE and e.op == op), None)
    return e.value if e is not None and isinstance(e.value, dict) else {}


def _fault_cells(verdict: EnduranceVerdict) -> list[dict]:
    rows = []
    for f in verdict.faults:
        outage = " ; ".join(f"{up} : {'pas revenu' if s is None else f'{s:.1f} s'}" for up, s in f.outage_s.items())
        uploads = " ; ".join(f"{up} : {f.acked.get(up, 0)} / {f.failed.get(up, 0)}" for up in f.acked)
        back = (f"oui, en {f.recovery_s:.0f} s" if f.recovered and f.recovery_s is not None else "oui" if f.recovered
                else "NON")
        if f.repairs:
            back += " ; réparé par bascule : " + " ; ".join(f.repairs)
        rows.append({"index": f.index, "label": f.label, "start": f.start, "back": back, "outage": outage or "—",
                     "uploads": uploads or "—", "lost": f.lost, "discarded": f.discarded, "recovered": f.recovered})
    return rows


def write_report(verdict: EnduranceVerdict, events: list[Event], out: Path) -> dict[str, Path]:
    start, stop = _run_value(events, START), _run_value(events, STOP)
    timeline = draw(verdict, events, out / "chronologie-endurance.png")
    context = {
        "cluster": _cluster_words(start.get("cluster") or {}), "date": start.get("date", ""), "seed": verdict.seed,
        "duration": f"{float(start.get('duration_s', 0)) / 60:.0f} min prévues, "
                    f"{(events[-1].end if events else 0) / 60:.1f} min jouées",
        "stop": f"{stop.get('reason', 'série interrompue avant sa fin')} ({stop.get('faults', 0)} panne(s) jouée(s))",
        "verdict": verdict, "faults": _fault_cells(verdict), "totals": sorted(verdict.totals.items()),
        "losses": verdict.lost(), "discarded": [f for f in verdict.files if f.fate == DISCARDED],
        "partial": [f for f in verdict.failed_uploads if f.left != "rien"], "split_words": SPLIT_BRAIN_WORDS,
        "timeline": timeline.name if timeline is not None else ""}
    paths = {"md": out / "endurance.md", "html": out / "endurance.html", "json": out / "endurance.json"}
    paths["md"].write_text(render("endurance.md.j2", **context), encoding="utf-8")
    paths["html"].write_text(render("endurance.html.j2", **context), encoding="utf-8")
    paths["json"].write_text(json.dumps({"verdict": verdict.verdict, "why": verdict.why, "seed": verdict.seed,
                                         "totals": verdict.totals, "faults": [asdict(f) for f in verdict.faults],
                                         "losses": [asdict(f) for f in verdict.lost()],
                                         "failed_uploads": [asdict(f) for f in verdict.failed_uploads]},
                                        ensure_ascii=False, indent=1), encoding="utf-8")
    return paths


def _cluster_words(public_inv: dict) -> str:
    nodes = [n.get("name", "?") for n in public_inv.get("nodes", [])]
    return f"{' + '.join(nodes) or '?'}, VIP {public_inv.get('vip', '?')}"


def draw(verdict: EnduranceVerdict, events: list[Event], path: Path) -> Path | None:
    """The whole run on one picture: one row of dots per client (green acknowledged, red failed),
    the faults as bands, the losses as black crosses at the moment they were acknowledged."""
    uploads = [e for e in events if e.source == CLIENT and e.op == UPLOAD]
    if not uploads:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    clients = sorted({e.process for e in uploads})
    fig, ax = plt.subplots(figsize=(14, 1.2 + 0.9 * len(clients)))
    for y, client in enumerate(clients):
        mine = [e for e in uploads if e.process == client]
        for ok, colour in ((True, "#2e7d32"), (False, "#c62828")):
            xs = [e.t / 60 for e in mine if (e.outcome == OK) == ok]
            ax.scatter(xs, [y] * len(xs), s=6, color=colour, marker="|")
        lost = [f.acked_at / 60 for f in verdict.files if f.uploader == client and f.fate != "intact"
                and f.fate != "non vérifié"]
        ax.scatter(lost, [y + 0.25] * len(lost), s=40, color="black", marker="x")
    for start, end in fault_spans(events):
        t1 = (end.end if end is not None else events[-1].end) / 60
        ax.axvspan(start.t / 60, t1, color="#ffcc80", alpha=0.5)
        ax.text(start.t / 60, len(clients) - 0.4, start.process, fontsize=7, rotation=90, va="top")
    for line in verdict.faults:
        ax.axvline(line.end / 60, color="#1565c0", linewidth=0.6, linestyle=":")
    ax.set_yticks(range(len(clients)), clients)
    ax.set_ylim(-0.6, len(clients) - 0.2 + 0.6)
    ax.set_xlabel("minutes depuis le début de la série")
    ax.set_title(f"Endurance, graine {verdict.seed} : envois acquittés (vert) ou échoués (rouge), pannes (orange), "
                 f"retour à l'état de référence (pointillés bleus), pertes (x)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def trend_record(verdict: EnduranceVerdict, events: list[Event]):
    """The run as a record of the nights' trend: each fault kind's recovery time and the FTP client's
    outage (their medians over the run), and the counts."""
    from statistics import median
    from bascule.reporting.trend import MoveFigures, RunRecord
    start = _run_value(events, START)
    by_kind: dict[str, list] = {}
    for f in verdict.faults:
        by_kind.setdefault(f.kind, []).append(f)
    moves = {}
    for kind, lines in by_kind.items():
        took = [f.recovery_s for f in lines if f.recovery_s is not None]
        outs = [f.outage_s.get("envois-ftp") for f in lines if f.outage_s.get("envois-ftp") is not None]
        moves[f"Endurance — {kind}"] = MoveFigures(round(median(took), 1) if took else None,
                                                   round(median(outs), 1) if outs else None)
    counts = {verdict.verdict: 1, "fichiers acquittés": len(verdict.files), "pertes": len(verdict.lost())}
    return RunRecord(start.get("date", ""), _cluster_words(start.get("cluster") or {}), "endurance", counts, moves)
