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

from bascule.inventory import from_public
from bascule.judging.facts.storage import read_nothing, ruled_out, storage_findings
from bascule.record.endurance import (CURL_UPLOADER, ENDURANCE, FTP_UPLOADER, PLANNED, READ_BACK, RECOVERED, SPLIT_BRAIN,
                                      START, STOP, STORAGE, UPLOAD, VERIFY)
from bascule.record.history import CLIENT, FAULT, OK, RUN, Event, downtime_windows

INTACT, LOST, DISCARDED, NOT_CHECKED = "intact", "perdu", "écarté par le split brain", "non vérifié"
UNDECIDED = "indécidable"  # missing after a split brain, acknowledged by a node nobody can name
IN_CACHE = "perdu à la coupure de courant"  # acknowledged by the node whose power was cut, still in its page cache
CACHE_WORDS = ("acquitté {ago:.1f} s avant la coupure de courant de son nœud, encore dans son cache : proftpd répond 226 "
               "sans forcer l'écriture sur disque, et ce nœud n'écrit qu'après {window:.0f} s (vm.dirty_expire + "
               "vm.dirty_writeback + le commit du journal, lus sur le nœud)")
UNREPLICATED_WORDS = ("acquitté {ago:.1f} s avant la coupure du câble par le nœud écarté, encore dans son cache : jamais "
                      "répliqué (ce nœud n'écrit qu'après {window:.0f} s)")
EMPTY_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # sha256 of no bytes
POWER_CUT = "coupure de courant"  # the label of PowerLoss faults (bascule/cluster/faults.py)
SPLIT_BRAIN_WORDS = "perdu par la résolution du split brain, attendu sans STONITH"
END = "fin"  # the final verification's label
NEAR = 5.0  # seconds: a curl upload is taken to have reached the node the FTP client reached this close in time


@dataclass(frozen=True)
class FileFate:
    name: str
    uploader: str
    acked_at: float  # when the server's 226 came
    served_by: str | None
    fate: str  # INTACT | LOST | DISCARDED | UNDECIDED | NOT_CHECKED
    seen: str = ""  # what the verification found: « absent », « contenu différent (sha256 …) », « illisible »
    found_after: str = ""  # the verification (its fault's label, or « fin ») that first found it so
    found_after_index: int | None = None  # that fault's number (None: the end, or a read-back during the run)
    note: str = ""


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
    played: bool  # the fault was injected (not: interrupted before, or impossible on this cluster)
    recovered: bool
    recovery_s: float | None  # from the fault's start to the cluster back at its baseline
    repairs: tuple[str, ...]
    outage_s: dict[str, float | None]  # uploader → seconds without service; None: never came back
    acked: dict[str, int]  # uploader → uploads acknowledged between this fault's start and the next's
    failed: dict[str, int]
    lost: int
    discarded: int
    status: str = ""  # why it was not played, or what went wrong
    in_cache: int = 0  # lost at its power cut, still in the cut node's page cache


@dataclass(frozen=True)
class EnduranceVerdict:
    verdict: str  # OK | KO | inconnu
    why: str
    seed: int | None
    files: tuple[FileFate, ...]
    failed_uploads: tuple[FailedUpload, ...]
    faults: tuple[FaultLine, ...]
    totals: dict[str, dict[str, int]] = field(default_factory=dict)  # uploader → {acked, failed, lost, discarded…}
    cause: str = ""  # a KO's cause, read on the cluster; « cause non identifiée » without evidence
    fix: str = ""  # how to fix it, when the cause is known

    def lost(self, uploader: str | None = None) -> list[FileFate]:
        return [f for f in self.files if f.fate == LOST and (uploader is None or f.uploader == uploader)]

    def lost_outside_faults(self) -> int:
        """Losses found at the end or by a read-back during the run, on no fault's line."""
        return sum(1 for f in self.files if f.fate == LOST and f.found_after_index is None)


def _run_events(events: list[Event], op: str) -> list[Event]:
    return [e for e in events if e.source == RUN and e.process == ENDURANCE and e.op == op]


def _value(e: Event | None) -> dict:
    return e.value if e is not None and isinstance(e.value, dict) else {}


def run_value(events: Iterable[Event], op: str) -> dict:
    """The value of the run's first event of this kind (START, STOP…), {} when it has none."""
    return _value(next(iter(_run_events(list(events), op)), None))


