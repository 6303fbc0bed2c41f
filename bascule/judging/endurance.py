"""The endurance run's checker: a pure function of its history, like the scenarios' checks, so that a
saved run is judged again the same way (Jepsen's set checker, with this lab's split brain).

Every file the server acknowledged (226) must be read back intact at every verification after it:
- missing or different, it is a **loss** (KO), attributed to the fault after which it was found so;
- missing after document 3's recovery discarded the node that had acknowledged it during the cut,
  it is reported apart, « perdu par la résolution du split brain, attendu sans STONITH », never
  hidden and never counted as an unexplained loss;
- an upload that failed and still left a file is reported (partial or complete), never a loss.
A run with no final verification, or with acknowledged files that could not be read at it, is
« inconnu » unless a loss already makes it KO; a fault the cluster did not recover from is KO.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from bascule.record.endurance import (CURL_UPLOADER, ENDURANCE, FTP_UPLOADER, PLANNED, READ_BACK, RECOVERED, SPLIT_BRAIN,
                                      START, STOP, UPLOAD, VERIFY)
from bascule.record.history import CLIENT, FAULT, OK, RUN, Event, downtime_windows

INTACT, LOST, DISCARDED, NOT_CHECKED = "intact", "perdu", "écarté par le split brain", "non vérifié"
SPLIT_BRAIN_WORDS = "perdu par la résolution du split brain, attendu sans STONITH"


@dataclass(frozen=True)
class FileFate:
    name: str
    uploader: str
    acked_at: float
    served_by: str | None
    fate: str  # INTACT | LOST | DISCARDED | NOT_CHECKED
    seen: str = ""  # what the verification found: « absent », « contenu différent (sha256 …) », « illisible »
    found_after: str = ""  # the verification (its fault's label, or « fin ») that found it so


@dataclass(frozen=True)
class FailedUpload:
    name: str
    uploader: str
    at: float
    error: str
    left: str  # « rien », « fichier partiel (N octets) », « fichier complet malgré l'échec »


@dataclass(frozen=True)
class FaultLine:
    """One line of the run's table: a fault and what the clients lived through around it."""
    index: int
    kind: str
    label: str
    start: float
    end: float  # when the cluster was back at its baseline (or gave up)
    recovered: bool
    recovery_s: float | None
    repairs: tuple[str, ...]
    outage_s: dict[str, float | None]  # uploader → seconds without service; None: never came back
    acked: dict[str, int]  # uploader → uploads acknowledged between this fault's start and the next's
    failed: dict[str, int]
    lost: int
    discarded: int


@dataclass(frozen=True)
class EnduranceVerdict:
    verdict: str  # OK | KO | inconnu
    why: str
    seed: int | None
    files: tuple[FileFate, ...]
    failed_uploads: tuple[FailedUpload, ...]
    faults: tuple[FaultLine, ...]
    totals: dict[str, dict[str, int]] = field(default_factory=dict)  # uploader → {acked, failed, lost, discarded}

    def lost(self, uploader: str | None = None) -> list[FileFate]:
        return [f for f in self.files if f.fate == LOST and (uploader is None or f.uploader == uploader)]


def _run_events(events: list[Event], op: str) -> list[Event]:
    return [e for e in events if e.source == RUN and e.process == ENDURANCE and e.op == op]


def _value(e: Event) -> dict:
    return e.value if isinstance(e.value, dict) else {}


def judge_endurance(events: Iterable[Event]) -> EnduranceVerdict:
    events = sorted(events, key=lambda e: (e.t, e.index))
    start = next(iter(_run_events(events, START)), None)
    seed = _value(start).get("seed") if start is not None else None
    uploads = [e for e in events if e.source == CLIENT and e.op == UPLOAD]
    acked = {(_value(e).get("name")): e for e in uploads if e.outcome == OK and _value(e).get("name")}
    verifications = _run_events(events, VERIFY)
    splits = _run_events(events, SPLIT_BRAIN)

    def discarded_by_split(ack: Event, before: float) -> bool:
        """Acknowledged during a cut by the node whose data document 3's recovery then threw away."""
        for s in splits:
            v = _value(s)
            if s.t <= before and v.get("cut_at", s.t) <= ack.t <= s.t:
                node = _value(ack).get("served_by")
                if node is None or node == v.get("discarded"):
                    return True
        return False

    fates: dict[str, FileFate] = {}
    for name, ack in acked.items():
        fate = None
        for ver in verifications:
            if ver.t < ack.end:
                continue
            v = _value(ver)
            read = v.get("read") or {}
            if name not in read:
                continue
            got = read[name]
            if name in (v.get("unreadable") or ()):
                fate = FileFate(name, ack.process, ack.end, _value(ack).get("served_by"), NOT_CHECKED, "illisible",
                                v.get("after", ""))
                continue  # a later verification may still read it
            if got == _value(ack).get("sha256"):
                fate = FileFate(name, ack.process, ack.end, _value(ack).get("served_by"), INTACT, "", v.get("after", ""))
                continue
            seen = "absent" if got is None else f"contenu différent (sha256 {str(got)[:12]}…)"
            kind = DISCARDED if got is None and discarded_by_split(ack, ver.t) else LOST
            fate = FileFate(name, ack.process, ack.end, _value(ack).get("served_by"), kind, seen, v.get("after", ""))
            break  # the first verification that finds it gone or changed is where it was lost
        fates[name] = fate or FileFate(name, ack.process, ack.end, _value(ack).get("served_by"), NOT_CHECKED,
                                       "jamais relu", "")
    # a read-back during the run that returned other bytes than those acknowledged is a loss too
    for e in events:
        if e.source == CLIENT and e.op == READ_BACK and e.outcome == OK:
            name = _value(e).get("name")
            if name in acked and _value(e).get("sha256") != _value(acked[name]).get("sha256") \
                    and fates[name].fate != LOST:
                fates[name] = FileFate(name, acked[name].process, acked[name].end, _value(acked[name]).get("served_by"),
                                       LOST, "contenu différent à la relecture", "pendant la série")

    failed = _failed_uploads(uploads, acked, verifications)
    lines = _fault_lines(events, fates)
    totals = {}
    for up in (FTP_UPLOADER, CURL_UPLOADER):
        mine = [f for f in fates.values() if f.uploader == up]
        if not mine and not any(e.process == up for e in uploads):
            continue
        totals[up] = {"acked": len(mine), "failed": sum(1 for f in failed if f.uploader == up),
                      "lost": sum(1 for f in mine if f.fate == LOST),
                      "discarded": sum(1 for f in mine if f.fate == DISCARDED),
                      "not_checked": sum(1 for f in mine if f.fate == NOT_CHECKED)}
    verdict, why = _verdict(fates, lines, verifications, events)
    return EnduranceVerdict(verdict, why, seed, tuple(sorted(fates.values(), key=lambda f: f.acked_at)),
                            tuple(failed), tuple(lines), totals)


