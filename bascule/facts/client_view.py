"""Facts about the service as the FTP client lived it: its outages, their kinds, who served it.

Computed from the client's events on the history (bascule.record.history); said in the lab's
words, since the rows quote them as they are.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from bascule.facts.client_ops import tells_server
from bascule.facts.windows import Window, downtime_windows, write_refusals
from bascule.record.history import CLIENT, CONNECT, LOGIN, READ, UNKNOWN_STAGE, WRITE, Event


def secs(x: float | None) -> str:
    """12.3 → « 12,3 s » (the lab is in French)."""
    return "—" if x is None else f"{x:.1f}".replace(".", ",") + " s"


KIND_WORDS = {
    CONNECT: "pas de connexion",
    LOGIN: "identification refusée",
    READ: "lecture impossible",
    WRITE: "envoi refusé",
    UNKNOWN_STAGE: "échec",
}


# said once per row that quotes a downtime, so that a figure is never read without its meaning
DOWNTIME_DEFINITION = (
    "indisponible = ni connexion, ni identification, ni lecture possibles ; "
    "de la dernière opération réussie à la suivante, une opération toutes les 0.25 s"
)


def window_figure(w: Window) -> str:
    """One outage's length, with its bounds when they differ by more than the probe's cadence."""
    if w.duration is None:
        return "non terminée"
    if w.uncertain:
        return f"{secs(w.duration)} (entre {secs(w.shortest)} et {secs(w.longest)})"
    return secs(w.duration)


SHOWN_PHASES = 3  # an outage of more phases than this is summed up by kind; Allure has the whole sequence


def _reasons(p) -> str:
    """A phase's reasons: the only one, or each with its count when they differ (160 timeouts and 73
    refusals are not « connexion refusée »)."""
    if len(p.reasons) > 1:
        return " (" + ", ".join(f"{n} × {r}" for r, n in p.reasons[:3]) + (", …" if len(p.reasons) > 3 else "") + ")"
    return f" ({p.reason})" if p.reason else ""


def _phase(p) -> str:
    if p.kind == UNKNOWN_STAGE:  # a history from before the kinds were told apart: its reason only
        return f"{p.reason or 'échec'} {secs(p.seconds)}"
    return f"{KIND_WORDS.get(p.kind, p.kind)} {secs(p.seconds)}" + _reasons(p)


def window_phases(w: Window) -> str:
    """Which kinds of failure, for how long: « pas de connexion 40,2 s (délai dépassé), ... ». An
    intermittent outage (more than SHOWN_PHASES phases) is summed up by kind, in the order they first
    came, each with its total time, how many times and its reasons counted, the dominant kind named."""
    if len(w.phases) <= SHOWN_PHASES:
        return ", ".join(_phase(p) for p in w.phases)
    kinds: dict[str, list] = {}
    for p in w.phases:
        kinds.setdefault(p.kind, []).append(p)
    parts = []
    for kind, ps in kinds.items():
        reasons = Counter()
        for p in ps:
            reasons.update(dict(p.reasons) or ({p.reason: p.count} if p.reason else {}))
        top = ", ".join(f"{n} × {r}" for r, n in reasons.most_common(2)) + (", …" if len(reasons) > 2 else "")
        parts.append(
            f"{KIND_WORDS.get(kind, kind)} {secs(sum(p.seconds for p in ps))} en {len(ps)} fois, "
            f"{sum(p.count for p in ps)} opérations" + (f" ({top})" if top else "")
        )
    dominant = max(kinds, key=lambda k: sum(p.seconds for p in kinds[k]))
    return f"{len(w.phases)} phases alternées, surtout {KIND_WORDS.get(dominant, dominant)} : " + " ; ".join(parts)


def window_sequence(w: Window) -> str:
    """Every phase of an outage in order, one a line: the full sequence, for an attachment."""
    return "\n".join(_phase(p) for p in w.phases)


def client_downtime(events: Iterable[Event], process: str | None = None) -> tuple[float | None, str]:
    """The client's total downtime and a sentence for the report: how long, of which kind, and
    uploads refused on a server that answered, said apart."""
    evs = list(events)
    ops = [e for e in evs if e.source == CLIENT and (process is None or e.process == process)]
    if not ops:
        return None, "aucune opération FTP enregistrée"
    windows = downtime_windows(evs, process)
    refused = write_refusals(evs, process)
    refused_text = ""
    if refused:
        spans = [window_figure(w) if w.end is not None else "jusqu'à la fin de la mesure" for w in refused]
        reason = refused[-1].phases[0].reason or "refus"
        refused_text = f" ; envois refusés par un serveur qui répond : {', '.join(spans)} ({reason})"
    if not windows:
        return 0.0, f"FTP disponible sans interruption ({len(ops)} opérations)" + refused_text
    if windows[-1].end is None:
        last = windows[-1]
        return None, (
            f"FTP toujours indisponible à la fin de la mesure ({last.failed + last.unknown} échecs : "
            f"{window_phases(last)})" + refused_text
        )
    total = sum(w.duration for w in windows)
    if len(windows) == 1:
        text = f"FTP indisponible {window_figure(windows[0])} : {window_phases(windows[0])}"
    elif len(windows) <= SHOWN_PHASES:
        text = f"FTP indisponible {secs(total)} en {len(windows)} interruptions : " + " + ".join(
            f"{window_figure(w)} ({window_phases(w)})" for w in windows
        )
    else:  # an intermittent service: the longest outages, the others counted
        longest = sorted(windows, key=lambda w: -w.duration)[:SHOWN_PHASES]
        rest = [w for w in windows if w not in longest]
        text = (
            f"FTP indisponible {secs(total)} en {len(windows)} interruptions, dont les plus longues : "
            + " + ".join(f"{window_figure(w)} ({window_phases(w)})" for w in longest)
            + f" ; et {len(rest)} autres, {secs(sum(w.duration for w in rest))} en tout"
        )
    return total, f"{text} [{DOWNTIME_DEFINITION}]{refused_text}"


def serving_at_end(events: Iterable[Event], process: str | None) -> tuple[bool, str | None]:
    """Who served the client's last usable operation that could tell (a read): (there was one, the
    hostname or None when it could not be read). Only that operation counts: an older reading is stale."""
    last = None
    for e in events:
        # an upload does not read the hostname: only reads tell who serves
        if e.source == CLIENT and tells_server(e) and (process is None or e.process == process):
            if last is None or e.t >= last.t:
                last = e
    if last is None:
        return False, None
    return True, last.value.get("served_by") if isinstance(last.value, dict) else None
