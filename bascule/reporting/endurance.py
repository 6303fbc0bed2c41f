"""The endurance run's report: the table of its faults (Markdown, HTML, JSON), a timeline of the whole
run (each client's uploads, the faults, the losses), and a record for the nights' trend."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from bascule.judging.endurance import (DISCARDED, IN_CACHE, LOST, NOT_CHECKED, SPLIT_BRAIN_WORDS, UNDECIDED,
                                      EnduranceVerdict, run_value)
from bascule.record.endurance import START, STOP, UPLOAD
from bascule.record.history import CLIENT, OK, Event
from bascule.reporting.table import render


def _fault_cells(verdict: EnduranceVerdict) -> list[dict]:
    rows = []
    for f in verdict.faults:
        outage = " ; ".join(f"{up} : {'pas revenu' if s is None else f'{s:.1f} s'}" for up, s in f.outage_s.items())
        uploads = " ; ".join(f"{up} : {f.acked.get(up, 0)} / {f.failed.get(up, 0)}" for up in f.acked)
        if not f.played:
            back = f.status or "non jouée"
        elif f.recovered:
            back = f"oui, {f.recovery_s:.0f} s après le début de la panne" if f.recovery_s is not None else "oui"
        else:
            back = "NON" + (f" : {f.status}" if f.status else "")
        if f.repairs:
            back += " ; réparé par bascule : " + " ; ".join(f.repairs)
        rows.append({"index": f.index, "kind": f.kind, "label": f.label, "start": f.start, "back": back,
                     "outage": outage or "—", "uploads": uploads or "—", "lost": f.lost, "discarded": f.discarded,
                     "in_cache": f.in_cache,
                     "recovered": f.recovered or not f.played})
    if verdict.lost_outside_faults():
        rows.append({"index": "—", "kind": "", "label": "fin de série ou relecture pendant la série", "start": None,
                     "back": "", "outage": "", "uploads": "", "lost": verdict.lost_outside_faults(), "discarded": 0, "in_cache": 0,
                     "recovered": True})
    return rows


def write_report(verdict: EnduranceVerdict, events: list[Event], out: Path) -> dict[str, Path]:
    start, stop = run_value(events, START), run_value(events, STOP)
    timeline = draw(verdict, events, out / "chronologie-endurance.png")
    context = {
        "cluster": _cluster_words(start.get("cluster") or {}), "date": start.get("date", ""), "seed": verdict.seed,
        "duration": f"{float(start.get('duration_s', 0)) / 60:.0f} min prévues, "
                    f"{(events[-1].end if events else 0) / 60:.1f} min jouées",
        "stop": f"{stop.get('reason', 'série interrompue avant sa fin')} ({stop.get('faults', 0)} panne(s) jouée(s))",
        "verdict": verdict, "faults": _fault_cells(verdict), "totals": sorted(verdict.totals.items()),
        "losses": verdict.lost(), "discarded": [f for f in verdict.files if f.fate == DISCARDED],
        "in_cache": [f for f in verdict.files if f.fate == IN_CACHE],
        "undecided": [f for f in verdict.files if f.fate in (UNDECIDED, NOT_CHECKED)],
        "partial": [f for f in verdict.failed_uploads if f.left != "rien"], "split_words": SPLIT_BRAIN_WORDS,
        "timeline": timeline.name if timeline is not None else ""}
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / "endurance.md", "html": out / "endurance.html", "json": out / "endurance.json"}
    paths["md"].write_text(render("endurance.md.j2", **context), encoding="utf-8")
    paths["html"].write_text(render("endurance.html.j2", **context), encoding="utf-8")
    paths["json"].write_text(json.dumps({"verdict": verdict.verdict, "why": verdict.why, "cause": verdict.cause,
                                         "fix": verdict.fix, "seed": verdict.seed,
                                         "totals": verdict.totals, "faults": [asdict(f) for f in verdict.faults],
                                         "losses": [asdict(f) for f in verdict.lost()],
                                         "failed_uploads": [asdict(f) for f in verdict.failed_uploads]},
                                        ensure_ascii=False, indent=1), encoding="utf-8")
    return paths


def write_allure(verdict: EnduranceVerdict, events: list[Event], directory: Path, started_epoch: float) -> Path:
    """The run as Allure results, with the suite's conventions (grouped by feature, a result per row,
    the figures as parameters, the timeline attached): one result per fault, and one for the whole
    run with its table and timeline. Written as Allure's result files, read by `allure awesome`."""
    import uuid
    directory.mkdir(parents=True, exist_ok=True)
    start = run_value(events, START)
    cluster = _cluster_words(start.get("cluster") or {})

    def ms(t: float) -> int:
        return int((started_epoch + t) * 1000)

    def attach(name: str, data: bytes, kind: str, ext: str) -> dict:
        source = f"{uuid.uuid4()}-attachment.{ext}"
        (directory / source).write_bytes(data)
        return {"name": name, "source": source, "type": kind}

    def result(name: str, status: str, message: str, t0: float, t1: float, parameters: dict, attachments: list) -> None:
        rid = str(uuid.uuid4())
        (directory / f"{rid}-result.json").write_text(json.dumps({
            "uuid": rid, "historyId": f"endurance {name}", "name": name, "fullName": f"Endurance — {name}",
            "status": status, "statusDetails": {"message": message}, "stage": "finished", "start": ms(t0), "stop": ms(t1),
            "labels": [{"name": "feature", "value": "Endurance"}, {"name": "suite", "value": f"Endurance — {cluster}"},
                       {"name": "framework", "value": "bascule"}],
            "parameters": [{"name": k, "value": str(v)} for k, v in parameters.items()],
            "attachments": attachments}, ensure_ascii=False), encoding="utf-8")
    for f in verdict.faults:
        ok = f.recovered and not f.lost
        result(f"Panne {f.index} : {f.label}", "passed" if ok else "failed",
               f"{f.lost} perte(s), {f.discarded} écarté(s) par le split brain ; "
               + ("cluster revenu" if f.recovered else "cluster PAS revenu à son état de référence"),
               f.start, f.end, {"graine": verdict.seed, "type": f.kind, **{f"indisponibilité {k}": v
                                                                          for k, v in f.outage_s.items()}}, [])
    png = directory.parent / "chronologie-endurance.png"
    table = directory.parent / "endurance.md"
    attachments = ([attach("chronologie", png.read_bytes(), "image/png", "png")] if png.is_file() else []) + \
                  ([attach("tableau", table.read_bytes(), "text/markdown", "md")] if table.is_file() else [])
    said = verdict.why + (f" — cause : {verdict.cause}" if verdict.cause else "") + \
        (f" — à corriger : {verdict.fix}" if verdict.fix else "")
    result("Bilan de la série", {"OK": "passed", "KO": "failed"}.get(verdict.verdict, "broken"), said,
           0.0, events[-1].end if events else 0.0, {"graine": verdict.seed}, attachments)
    return directory


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
    fig, ax = plt.subplots(figsize=(14, 2.0 + 0.9 * len(clients)))
    for y, client in enumerate(clients):
        mine = [e for e in uploads if e.process == client]
        for ok, colour in ((True, "#2e7d32"), (False, "#c62828")):
            xs = [e.t / 60 for e in mine if (e.outcome == OK) == ok]
            ax.scatter(xs, [y] * len(xs), s=6, color=colour, marker="|")
        for fate, marker, colour in ((LOST, "x", "black"), (DISCARDED, "v", "#6a1b9a"), (IN_CACHE, "^", "#00838f")):
            xs = [f.acked_at / 60 for f in verdict.files if f.uploader == client and f.fate == fate]
            ax.scatter(xs, [y + 0.25] * len(xs), s=40, color=colour, marker=marker)
    for line in verdict.faults:  # from the fault to the cluster back at its baseline
        if not line.played:
            continue
        ax.axvspan(line.start / 60, line.end / 60, color="#ffcc80" if line.recovered else "#ef9a9a", alpha=0.5)
        ax.text(line.start / 60, len(clients) + 0.35, f"{line.index}. {line.kind}", fontsize=7, rotation=90, va="top")
    ax.set_yticks(range(len(clients)), clients)
    ax.set_ylim(-0.6, len(clients) + 0.4)
    ax.set_xlabel("minutes depuis le début de la série")
    ax.set_title(f"Endurance, graine {verdict.seed} : envois acquittés (vert) ou échoués (rouge) ;\n"
                 f"du début de chaque panne au retour à l'état de référence (orange ; rouge : pas revenu), pertes (x), "
                 f"écartés par le split brain (▼), perdus en cache à une coupure de courant (▲)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def trend_record(verdict: EnduranceVerdict, events: list[Event]):
    """The run as a record of the nights' trend: for each fault kind, the median over the run of the
    time from the fault to the cluster back at its baseline, and of the FTP client's outage; and the counts."""
    from statistics import median
    from bascule.reporting.trend import MoveFigures, RunRecord
    start = run_value(events, START)
    by_kind: dict[str, list] = {}
    for f in verdict.faults:
        by_kind.setdefault(f.kind, []).append(f)
    moves = {}
    for kind, lines in by_kind.items():
        took = [f.recovery_s for f in lines if f.recovery_s is not None and f.played]
        outs = [f.outage_s.get("envois-ftp") for f in lines if f.outage_s.get("envois-ftp") is not None]
        moves[f"Endurance — {kind}"] = MoveFigures(round(median(took), 1) if took else None,
                                                   round(median(outs), 1) if outs else None)
    counts = {verdict.verdict: 1, "fichiers acquittés": len(verdict.files), "pertes": len(verdict.lost())}
    return RunRecord(start.get("date", ""), _cluster_words(start.get("cluster") or {}), "endurance", counts, moves)