def _failed_uploads(uploads: list[Event], acked: dict, verifications: list[Event]) -> list[FailedUpload]:
    out = []
    for e in uploads:
        v = _value(e)
        name = v.get("name")
        if e.outcome == OK or not name or name in acked:
            continue
        left = "rien"
        for ver in verifications:
            if ver.t >= e.end and name in (_value(ver).get("listed") or ()):
                size = (_value(ver).get("sizes") or {}).get(name)
                left = ("fichier complet malgré l'échec" if size == v.get("size")
                        else f"fichier partiel ({size} octets sur {v.get('size')})" if size is not None
                        else "un fichier à ce nom")
                break
        out.append(FailedUpload(name, e.process, e.t, e.error or e.outcome, left))
    return out


def _fault_lines(events: list[Event], fates: dict[str, FileFate]) -> list[FaultLine]:
    planned = _run_events(events, PLANNED)
    recovered = {_value(e).get("index"): e for e in _run_events(events, RECOVERED)}
    fault_starts = [e for e in events if e.source == FAULT and e.op == "start"]
    stop = next(iter(_run_events(events, STOP)), None)
    end_of_run = stop.t if stop is not None else (events[-1].end if events else 0.0)
    windows = {up: downtime_windows(events, up) for up in (FTP_UPLOADER, CURL_UPLOADER)}
    lines = []
    for i, p in enumerate(planned):
        pv = _value(p)
        rec = recovered.get(pv.get("index"))
        rv = _value(rec) if rec is not None else {}
        # the fault's own start event (after its pause), else the moment it was planned
        t0 = next((f.t for f in fault_starts if f.t >= p.t), p.t)
        t1 = planned[i + 1].t if i + 1 < len(planned) else end_of_run
        outage, acked, failed = {}, {}, {}
        for up in (FTP_UPLOADER, CURL_UPLOADER):
            mine = [e for e in events if e.source == CLIENT and e.process == up and e.op == UPLOAD and t0 <= e.t < t1]
            if not mine and not any(e.process == up for e in events):
                continue
            acked[up] = sum(1 for e in mine if e.outcome == OK)
            failed[up] = sum(1 for e in mine if e.outcome != OK)
            # the windows without service that overlap this fault's time (one may begin at the last
            # upload acknowledged before it)
            ws = [w for w in windows[up] if (w.end is None or w.end > t0) and w.start < t1]
            outage[up] = None if any(w.end is None for w in ws) else round(sum(w.duration for w in ws), 1)
        label = rv.get("label") or pv.get("kind", "?")
        lines.append(FaultLine(
            pv.get("index", i + 1), pv.get("kind", "?"), label, t0, rec.t if rec is not None else end_of_run,
            bool(rv.get("recovered")), rv.get("waited"), tuple(rv.get("repairs") or ()), outage, acked, failed,
            sum(1 for f in fates.values() if f.fate == LOST and f.found_after == label),
            sum(1 for f in fates.values() if f.fate == DISCARDED and f.found_after == label)))
    return lines


def _verdict(fates: dict[str, FileFate], lines: list[FaultLine], verifications: list[Event],
             events: list[Event]) -> tuple[str, str]:
    lost = [f for f in fates.values() if f.fate == LOST]
    not_back = [ln for ln in lines if not ln.recovered and any(_value(e).get("index") == ln.index
                                                                for e in _run_events(events, RECOVERED))]
    if lost or not_back:
        why = []
        if lost:
            why.append(f"{len(lost)} fichier(s) acquitté(s) perdu(s) ou modifié(s)")
        if not_back:
            why.append("le cluster n'est pas revenu à son état de référence après " +
                       ", ".join(f"la panne {ln.index} ({ln.label})" for ln in not_back))
        return "KO", " ; ".join(why)
    final = [v for v in verifications if _value(v).get("after") == "fin"]
    if not final:
        return "inconnu", "pas de vérification finale (série interrompue avant la fin ?)"
    unchecked = [f for f in fates.values() if f.fate == NOT_CHECKED]
    if unchecked:
        return "inconnu", f"{len(unchecked)} fichier(s) acquitté(s) n'ont pas pu être relus"
    if not fates:
        return "inconnu", "aucun envoi acquitté : rien à vérifier"
    discarded = [f for f in fates.values() if f.fate == DISCARDED]
    return "OK", (f"{len(fates)} fichiers acquittés, tous relus intacts"
                  + (f" ; {len(discarded)} {SPLIT_BRAIN_WORDS}" if discarded else ""))