def judge_endurance(events: Iterable[Event]) -> EnduranceVerdict:
    events = sorted(events, key=lambda e: (e.t, e.index))
    start = next(iter(_run_events(events, START)), None)
    seed = _value(start).get("seed")
    uploads = [e for e in events if e.source == CLIENT and e.op == UPLOAD]
    acked = {(_value(e).get("name")): e for e in uploads if e.outcome == OK and _value(e).get("name")}
    verifications = _run_events(events, VERIFY)
    ftp_acks = [e for e in uploads if e.outcome == OK and e.process == FTP_UPLOADER and _value(e).get("served_by")]
    cuts = [e for e in events if e.source == FAULT and e.op == "start" and e.outcome == OK
             and e.process.startswith(POWER_CUT + " ")]
    writeback = _value(start).get("writeback_s") or {}
    fates = {name: _fate(name, ack, verifications, _run_events(events, SPLIT_BRAIN), ftp_acks, cuts, writeback)
             for name, ack in acked.items()}
    # a read-back during the run that returned other bytes than those acknowledged is a loss too; an
    # empty file is left to the verifications, which know whether a fault explains it
    for e in events:
        got = _value(e).get("sha256")
        name = _value(e).get("name")
        if e.source == CLIENT and e.op == READ_BACK and e.outcome == OK and got and got != EMPTY_SHA and name in acked \
                and got != _value(acked[name]).get("sha256") and fates[name].fate != LOST:
            a = acked[name]
            fates[name] = FileFate(name, a.process, a.end, _value(a).get("served_by"), LOST,
                                   "contenu différent à la relecture", "pendant la série")
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
                      "in_cache": sum(1 for f in mine if f.fate == IN_CACHE),
                      "not_checked": sum(1 for f in mine if f.fate in (NOT_CHECKED, UNDECIDED))}
    verdict, why = _verdict(fates, verifications, events)
    cause, fix = _cause(events, fates) if verdict == "KO" else ("", "")
    return EnduranceVerdict(verdict, why, seed, tuple(sorted(fates.values(), key=lambda f: f.acked_at)),
                            tuple(failed), tuple(lines), totals, cause, fix)


UNIDENTIFIED = "cause non identifiée"


def _sudden_faults(events: list[Event]) -> set[int]:
    """The numbers of the faults that cut a node off at once (power cut, cable), as the run planned them."""
    return {_value(e).get("index") for e in _run_events(events, PLANNED) if _value(e).get("kind") in ("courant", "cable")}


def _inventory(public: object):
    """The run's inventory, as its start event holds it; None when it holds none that can be read."""
    try:
        return from_public(public) if isinstance(public, dict) else None
    except (KeyError, TypeError, ValueError):
        return None


def _cause(events: list[Event], fates: dict[str, FileFate]) -> tuple[str, str]:
    """Why a KO run lost files or did not recover, from what was read on the cluster: the storage
    evidence (the file system resource, what each node mounts, DRBD's protocol) for losses, the
    audit's findings for a cluster that did not come back. Without evidence: « cause non identifiée »."""
    causes: list[str] = []
    fixes: list[str] = []
    lost = [f for f in fates.values() if f.fate == LOST]
    if lost:
        readings = [_value(e) for e in _run_events(events, STORAGE)]
        usable = [r for r in readings if not read_nothing(r)]
        inv = _inventory(run_value(events, START).get("cluster"))
        if inv is not None and usable:
            sudden = _sudden_faults(events)
            after_sudden = any(f.found_after_index in sudden for f in lost)
            seen: dict[str, str] = {}
            for reading in usable:
                for finding in storage_findings(reading, inv):
                    if after_sudden or not finding.sudden_only:
                        seen.setdefault(finding.cause, finding.fix)
            if seen:
                causes += list(seen)
                fixes += list(dict.fromkeys(fix for fix in seen.values() if fix))
            else:
                causes.append(f"{UNIDENTIFIED} pour les fichiers perdus : {ruled_out(usable[-1], inv)}")
        elif not readings:
            causes.append(f"{UNIDENTIFIED} pour les fichiers perdus : aucune lecture du stockage dans cet historique "
                          "(bascule antérieur)")
        elif not usable:
            causes.append(f"{UNIDENTIFIED} pour les fichiers perdus : le stockage n'a pas pu être lu sur le cluster")
        else:
            causes.append(f"{UNIDENTIFIED} pour les fichiers perdus : l'inventaire de la série manque à son historique")
    for v in (_value(e) for e in _run_events(events, RECOVERED)):
        if not v.get("recovered"):
            left = " ; ".join(v.get("left") or []) or UNIDENTIFIED
            causes.append(f"après la panne {v.get('index') or '?'} ({v.get('label', '?')}), l'audit a trouvé : {left}")
    return " ; ".join(causes), " ; ".join(fixes)


