"""The endurance run's report: the table of its faults (Markdown, HTML, JSON), a timeline of the whole
run (each client's uploads, the faults, the losses), and a record for the nights' trend."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from statistics import median

from bascule.judging.endurance import (
    CORRUPTED,
    DISCARDED,
    IN_CACHE,
    LOST,
    NOT_CHECKED,
    NOT_REPLICATED,
    SPLIT_BRAIN_WORDS,
    STALE,
    UNDECIDED,
    EnduranceVerdict,
    run_value,
)
from bascule.record.endurance import FTP_UPLOADER, START, STOP, UPLOAD
from bascule.record.history import CLIENT, OK, Event
from bascule.reporting.table import render
from bascule.reporting.trend import MoveFigures, RunRecord

COLUMNS = (
    ("acked", "envois acquittés"),
    ("intact", "relus intacts (les deux nœuds)"),
    ("stale", "lectures périmées"),
    ("corrupted", "corrompus"),
    ("lost", "perdus sans explication"),
    ("not_replicated", "absents de la réplique"),
    ("discarded", "écartés par le split brain"),
    ("in_cache", "perdus en cache à une coupure"),
    ("not_checked", "sans verdict"),
    ("refused", "échoués : refusés"),
    ("timed_out", "échoués : sans réponse"),
    ("recovered", "échoués mais présents"),
    ("unexpected", "inattendus"),
)
SECTIONS = (
    (LOST, "Fichiers acquittés perdus sans explication"),
    (CORRUPTED, "Fichiers acquittés corrompus"),
    (NOT_REPLICATED, "Fichiers acquittés absents ou différents sur la réplique"),
    (STALE, "Lectures périmées (absent ou vide à une relecture, intact ensuite)"),
    (DISCARDED, SPLIT_BRAIN_WORDS[0].upper() + SPLIT_BRAIN_WORDS[1:] + " (comptés)"),
    (IN_CACHE, "Perdus à une coupure de courant, encore dans le cache du nœud coupé (comptés)"),
    (NOT_CHECKED, "Sans verdict"),
    (UNDECIDED, "Absents après un split brain, acquittés par un nœud que rien ne nomme (perte sans explication)"),
)
SHOWN = 200  # files listed per section in the table; the JSON has them all


def _clock(start_date: str, t: float | None) -> str:
    """« +N s (HH:MM:SS) »: the run's time and the wall clock, from the run's start date."""
    if t is None:
        return ""
    try:
        wall = datetime.fromisoformat(start_date) + timedelta(seconds=t)
    except (TypeError, ValueError):
        return f"+{t:.0f} s"
    return f"+{t:.0f} s ({wall:%H:%M:%S})"


def _fault_cells(verdict: EnduranceVerdict, start_date: str = "") -> list[dict]:
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
            back += " ; réparé par bascule (KO) : " + " ; ".join(f.repairs)
        label = f.label + (f" — pendant le retour de la précédente ({f.overlapped})" if f.overlapped else "")
        rows.append(
            {
                "index": f.index,
                "kind": f.kind,
                "label": label,
                "start": f.start,
                "back": back,
                "start_words": _clock(start_date, f.start),
                "target": f.target or "",
                "outage": outage or "—",
                "uploads": uploads or "—",
                "lost": f.lost,
                "discarded": f.discarded,
                "in_cache": f.in_cache,
                "stale": f.anomalies,
                "recovered": (f.recovered and not f.repairs) or not f.played,
            }
        )
    if verdict.lost_outside_faults():
        rows.append(
            {
                "index": "—",
                "kind": "",
                "label": "fin de série, réplique ou relecture pendant la série",
                "start": None,
                "start_words": "",
                "target": "",
                "back": "",
                "outage": "",
                "uploads": "",
                "lost": verdict.lost_outside_faults(),
                "discarded": 0,
                "in_cache": 0,
                "stale": 0,
                "recovered": True,
            }
        )
    return rows


def _file_words(f, start_date: str) -> str:
    said = f"{f.name} ({f.uploader}, acquitté à {_clock(start_date, f.acked_at)} par {f.served_by or '?'})"
    said += f" : {f.seen}" if f.seen else ""
    said += f", constaté à {f.found_after}" if f.found_after else ""
    return said + (f" — {f.note}" if f.note else "")


def _sections(verdict: EnduranceVerdict, start_date: str) -> list[tuple[str, list[str]]]:
    out = []
    for fate, title in SECTIONS:
        files = verdict.of(fate)
        if files:
            items = [_file_words(f, start_date) for f in files[:SHOWN]]
            if len(files) > SHOWN:
                items.append(f"… et {len(files) - SHOWN} autres (endurance.json les a tous)")
            out.append((f"{title} : {len(files)}", items))
    if verdict.unexpected:
        out.append(
            (
                f"Fichiers inattendus (présents, jamais envoyés) : {len(verdict.unexpected)}",
                list(verdict.unexpected[:SHOWN]),
            )
        )
    partial = [f for f in verdict.failed_uploads if f.left != "rien"]
    if partial:
        out.append(
            (
                "Envois échoués qui ont laissé un fichier (pas des pertes)",
                [
                    f"{f.name} ({f.uploader}, {_clock(start_date, f.at)}, {f.how}) : {f.left} — {f.error}"
                    for f in partial[:SHOWN]
                ],
            )
        )
    return out


def _availability_lines(verdict: EnduranceVerdict) -> list[str]:
    lines = []
    for up, a in verdict.availability.items():
        kinds = " ; ".join(
            f"{k} : {v['count']} fois, {v['min']:.1f} / {v['median']:.1f} / {v['max']:.1f} s"
            for k, v in a["by_kind"].items()
        )
        latency = (
            f" ; envoi acquitté en {a['latency_median_s']:.2f} s (médiane), {a['latency_max_s']:.1f} s au pire"
            if a.get("latency_median_s") is not None
            else ""
        )
        lines.append(
            f"{up} : servi {a['served_pct']:.2f} % de la nuit ({a['down_s']:.0f} s sans service){latency}"
            + (f" ; indisponibilité par type de panne (min / médiane / max) : {kinds}" if kinds else "")
        )
    return lines or ["aucun envoi"]


def _time_words(spent: dict[str, float]) -> str:
    if not spent:
        return "—"
    names = (
        ("pauses", "envois sur un cluster au repos"),
        ("faults", "pannes jusqu'au retour à l'état de référence"),
        ("verifications", "vérifications"),
        ("replica", "lecture de la réplique"),
        ("other", "le reste (départ, lectures du cluster)"),
    )
    return f"{spent['total'] / 60:.1f} min : " + ", ".join(
        f"{words} {spent.get(k, 0) / 60:.1f} min" for k, words in names
    )


def write_report(verdict: EnduranceVerdict, events: list[Event], out: Path) -> dict[str, Path]:
    start, stop = run_value(events, START), run_value(events, STOP)
    timeline = draw(verdict, events, out / "chronologie-endurance.png")
    date = start.get("date", "")
    played = (events[-1].end if events else 0) / 60
    context = {
        "cluster": _cluster_words(start.get("cluster") or {}),
        "date": date,
        "seed": verdict.seed,
        "replay": verdict.replay
        or f"bascule endurance --graine {verdict.seed} (série antérieure : ses pannes et sa "
        "durée ne sont pas dans son historique)",
        "duration": f"{float(start.get('duration_s', 0)) / 60:.0f} min au plus, {played:.1f} min jouées",
        "stop": f"{stop.get('reason', 'série interrompue avant sa fin')} ({stop.get('faults', 0)} panne(s) jouée(s))",
        "time_spent": _time_words(verdict.time_spent),
        "availability": _availability_lines(verdict),
        "verdict": verdict,
        "faults": _fault_cells(verdict, date),
        "columns": [words for _, words in COLUMNS],
        "totals": [(up, [t.get(k, 0) for k, _ in COLUMNS]) for up, t in sorted(verdict.totals.items())],
        "sections": _sections(verdict, date),
        "timeline": timeline.name if timeline is not None else "",
    }
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / "endurance.md", "html": out / "endurance.html", "json": out / "endurance.json"}
    paths["md"].write_text(render("endurance.md.j2", **context), encoding="utf-8")
    paths["html"].write_text(render("endurance.html.j2", **context), encoding="utf-8")
    paths["json"].write_text(
        json.dumps(
            {
                "verdict": verdict.verdict,
                "exit_code": verdict.exit_code,
                "why": verdict.why,
                "cause": verdict.cause,
                "fix": verdict.fix,
                "seed": verdict.seed,
                "replay": verdict.replay,
                "explanations": list(verdict.explanations),
                "replica": verdict.replica,
                "availability": verdict.availability,
                "time_spent": verdict.time_spent,
                "totals": verdict.totals,
                "faults": [asdict(f) for f in verdict.faults],
                "losses": [asdict(f) for f in verdict.lost()],
                "anomalies": {fate: [asdict(f) for f in verdict.of(fate)] for fate, _ in SECTIONS if verdict.of(fate)},
                "unexpected": list(verdict.unexpected),
                "failed_uploads": [asdict(f) for f in verdict.failed_uploads],
            },
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    return paths


def write_allure(verdict: EnduranceVerdict, events: list[Event], directory: Path, started_epoch: float) -> Path:
    """The run as Allure results, with the suite's conventions (grouped by feature, a result per row,
    the figures as parameters, the timeline attached): one result per fault, and one for the whole
    run with its table and timeline. Written as Allure's result files, read by `allure awesome`."""
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
        (directory / f"{rid}-result.json").write_text(
            json.dumps(
                {
                    "uuid": rid,
                    "historyId": f"endurance {name}",
                    "name": name,
                    "fullName": f"Endurance — {name}",
                    "status": status,
                    "statusDetails": {"message": message},
                    "stage": "finished",
                    "start": ms(t0),
                    "stop": ms(t1),
                    "labels": [
                        {"name": "feature", "value": "Endurance"},
                        {"name": "suite", "value": f"Endurance — {cluster}"},
                        {"name": "framework", "value": "bascule"},
                    ],
                    "parameters": [{"name": k, "value": str(v)} for k, v in parameters.items()],
                    "attachments": attachments,
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )

    for f in verdict.faults:
        ok = f.recovered and not (f.lost or f.discarded or f.in_cache or f.anomalies or f.repairs)
        result(
            f"Panne {f.index} : {f.label}",
            "passed" if ok else "failed",
            f"{f.lost} perte(s), {f.discarded} écarté(s) par le split brain, {f.in_cache} perdu(s) en cache, "
            f"{f.anomalies} lecture(s) périmée(s) ; "
            + ("cluster revenu" if f.recovered else "cluster PAS revenu à son état de référence"),
            f.start,
            f.end,
            {"graine": verdict.seed, "type": f.kind, **{f"indisponibilité {k}": v for k, v in f.outage_s.items()}},
            [],
        )
    png = directory.parent / "chronologie-endurance.png"
    table = directory.parent / "endurance.md"
    attachments = ([attach("chronologie", png.read_bytes(), "image/png", "png")] if png.is_file() else []) + (
        [attach("tableau", table.read_bytes(), "text/markdown", "md")] if table.is_file() else []
    )
    said = (
        verdict.why
        + (f" — cause : {verdict.cause}" if verdict.cause else "")
        + (f" — à corriger : {verdict.fix}" if verdict.fix else "")
    )
    # « pertes expliquées » is no pass: files were lost
    result(
        "Bilan de la série",
        {"OK": "passed", "inconnu": "broken"}.get(verdict.verdict, "failed"),
        f"{verdict.verdict} — {said}",
        0.0,
        events[-1].end if events else 0.0,
        {"graine": verdict.seed, "pour rejouer": verdict.replay},
        attachments,
    )
    return directory


def _cluster_words(public_inv: dict) -> str:
    nodes = [n.get("name", "?") for n in public_inv.get("nodes", [])]
    return f"{' + '.join(nodes) or '?'}, VIP {public_inv.get('vip', '?')}"


def _speed_panel(speed, uploads: list[Event], clients: list[str]) -> None:
    """The lower panel: each acknowledged upload's duration, and the upload rate per minute."""
    for client, colour in zip(clients, ("#1565c0", "#ef6c00", "#6a1b9a")):
        acked = sorted((e for e in uploads if e.process == client and e.outcome == OK), key=lambda e: e.end)
        speed.plot(
            [e.end / 60 for e in acked],
            [e.end - e.t for e in acked],
            ".",
            ms=2,
            color=colour,
            label=f"{client} : durée d'un envoi acquitté (s)",
        )
        per_minute: dict[int, int] = {}
        for e in acked:
            per_minute[int(e.end // 60)] = per_minute.get(int(e.end // 60), 0) + 1
        rate = speed.twinx() if client == (FTP_UPLOADER if FTP_UPLOADER in clients else clients[0]) else None
        if rate is not None:
            rate.step(
                [m + 0.5 for m in sorted(per_minute)],
                [per_minute[m] for m in sorted(per_minute)],
                where="mid",
                color="#2e7d32",
                lw=1,
                label=f"{client} : envois acquittés par minute",
            )
            rate.set_ylabel("envois / min", fontsize=8)
            rate.legend(fontsize=7, loc="upper right")
    speed.set_yscale("symlog", linthresh=1)
    speed.set_ylabel("s", fontsize=8)
    speed.legend(fontsize=7, loc="upper left")
    speed.grid(alpha=0.3)


def _uploads_panel(ax, verdict: EnduranceVerdict, uploads: list[Event], clients: list[str]) -> None:
    """The upper panel: one row of dots per client, and each file's fate where it is not intact."""
    for y, client in enumerate(clients):
        mine = [e for e in uploads if e.process == client]
        for ok, colour in ((True, "#2e7d32"), (False, "#c62828")):
            xs = [e.t / 60 for e in mine if (e.outcome == OK) == ok]
            ax.scatter(xs, [y] * len(xs), s=6, color=colour, marker="|")
        for fate, marker, colour in (
            (LOST, "x", "black"),
            (CORRUPTED, "x", "#b71c1c"),
            (NOT_REPLICATED, "s", "black"),
            (STALE, "o", "#f9a825"),
            (DISCARDED, "v", "#6a1b9a"),
            (IN_CACHE, "^", "#00838f"),
        ):
            xs = [f.acked_at / 60 for f in verdict.files if f.uploader == client and f.fate == fate]
            ax.scatter(xs, [y + 0.25] * len(xs), s=40, color=colour, marker=marker)


def draw(verdict: EnduranceVerdict, events: list[Event], path: Path) -> Path | None:
    """The whole run on one picture: one row of dots per client (green acknowledged, red failed),
    the faults as bands, the losses as black crosses at the moment they were acknowledged."""
    uploads = [e for e in events if e.source == CLIENT and e.op == UPLOAD]
    if not uploads:
        return None
    import matplotlib  # noqa: PLC0415 - matplotlib costs half a second and the plugin loads on every pytest run: imported to draw, after Agg is chosen

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after matplotlib.use

    clients = sorted({e.process for e in uploads})
    fig, (ax, speed) = plt.subplots(
        2,
        1,
        figsize=(14, 4.2 + 0.9 * len(clients)),
        sharex=True,
        gridspec_kw={"height_ratios": [1.0 + 0.5 * len(clients), 1.6]},
    )
    _speed_panel(speed, uploads, clients)
    _uploads_panel(ax, verdict, uploads, clients)
    for line in verdict.faults:  # from the fault to the cluster back at its baseline
        if not line.played:
            continue
        ax.axvspan(line.start / 60, line.end / 60, color="#ffcc80" if line.recovered else "#ef9a9a", alpha=0.5)
        ax.text(line.start / 60, len(clients) + 0.35, f"{line.index}. {line.kind}", fontsize=7, rotation=90, va="top")
    ax.set_yticks(range(len(clients)), clients)
    ax.set_ylim(-0.6, len(clients) + 0.4)
    speed.set_xlabel("minutes depuis le début de la série")
    ax.set_title(
        f"Endurance, graine {verdict.seed} : envois acquittés (vert) ou échoués (rouge) ; du début de chaque "
        f"panne au retour à l'état de référence (orange ; rouge : pas revenu) ;\npertes (x), absents de la "
        f"réplique (■), lectures périmées (●), écartés par le split brain (▼), perdus en cache à une coupure "
        f"de courant (▲)",
        fontsize=9,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def trend_record(verdict: EnduranceVerdict, events: list[Event]):
    """The run as a record of the nights' trend: for each fault kind, the median over the run of the
    time from the fault to the cluster back at its baseline, and of the FTP client's outage; and the counts."""
    start = run_value(events, START)
    by_kind: dict[str, list] = {}
    for f in verdict.faults:
        by_kind.setdefault(f.kind, []).append(f)
    moves = {}
    for kind, lines in by_kind.items():
        took = [f.recovery_s for f in lines if f.recovery_s is not None and f.played]
        outs = [f.outage_s.get("envois-ftp") for f in lines if f.outage_s.get("envois-ftp") is not None]
        moves[f"Endurance — {kind}"] = MoveFigures(
            round(median(took), 1) if took else None, round(median(outs), 1) if outs else None
        )
    counts = {verdict.verdict: 1, "fichiers acquittés": len(verdict.files), "pertes": len(verdict.lost())}
    for fate, words in (
        (STALE, "lectures périmées"),
        (CORRUPTED, "corrompus"),
        (NOT_REPLICATED, "absents de la réplique"),
        (DISCARDED, "écartés par le split brain"),
        (IN_CACHE, "perdus en cache"),
        (NOT_CHECKED, "sans verdict"),
    ):
        counts[words] = len(verdict.of(fate))
    counts["inattendus"] = len(verdict.unexpected)
    return RunRecord(start.get("date", ""), _cluster_words(start.get("cluster") or {}), "endurance", counts, moves)