def _node_of(ack: Event, ftp_acks: list[Event]) -> tuple[str | None, str]:
    """The node that acknowledged an upload; for curl, which cannot tell, the node the FTP client
    reached at the same moment (said in the note), else None."""
    node = _value(ack).get("served_by")
    if node is not None:
        return node, ""
    near = [a for a in ftp_acks if abs(a.end - ack.end) <= NEAR]
    guess = min(near, key=lambda a: abs(a.end - ack.end)) if near else None
    if guess is None:
        return None, ""
    return _value(guess).get("served_by"), f"nœud déduit du client FTP à {abs(guess.end - ack.end):.1f} s près"


def _fate(name: str, ack: Event, verifications: list[Event], splits: list[Event], ftp_acks: list[Event],
          cuts: list[Event] = (), writeback: dict | None = None) -> FileFate:
    """What became of one acknowledged file: what the last verification that could read it found,
    and the first one that found it gone or changed (where it was lost)."""
    sha, node = _value(ack).get("sha256"), _value(ack).get("served_by")
    first_bad: tuple[Event, str] | None = None
    state = None  # None: never read; "intact"; "illisible"; or what was found instead
    for ver in verifications:
        v = _value(ver)
        read = v.get("read") or {}
        if ver.t < ack.end or name not in read:
            continue
        if name in (v.get("unreadable") or ()):
            state = "illisible"
        elif read[name] == sha:
            state = "intact"
        else:
            size = (v.get("sizes") or {}).get(name)
            state = ("absent" if read[name] is None else "vide (0 octet)" if read[name] == EMPTY_SHA
                     else f"tronqué ({size} octets sur {_value(ack).get('size')})"
                     if size is not None and _value(ack).get("size") and size < _value(ack)["size"]
                     else f"contenu différent (sha256 {str(read[name])[:12]}…)")
            first_bad = first_bad or (ver, state)

    def fate(kind: str, seen: str = "", where: Event | None = None, note: str = "") -> FileFate:
        return FileFate(name, ack.process, ack.end, node, kind, seen, _value(where).get("after", ""),
                        _value(where).get("index"), note)
    if state is None:
        return fate(NOT_CHECKED, "jamais relu")
    if state == "illisible":
        return fate(NOT_CHECKED, "illisible")
    if state == "intact":
        if first_bad is not None:
            return fate(INTACT, note=f"{first_bad[1]} après {_value(first_bad[0]).get('after', '?')}, relu intact ensuite")
        return fate(INTACT)
    where, seen = first_bad
    if not seen.startswith(("absent", "vide", "tronqué")):
        return fate(LOST, seen, where)  # other bytes than those acknowledged: no fault explains that
    who, how = _node_of(ack, ftp_acks)
    also = f" ; {how}" if how else ""
    for s in splits:
        sv = _value(s)
        cut_at, discarded = sv.get("cut_at", s.t), sv.get("discarded")
        # acknowledged by the discarded node during the cut, or just before it while still in its cache
        window = (writeback or {}).get(discarded) or 0.0
        if not (s.t <= where.t and cut_at - window <= ack.end <= s.t):
            continue
        if how and ack.end >= cut_at:
            # both nodes may carry the VIP while split: two clients at one moment may reach two nodes
            return fate(UNDECIDED, seen, where, note="acquitté pendant le split brain par un nœud que curl ne dit pas")
        if who == discarded:
            if ack.end < cut_at:
                return fate(DISCARDED, seen, where, UNREPLICATED_WORDS.format(ago=cut_at - ack.end, window=window) + also)
            return fate(DISCARDED, seen, where, note=how)
        if who is None and ack.end >= cut_at:
            return fate(UNDECIDED, seen, where, note="acquitté pendant la coupure par un nœud inconnu")
    for cut in cuts:
        # the node's page cache: what the kernel had not yet written when its power went (read on the node)
        cut_node = cut.process[len(POWER_CUT) + 1:]
        window = (writeback or {}).get(cut_node)
        if window and who == cut_node and cut.t - window <= ack.end <= cut.t and cut.t <= where.t:
            return fate(IN_CACHE, seen, where, CACHE_WORDS.format(ago=cut.t - ack.end, window=window) + also)
    return fate(LOST, seen, where)


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
        index = pv.get("index", i + 1)
        rec = recovered.get(index)
        rv = _value(rec)
        t_next = planned[i + 1].t if i + 1 < len(planned) else end_of_run
        # the fault's own start event, after its pause (none: it was not played)
        own = next((f for f in fault_starts if p.t <= f.t < t_next), None)
        t0 = own.t if own is not None else p.t
        t1 = t_next
        outage, acked, failed = {}, {}, {}
        for up in (FTP_UPLOADER, CURL_UPLOADER):
            mine = [e for e in events if e.source == CLIENT and e.process == up and e.op == UPLOAD and t0 <= e.t < t1]
            if not mine and not any(e.process == up for e in events):
                continue
            acked[up] = sum(1 for e in mine if e.outcome == OK)
            failed[up] = sum(1 for e in mine if e.outcome != OK)
            # the windows without service that overlap this fault's time (one may begin at the last
            # upload acknowledged before it)
            if own is None:
                continue  # not played: no outage to speak of
            ws = [w for w in windows[up] if (w.end is None or w.end > t0) and w.start < t1]
            outage[up] = None if any(w.end is None for w in ws) else round(sum(w.duration for w in ws), 1)
        label = rv.get("label") or pv.get("kind", "?")
        lines.append(FaultLine(
            index, pv.get("kind", "?"), label, t0, rec.t if rec is not None else end_of_run, own is not None,
            bool(rv.get("recovered")), round(rec.t - t0, 1) if rec is not None and own is not None else None,
            tuple(rv.get("repairs") or ()), outage, acked, failed,
            sum(1 for f in fates.values() if f.fate == LOST and f.found_after_index == index),
            sum(1 for f in fates.values() if f.fate == DISCARDED and f.found_after_index == index),
            rv.get("status", "") or ("" if own is not None else "non jouée"),
            sum(1 for f in fates.values() if f.fate == IN_CACHE and f.found_after_index == index)))
    return lines


def _verdict(fates: dict[str, FileFate], verifications: list[Event], events: list[Event]) -> tuple[str, str]:
    lost = [f for f in fates.values() if f.fate == LOST]
    not_back = [_value(e) for e in _run_events(events, RECOVERED) if not _value(e).get("recovered")]
    stop = run_value(events, STOP).get("reason", "")
    interrupted = f" ; {stop}" if stop.startswith("interrompue") else ""
    if lost or not_back:
        why = []
        if lost:
            why.append(f"{len(lost)} fichier(s) acquitté(s) perdu(s) ou modifié(s)")
        if not_back:
            why.append("le cluster n'est pas revenu à son état de référence après " +
                       ", ".join(f"la panne {v.get('index') or '?'} ({v.get('label', '?')})" for v in not_back))
        return "KO", " ; ".join(why) + interrupted
    if not any(_value(v).get("after") == END for v in verifications):
        return "inconnu", "pas de vérification finale (série interrompue avant la fin ?)" + interrupted
    unchecked = [f for f in fates.values() if f.fate in (NOT_CHECKED, UNDECIDED)]
    if unchecked:
        undecided = sum(1 for f in unchecked if f.fate == UNDECIDED)
        return "inconnu", (f"{len(unchecked)} fichier(s) acquitté(s) sans verdict : "
                           + (f"{undecided} absent(s) après le split brain, acquitté(s) par un nœud inconnu ; "
                              if undecided else "") + f"{len(unchecked) - undecided} n'ont pas pu être relus"
                           ) + interrupted
    if not fates:
        return "inconnu", "aucun envoi acquitté : rien à vérifier" + interrupted
    discarded = [f for f in fates.values() if f.fate == DISCARDED]
    in_cache = [f for f in fates.values() if f.fate == IN_CACHE]
    back = [f for f in fates.values() if f.note.endswith("relu intact ensuite")]
    head = (f"{len(fates)} fichiers acquittés, tous relus intacts" if not (discarded or in_cache)
            else f"{len(fates)} fichiers acquittés, aucune perte inexpliquée")
    return "OK", (head + (f" ; {len(discarded)} {SPLIT_BRAIN_WORDS}" if discarded else "")
                  + (f" ; {len(in_cache)} perdu(s) à une coupure de courant, encore dans le cache du nœud coupé"
                     if in_cache else "")
                  + (f" ; {len(back)} absent(s) un temps puis relu(s) intact(s)" if back else "") + interrupted)
