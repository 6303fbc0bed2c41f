"""The endurance run's checker: a pure function of its history, like the scenarios' checks, so that a
saved run is judged again the same way (Jepsen's set-full checker, with this lab's split brain).

Every file the server acknowledged (226) has one class, from every read of it (the uploader's
read-backs during the run, the verifications after each fault, the final one on the serving node
and the one on the replica, after a switchover to it):
- **intact**: read back with its bytes everywhere, the replica included;
- **stale**: intact at the end, but absent (or empty) at a read while the service ran;
- **corrupted**: other bytes at any read, even if a later read is intact;
- **lost**: absent, empty or truncated at the end; **discarded by the split brain** when document 3's
  recovery threw away the node that acknowledged it, **lost at a power cut** when the node whose power
  went acknowledged it within its page cache's window (read on the node): these two are losses with
  an explanation, never hidden behind it;
- **not replicated**: intact on the serving node, absent or different on the replica;
- **never read** (or undecided: absent after a split brain, acknowledged by a node nobody can name).
Beside the files: **unexpected** files (present, attempted by no client), **recovered** uploads (failed,
yet the file is there), failed uploads refused or timed out, bascule's own repairs, the storage
readings (where /home is written, DRBD's protocol) and DRBD's out-of-sync count at the end.

Verdicts, each with its exit code (bascule/cli.py): OK only when every acknowledged file was read back
intact on both nodes' data and no anomaly was seen; « pertes expliquées » when the only anomalies have
an explanation (split-brain discard, power cut before writeback, a stale read while both nodes served
during a cut cable); KO for anything else (an unexplained loss, a corruption, a stale read, a file
not replicated, an unexpected file, a repair, a storage finding, a fault not recovered from); « inconnu »
only when files could not be judged and no loss was seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median
from typing import Iterable

from bascule.facts.placement import node_named
from bascule.facts.storage import read_nothing, ruled_out, storage_findings
from bascule.facts.windows import downtime_windows
from bascule.inventory import from_public
from bascule.record.endurance import (
    CURL_UPLOADER,
    ENDURANCE,
    FTP_UPLOADER,
    PLANNED,
    READ_BACK,
    RECOVERED,
    REPLICA,
    SPLIT_BRAIN,
    START,
    STOP,
    STORAGE,
    UPLOAD,
    VERIFY,
)
from bascule.record.history import CLIENT, FAULT, INFO, OK, RUN, Event

INTACT, STALE, CORRUPTED, LOST = "intact", "lecture périmée", "corrompu", "perdu"
DISCARDED, IN_CACHE = "écarté par le split brain", "perdu à la coupure de courant"
NOT_REPLICATED, NOT_CHECKED = "absent de la réplique", "non vérifié"
UNDECIDED = "indécidable"  # missing after a split brain, acknowledged by a node nobody can name
EXPLAINED_LOSSES = (DISCARDED, IN_CACHE)
# verdicts, and what `bascule endurance` exits with for each (README, --help)
OK_VERDICT, EXPLAINED, KO, UNKNOWN = "OK", "pertes expliquées", "KO", "inconnu"
EXIT_CODES = {OK_VERDICT: 0, KO: 1, EXPLAINED: 3, UNKNOWN: 4}
CACHE_WORDS = (
    "acquitté {ago:.1f} s avant la coupure de courant de son nœud, encore dans son cache : proftpd répond 226 "
    "sans forcer l'écriture sur disque, et ce nœud n'écrit qu'après {window:.0f} s (vm.dirty_expire + "
    "vm.dirty_writeback + le commit du journal, lus sur le nœud)"
)
CACHE_FIX = (
    "pour qu'un envoi acquitté soit sur disque : monter /home avec l'option sync (crm configure edit de la "
    "primitive du système de fichiers : options=sync) ; chaque écriture atteint alors le disque, et avec DRBD "
    "en protocole C celui de l'autre nœud, avant le 226, au prix du débit"
)
UNREPLICATED_WORDS = (
    "acquitté {ago:.1f} s avant la coupure du câble par le nœud écarté, encore dans son cache : jamais "
    "répliqué (ce nœud n'écrit qu'après {window:.0f} s)"
)
SPLIT_FIX = "STONITH et deux liens réseau (document 3) évitent le split brain et donc cet écart"
EMPTY_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # sha256 of no bytes
POWER_CUT = "coupure de courant"  # the label of PowerLoss faults (bascule/cluster/faults.py)
CABLE = "câble débranché"  # the label of CablePull faults
SPLIT_BRAIN_WORDS = "perdu par la résolution du split brain, attendu sans STONITH"
END = "fin"  # the final verification's label
NEAR = 5.0  # seconds: a curl upload that names no node is taken to have reached the node the FTP client reached
UNIDENTIFIED = "cause non identifiée"


@dataclass(frozen=True)
class FileFate:
    name: str
    uploader: str
    acked_at: float  # when the server's 226 came
    served_by: str | None
    fate: str  # one of the classes above
    seen: str = ""  # what the read found: « absent », « contenu différent (sha256 …) », « vide (0 octet) »…
    found_after: str = ""  # the verification (its fault's label, « fin », « réplique ») that first found it so
    found_after_index: int | None = None  # that fault's number (None: the end, or a read during the run)
    note: str = ""
    explained: bool = False  # a loss or a stale read with an explanation (still counted, never OK)
    anomalies: tuple[str, ...] = ()  # every read that did not give the acknowledged bytes, in order


@dataclass(frozen=True)
class FailedUpload:
    name: str
    uploader: str
    at: float
    error: str
    left: str  # « rien », « fichier partiel (N octets) », « fichier complet malgré l'échec »
    how: str = "refusé"  # « refusé » (the server answered, or the connection broke) or « sans réponse » (timed out)


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
    target: str = ""  # the node it hit
    overlapped: str = ""  # compound mode: what the cluster was still doing when it was injected
    anomalies: int = 0  # stale reads and corruptions found by its verification


@dataclass(frozen=True)
class EnduranceVerdict:
    verdict: str  # OK | pertes expliquées | KO | inconnu
    why: str
    seed: int | None
    files: tuple[FileFate, ...]
    failed_uploads: tuple[FailedUpload, ...]
    faults: tuple[FaultLine, ...]
    totals: dict[str, dict[str, int]] = field(default_factory=dict)  # uploader → {acked, lost, stale…}
    cause: str = ""  # a KO's cause, read on the cluster; « cause non identifiée » without evidence
    fix: str = ""  # how to fix it, when the cause is known
    unexpected: tuple[str, ...] = ()  # files present that no client attempted
    explanations: tuple[str, ...] = ()  # « pertes expliquées »: each explanation, with its count and fix
    replica: str = ""  # what the read of the replica found, in words
    availability: dict[str, dict] = field(default_factory=dict)  # uploader → {night, by kind}
    time_spent: dict[str, float] = field(default_factory=dict)  # how the night's time went
    replay: str = ""  # the command that replays this night

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.verdict, 1)

    def lost(self, uploader: str | None = None) -> list[FileFate]:
        """The files lost without an explanation (corrupted and not replicated included)."""
        return [
            f
            for f in self.files
            if f.fate in (LOST, CORRUPTED, NOT_REPLICATED, UNDECIDED) and (uploader is None or f.uploader == uploader)
        ]

    def of(self, fate: str) -> list[FileFate]:
        return [f for f in self.files if f.fate == fate]

    def lost_outside_faults(self) -> int:
        """Losses found at the end or by a read during the run, on no fault's line."""
        return sum(1 for f in self.lost() if f.found_after_index is None)


def _run_events(events: list[Event], op: str) -> list[Event]:
    return [e for e in events if e.source == RUN and e.process == ENDURANCE and e.op == op]


def _value(e: Event | None) -> dict:
    return e.value if e is not None and isinstance(e.value, dict) else {}


def run_value(events: Iterable[Event], op: str) -> dict:
    """The value of the run's first event of this kind (START, STOP…), {} when it has none."""
    return _value(next(iter(_run_events(list(events), op)), None))


def judge_endurance(events: Iterable[Event]) -> EnduranceVerdict:
    events = sorted(events, key=lambda e: (e.t, e.index))
    start = run_value(events, START)
    uploads = [e for e in events if e.source == CLIENT and e.op == UPLOAD]
    acked = {(_value(e).get("name")): e for e in uploads if e.outcome == OK and _value(e).get("name")}
    verifications = _run_events(events, VERIFY)
    ftp_acks = [e for e in uploads if e.outcome == OK and e.process == FTP_UPLOADER and _value(e).get("served_by")]
    cuts = [
        e
        for e in events
        if e.source == FAULT and e.op == "start" and e.outcome == OK and e.process.startswith(POWER_CUT + " ")
    ]
    reads = _reads(events, verifications)
    context = _Context(
        _run_events(events, SPLIT_BRAIN),
        ftp_acks,
        cuts,
        start.get("writeback_s") or {},
        _split_windows(events),
        _must_read(verifications),
        tuple((e.t, _value(e).get("index")) for e in _run_events(events, PLANNED)),
        _inventory(start.get("cluster")),
    )
    fates = {name: _fate(name, ack, reads.get(name, []), context) for name, ack in acked.items()}
    failed = _failed_uploads(uploads, acked, verifications)
    unexpected = _unexpected(uploads, verifications)
    lines = _fault_lines(events, fates)
    totals = _totals(uploads, fates, failed, unexpected)
    storage = _storage_findings(events)
    drbd = _drbd_out_of_sync(events)
    verdict, why = _verdict(fates, verifications, events, unexpected, storage, drbd)
    cause, fix = _cause(events, fates, storage, drbd) if verdict == KO else ("", "")
    return EnduranceVerdict(
        verdict,
        why,
        start.get("seed"),
        tuple(sorted(fates.values(), key=lambda f: f.acked_at)),
        tuple(failed),
        tuple(lines),
        totals,
        cause,
        fix,
        tuple(unexpected),
        _explanations(fates),
        _replica_words(events),
        _availability(events, lines),
        _time_spent(events),
        start.get("replay", ""),
    )


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Read:
    at: Event  # the verification or the read-back
    got: str | None  # the sha256 read, None: absent
    size: int | None
    during_run: bool  # a read-back by the uploader, or a verification after a fault (not the end)
    replica: bool  # the final read on the replica


def _reads(events: list[Event], verifications: list[Event]) -> dict[str, list[_Read]]:
    """Every read of every file, in time order: the uploader's read-backs (an « absent » only when the
    server said No such file), then each verification's."""
    out: dict[str, list[_Read]] = {}
    for e in events:
        v = _value(e)
        if e.source == CLIENT and e.op == READ_BACK and e.outcome == OK and v.get("name"):
            refused = str(v.get("refused") or "")
            if v.get("sha256") is None and not _said_absent(refused):
                continue  # refused for another reason (a permission): says nothing of the file
            out.setdefault(v["name"], []).append(_Read(e, v.get("sha256"), None, True, False))
        elif e in verifications:
            for name, got in (v.get("read") or {}).items():
                if name in (v.get("unreadable") or ()):
                    continue
                out.setdefault(name, []).append(
                    _Read(
                        e,
                        got,
                        (v.get("sizes") or {}).get(name),
                        v.get("after") != END and not v.get("replica"),
                        bool(v.get("replica")),
                    )
                )
    return out


def _said_absent(refused: str) -> bool:
    return refused.startswith("550") and ("No such file" in refused or "not found" in refused.lower())


@dataclass(frozen=True)
class _Context:
    splits: list[Event]
    ftp_acks: list[Event]
    cuts: list[Event]
    writeback: dict
    split_windows: list[tuple[float, float]]  # from a cable's cut to its split brain resolved (or its heal)
    # the final read and the replica's: every file acknowledged before them must have been read there
    must_read: tuple[Event, ...] = ()
    planned: tuple[tuple[float, int], ...] = ()  # each planned fault: when, its number
    inventory: object = None  # the run's inventory, when its history holds one

    def node(self, hostname: str | None) -> str | None:
        """A node as the inventory names it (/etc/hostname may hold the domain); its short name without one."""
        named = node_named(hostname, self.inventory) if self.inventory is not None else None
        return named or (hostname.split(".")[0] if hostname else hostname)

    def fault_index(self, t: float) -> int | None:
        """The number of the fault under way at `t` (the last one planned before it)."""
        return next((i for when, i in reversed(self.planned) if when <= t), None)


def _must_read(verifications: list[Event]) -> tuple[Event, ...]:
    end = next((v for v in verifications if _value(v).get("after") == END), None)
    replica = next((v for v in verifications if _value(v).get("replica")), None)
    return tuple(v for v in (end, replica) if v is not None)


def _split_windows(events: list[Event]) -> list[tuple[float, float]]:
    """When both nodes may have served at once: from each cut cable to the split brain's resolution, or
    to the cluster back at its baseline."""
    starts = [e for e in events if e.source == FAULT and e.op == "start" and e.process.startswith(CABLE + " ")]
    ends = [e.t for e in _run_events(events, SPLIT_BRAIN) + _run_events(events, RECOVERED)]
    return [(s.t, min((t for t in ends if t >= s.t), default=float("inf"))) for s in starts]


def _what_was_read(r: _Read, ack: Event) -> str:
    size, acked_size = r.size, _value(ack).get("size")
    if r.got is None:
        return "absent"
    if r.got == EMPTY_SHA:
        return "vide (0 octet)"
    if size is not None and acked_size and size < acked_size:
        return f"tronqué ({size} octets sur {acked_size})"
    return f"contenu différent (sha256 {str(r.got)[:12]}…)"


def _where(r: _Read) -> str:
    v = _value(r.at)
    if r.at.source == CLIENT:
        return f"relecture pendant la série (+{r.at.t:.0f} s)"
    return "la réplique" if r.replica else str(v.get("after", "?"))


def _fate(name: str, ack: Event, reads: list[_Read], ctx: _Context) -> FileFate:
    """What became of one acknowledged file, from every read of it after its 226."""
    sha, node = _value(ack).get("sha256"), _value(ack).get("served_by")
    reads = [r for r in reads if r.at.t >= ack.end]
    anomalies = tuple(f"{_what_was_read(r, ack)} ({_where(r)})" for r in reads if r.got != sha)

    def fate(
        kind: str,
        seen: str = "",
        where: _Read | None = None,
        note: str = "",
        explained: bool = False,
        event: Event | None = None,
    ) -> FileFate:
        """`event`: the fault that explains the loss, whose line counts it (wherever it was first seen)."""
        v = _value(where.at) if where is not None and where.at.source == RUN else {}
        index = v.get("index") if not v.get("replica") else None
        if event is not None:
            index = ctx.fault_index(event.t) or index
        return FileFate(
            name,
            ack.process,
            ack.end,
            node,
            kind,
            seen,
            (_where(where) if where is not None else ""),
            index,
            note,
            explained,
            anomalies,
        )

    primary = [r for r in reads if not r.replica]
    replica = [r for r in reads if r.replica]
    if not primary:
        return fate(NOT_CHECKED, "jamais relu")
    # other bytes than acknowledged (not nothing, not a prefix): no fault explains that, at any read
    bad = next(
        (r for r in reads if r.got not in (None, EMPTY_SHA, sha) and not _what_was_read(r, ack).startswith("tronqué")),
        None,
    )
    if bad is not None:
        later = " ; relu intact ensuite" if reads[-1].got == sha else ""
        return fate(CORRUPTED, _what_was_read(bad, ack), bad, note=f"à {_where(bad)}{later}")
    last = primary[-1]
    if last.got != sha:
        first_bad = next(r for r in primary if r.got != sha and all(x.got != sha for x in primary[primary.index(r) :]))
        # found at its first read that never came back, explained by what came before its last one (a
        # read-back during the cut sees the loss before document 3's recovery makes it final)
        return _explain_loss(name, ack, _what_was_read(first_bad, ack), first_bad, primary, ctx, fate)
    # intact so far, but a read that had to include it could not: the final one, or the replica's
    unread = [v for v in ctx.must_read if v.t >= ack.end and not any(r.at is v for r in reads)]
    if unread:
        where = "la réplique" if _value(unread[-1]).get("replica") else "la vérification finale"
        return fate(NOT_CHECKED, f"illisible à {where}", note="intact aux lectures précédentes")
    stale = [r for r in primary if r.got != sha]
    if replica and replica[-1].got != sha:
        return fate(
            NOT_REPLICATED,
            _what_was_read(replica[-1], ack),
            replica[-1],
            note="intact sur le nœud qui servait, pas sur l'autre",
        )
    if stale:
        first = stale[0]
        during_cut = all(any(a <= r.at.t <= b for a, b in ctx.split_windows) for r in stale)
        note = f"{_what_was_read(first, ack)} à {_where(first)}, relu intact ensuite" + (
            " ; pendant une coupure de câble, quand les deux nœuds pouvaient servir" if during_cut else ""
        )
        return fate(STALE, _what_was_read(first, ack), first, note=note, explained=during_cut)
    return fate(INTACT)


def _node_of(ack: Event, ftp_acks: list[Event]) -> tuple[str | None, str]:
    """The node that acknowledged an upload; for a client that cannot tell, the node the FTP client
    reached at the same moment (said in the note), else None."""
    node = _value(ack).get("served_by")
    if node is not None:
        return node, ""
    near = [a for a in ftp_acks if abs(a.end - ack.end) <= NEAR]
    guess = min(near, key=lambda a: abs(a.end - ack.end)) if near else None
    if guess is None:
        return None, ""
    return _value(guess).get("served_by"), f"nœud déduit du client FTP à {abs(guess.end - ack.end):.1f} s près"


def _explain_loss(
    name: str, ack: Event, seen: str, where: _Read, primary: list[_Read], ctx: _Context, fate
) -> FileFate:
    """A file gone at the end: discarded by document 3, lost in a power cut's page cache, or lost. An
    explanation holds only for a file never read intact after the event that explains it."""
    if not seen.startswith(("absent", "vide", "tronqué")):
        return fate(LOST, seen, where)
    sha = _value(ack).get("sha256")
    last_read = primary[-1].at.t

    def intact_after(t: float) -> bool:
        return any(r.got == sha and r.at.t >= t for r in primary)

    who, how = _node_of(ack, ctx.ftp_acks)
    who = ctx.node(who)
    also = f" ; {how}" if how else ""
    for s in ctx.splits:
        sv = _value(s)
        cut_at, discarded = sv.get("cut_at", s.t), sv.get("discarded")
        # acknowledged by the discarded node during the cut, or just before it while still in its cache
        window = (ctx.writeback or {}).get(discarded) or 0.0
        discarded = ctx.node(discarded)
        if not (s.t <= last_read and cut_at - window <= ack.end <= s.t) or intact_after(s.t):
            continue
        if how and ack.end >= cut_at:
            # both nodes may carry the VIP while split: two clients at one moment may reach two nodes
            return fate(UNDECIDED, seen, where, note="acquitté pendant le split brain par un nœud que curl ne dit pas")
        if who == discarded:
            if ack.end < cut_at:
                return fate(
                    DISCARDED,
                    seen,
                    where,
                    UNREPLICATED_WORDS.format(ago=cut_at - ack.end, window=window) + also,
                    explained=True,
                    event=s,
                )
            return fate(DISCARDED, seen, where, note=how, explained=True, event=s)
        if who is None and ack.end >= cut_at:
            return fate(UNDECIDED, seen, where, note="acquitté pendant la coupure par un nœud inconnu")
    for cut in ctx.cuts:
        # the node's page cache: what the kernel had not yet written when its power went (read on the node)
        cut_node = cut.process[len(POWER_CUT) + 1 :]
        window = (ctx.writeback or {}).get(cut_node)
        if (
            window
            and who == ctx.node(cut_node)
            and cut.t - window <= ack.end <= cut.t
            and cut.t <= where.at.t
            and not intact_after(cut.t)
        ):
            return fate(
                IN_CACHE,
                seen,
                where,
                CACHE_WORDS.format(ago=cut.t - ack.end, window=window) + also,
                explained=True,
                event=cut,
            )
    return fate(LOST, seen, where)


# --- uploads, files and counts -----------------------------------------------------------------


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
                left = (
                    "fichier complet malgré l'échec"
                    if size == v.get("size")
                    else f"fichier partiel ({size} octets sur {v.get('size')})"
                    if size is not None
                    else "un fichier à ce nom"
                )
                break
        out.append(
            FailedUpload(
                name, e.process, e.t, e.error or e.outcome, left, "sans réponse" if e.outcome == INFO else "refusé"
            )
        )
    return out


def _unexpected(uploads: list[Event], verifications: list[Event]) -> list[str]:
    """Files listed in the run's own directories that no client ever tried to upload."""
    attempted = {_value(e).get("name") for e in uploads}
    directories = {n.rsplit("/", 1)[0] for n in attempted if n}
    seen: dict[str, None] = {}
    for ver in verifications:
        for name in _value(ver).get("listed") or ():
            if name not in attempted and name.rsplit("/", 1)[0] in directories:
                seen.setdefault(name)
    return list(seen)


COUNTED = (
    "acked",
    "intact",
    "stale",
    "corrupted",
    "lost",
    "discarded",
    "in_cache",
    "not_replicated",
    "not_checked",
    "failed",
    "refused",
    "timed_out",
    "recovered",
    "unexpected",
)
_BY_FATE = {
    INTACT: "intact",
    STALE: "stale",
    CORRUPTED: "corrupted",
    LOST: "lost",
    DISCARDED: "discarded",
    IN_CACHE: "in_cache",
    NOT_REPLICATED: "not_replicated",
    NOT_CHECKED: "not_checked",
    UNDECIDED: "lost",
}  # absent after a split brain, its node unnamed: a loss nothing explains


def _totals(
    uploads: list[Event], fates: dict[str, FileFate], failed: list[FailedUpload], unexpected: list[str]
) -> dict[str, dict[str, int]]:
    totals = {}
    for up in (FTP_UPLOADER, CURL_UPLOADER):
        mine = [f for f in fates.values() if f.uploader == up]
        if not mine and not any(e.process == up for e in uploads):
            continue
        count = dict.fromkeys(COUNTED, 0)
        count["acked"] = len(mine)
        for f in mine:
            count[_BY_FATE[f.fate]] += 1
        theirs = [f for f in failed if f.uploader == up]
        count["failed"] = len(theirs)
        count["refused"] = sum(1 for f in theirs if f.how == "refusé")
        count["timed_out"] = len(theirs) - count["refused"]
        count["recovered"] = sum(1 for f in theirs if f.left == "fichier complet malgré l'échec")
        dirs = {_value(e).get("name", "").rsplit("/", 1)[0] for e in uploads if e.process == up}
        count["unexpected"] = sum(1 for n in unexpected if n.rsplit("/", 1)[0] in dirs)
        totals[up] = count
    return totals


# --- the cluster's side: storage, DRBD, the replica ------------------------------------------------


def _inventory(public: object):
    """The run's inventory, as its start event holds it; None when it holds none that can be read."""
    try:
        return from_public(public) if isinstance(public, dict) else None
    except (KeyError, TypeError, ValueError):
        return None


def _sudden_faults(events: list[Event]) -> set[int]:
    """The numbers of the faults that cut a node off at once (power cut, cable), as the run planned them."""
    return {
        _value(e).get("index") for e in _run_events(events, PLANNED) if _value(e).get("kind") in ("courant", "cable")
    }


def _storage_findings(events: list[Event]) -> list:
    """What the storage readings show that lets an acknowledged file be lost, judged on every run (a
    weak DRBD protocol too: it loses what a sudden fault catches, whether or not this night drew one)."""
    inv = _inventory(run_value(events, START).get("cluster"))
    if inv is None:
        return []
    seen: dict[str, object] = {}
    for reading in (_value(e) for e in _run_events(events, STORAGE)):
        if not read_nothing(reading):
            for finding in storage_findings(reading, inv):
                seen.setdefault(finding.cause, finding)
    return list(seen.values())


def _drbd_out_of_sync(events: list[Event]) -> dict[str, int]:
    """Each node's out-of-sync count (KiB) as DRBD says it at the end, where it is not zero."""
    drbd = run_value(events, REPLICA).get("drbd") or {}
    return {
        node: int(v["oos_kib"])
        for node, v in sorted(drbd.items())
        if isinstance(v, dict) and isinstance(v.get("oos_kib"), int) and v["oos_kib"] > 0
    }


def _replica_read(events: list[Event]) -> Event | None:
    return next((e for e in _run_events(events, VERIFY) if _value(e).get("replica")), None)


def _replica_words(events: list[Event]) -> str:
    check = run_value(events, REPLICA)
    read = _replica_read(events)
    drbd = check.get("drbd") or {}
    oos = ", ".join(
        f"{n} {v['oos_kib']} Kio" if isinstance(v.get("oos_kib"), int) else f"{n} illisible"
        for n, v in sorted(drbd.items())
        if isinstance(v, dict)
    )
    said = f"DRBD à la fin, blocs hors synchronisation (oos) : {oos}" if oos else ""
    if read is not None:
        v = _value(read)
        served = v.get("served_by")
        served = ", ".join(served) if isinstance(served, list) else served
        said = (
            f"tout relu sur {served or '?'} après une bascule vers lui : {len(v.get('read') or {})} "
            f"fichiers en {v.get('took_s', 0):.0f} s" + (f" ; {said}" if said else "")
        )
        if check.get("error"):
            said += f" ; mais {check['error']}"
    elif check:
        said = f"réplique non relue : {check.get('error') or 'la bascule vers elle a échoué'}" + (
            f" ; {said}" if said else ""
        )
    return said or "réplique non relue (série sans lecture de la réplique)"


# --- the table's lines ----------------------------------------------------------------------------


def _fault_lines(events: list[Event], fates: dict[str, FileFate]) -> list[FaultLine]:
    planned = _run_events(events, PLANNED)
    recovered = {_value(e).get("index"): e for e in _run_events(events, RECOVERED)}
    # a fault injected while the previous one healed (compound mode) shares the later one's audit
    chained = {i: e for e in _run_events(events, RECOVERED) for i in (_value(e).get("chain") or ())}
    fault_starts = [e for e in events if e.source == FAULT and e.op == "start"]
    stop = next(iter(_run_events(events, STOP)), None)
    end_of_run = stop.t if stop is not None else (events[-1].end if events else 0.0)
    # the night's faults end where its final verification begins (the replica's switchover is no fault)
    final = next((e.t for e in _run_events(events, VERIFY) if _value(e).get("after") == END), end_of_run)
    windows = {up: downtime_windows(events, up) for up in (FTP_UPLOADER, CURL_UPLOADER)}
    lines = []
    for i, p in enumerate(planned):
        pv = _value(p)
        index = pv.get("index", i + 1)
        rec = recovered.get(index) or chained.get(index)
        rv = _value(rec)
        t_next = planned[i + 1].t if i + 1 < len(planned) else end_of_run
        # the fault's own start event, after its pause (none: it was not played)
        own = next((f for f in fault_starts if p.t <= f.t < min(t_next, final)), None)
        t0 = own.t if own is not None else p.t
        t1 = t_next
        outage, acked, failed = {}, {}, {}
        for up in (FTP_UPLOADER, CURL_UPLOADER):
            mine = [e for e in events if e.source == CLIENT and e.process == up and e.op == UPLOAD and t0 <= e.t < t1]
            if not mine and not any(e.process == up for e in events):
                continue
            acked[up] = sum(1 for e in mine if e.outcome == OK)
            failed[up] = sum(1 for e in mine if e.outcome != OK)
            if own is None:
                continue  # not played: no outage to speak of
            # the windows without service that overlap this fault's time (one may begin at the last
            # upload acknowledged before it)
            ws = [w for w in windows[up] if (w.end is None or w.end > t0) and w.start < t1]
            outage[up] = None if any(w.end is None for w in ws) else round(sum(w.duration for w in ws), 1)
        label = rv.get("label") if rv.get("index") == index and len(rv.get("chain") or ()) < 2 else None
        label = label or (own.process if own is not None else None) or pv.get("kind", "?")
        mine = [f for f in fates.values() if f.found_after_index == index]
        lines.append(
            FaultLine(
                index,
                pv.get("kind", "?"),
                label,
                t0,
                rec.t if rec is not None else end_of_run,
                own is not None,
                bool(rv.get("recovered")),
                round(rec.t - t0, 1) if rec is not None and own is not None else None,
                tuple(rv.get("repairs") or ()),
                outage,
                acked,
                failed,
                sum(1 for f in mine if f.fate in (LOST, CORRUPTED, NOT_REPLICATED, UNDECIDED)),
                sum(1 for f in mine if f.fate == DISCARDED),
                rv.get("status", "") if rv.get("index") == index else ("" if own is not None else "non jouée"),
                sum(1 for f in mine if f.fate == IN_CACHE),
                f"{pv['node']} ({pv.get('target', '?')})" if pv.get("node") else pv.get("target", ""),
                pv.get("overlapped", ""),
                sum(1 for f in mine if f.fate == STALE),
            )
        )
    return lines


def _availability(events: list[Event], lines: list[FaultLine]) -> dict[str, dict]:
    """Per client: the share of the night it was served, and each fault kind's outages (min, median, max)."""
    out = {}
    uploads = [e for e in events if e.source == CLIENT and e.op == UPLOAD]
    if not uploads:
        return out
    first, last = min(e.t for e in uploads), max(e.end for e in uploads)
    for up in (FTP_UPLOADER, CURL_UPLOADER):
        if not any(e.process == up for e in uploads):
            continue
        down = 0.0
        for w in downtime_windows(events, up):
            down += (w.end if w.end is not None else last) - w.start
        by_kind: dict[str, list[float]] = {}
        for line in lines:
            s = line.outage_s.get(up)
            if line.played and s is not None:
                by_kind.setdefault(line.kind, []).append(s)
        span = max(last - first, 1e-9)
        acks = sorted(e.end - e.t for e in uploads if e.process == up and e.outcome == OK)
        out[up] = {
            "served_pct": round(100 * (1 - down / span), 2),
            "down_s": round(down, 1),
            "latency_median_s": round(median(acks), 3) if acks else None,
            "latency_max_s": round(acks[-1], 3) if acks else None,
            "by_kind": {
                k: {"count": len(v), "min": min(v), "median": round(median(v), 1), "max": max(v)}
                for k, v in sorted(by_kind.items())
            },
        }
    return out


def _time_spent(events: list[Event]) -> dict[str, float]:
    """How the night's time went: quiet pauses, faults up to the cluster's return, verifications, the
    replica's read, and the rest (the start, the audits' reading of the cluster)."""
    if not events:
        return {}
    total = events[-1].end
    pauses = sum(float(_value(e).get("pause") or 0) for e in _run_events(events, PLANNED))
    verifying = sum(
        float(_value(e).get("took_s") or 0) for e in _run_events(events, VERIFY) if not _value(e).get("replica")
    )
    replica = float(run_value(events, REPLICA).get("took_s") or 0)
    # from each fault's start to the audit after it; a compound chain's two faults share one audit, so
    # the spans are merged (counted once)
    starts = [e.t for e in events if e.source == FAULT and e.op == "start"]
    audits = [r.t for r in _run_events(events, RECOVERED)]
    spans = []
    for p in _run_events(events, PLANNED):
        own = next((t for t in starts if t >= p.t), None)
        back = next((t for t in audits if own is not None and t >= own), None)
        if own is not None and back is not None:
            spans.append((own, back))
    faulting, reach = 0.0, float("-inf")
    for a, b in sorted(spans):
        faulting += max(0.0, b - max(a, reach))
        reach = max(reach, b)
    spent = {"total": total, "pauses": pauses, "faults": faulting, "verifications": verifying, "replica": replica}
    spent["other"] = max(0.0, total - pauses - faulting - verifying - replica)
    return {k: round(v, 1) for k, v in spent.items()}


# --- verdict, cause, explanations ------------------------------------------------------------


def _verdict(
    fates: dict[str, FileFate],
    verifications: list[Event],
    events: list[Event],
    unexpected: list[str],
    storage: list,
    drbd: dict[str, int],
) -> tuple[str, str]:
    count = lambda kind: sum(1 for f in fates.values() if f.fate == kind)  # noqa: E731
    not_back = [_value(e) for e in _run_events(events, RECOVERED) if not _value(e).get("recovered")]
    repaired = [_value(e) for e in _run_events(events, RECOVERED) if _value(e).get("repairs")]
    stop = run_value(events, STOP).get("reason", "")
    interrupted = f" ; {stop}" if stop.startswith("interrompue") else ""
    bad = []
    for kind, words in (
        (LOST, "perdu(s) sans explication"),
        (CORRUPTED, "corrompu(s) (d'autres octets à une lecture)"),
        (NOT_REPLICATED, "absent(s) ou différent(s) sur la réplique"),
        (
            UNDECIDED,
            "absent(s) après un split brain, acquitté(s) par un nœud que rien ne nomme : une perte que rien n'explique",
        ),
    ):
        if count(kind):
            bad.append(f"{count(kind)} fichier(s) acquitté(s) {words}")
    stale = [f for f in fates.values() if f.fate == STALE and not f.explained]
    if stale:
        bad.append(
            f"{len(stale)} lecture(s) périmée(s) : fichier acquitté absent ou vide à une relecture, service en marche"
        )
    if unexpected:
        bad.append(f"{len(unexpected)} fichier(s) inattendu(s) (présents, jamais envoyés)")
    if repaired:
        bad.append(
            "bascule a dû réparer le cluster : "
            + " ; ".join(f"après {_after(v, False)}, " + ", ".join(v.get("repairs") or ()) for v in repaired)
        )
    if not_back:
        bad.append(
            "le cluster n'est pas revenu à son état de référence après " + ", ".join(_after(v) for v in not_back)
        )
    if storage:
        bad.append("le stockage ne garde pas chaque envoi acquitté sur les deux nœuds (lu sur le cluster)")
    if drbd:
        bad.append("DRBD hors synchronisation à la fin : " + ", ".join(f"{n} {k} Kio" for n, k in drbd.items()))
    explained = [f for f in fates.values() if f.explained]
    also = _explained_words(fates)
    if bad:
        return KO, " ; ".join(bad) + (f" ; et {also}" if also else "") + interrupted
    unchecked = [f for f in fates.values() if f.fate == NOT_CHECKED]
    if explained:
        return EXPLAINED, (
            also
            + (f" ; {len(unchecked)} fichier(s) sans verdict" if unchecked else "")
            + ("" if any(_value(v).get("after") == END for v in verifications) else " ; pas de vérification finale")
            + ("" if _replica_read(events) is not None else " ; réplique non relue")
            + interrupted
        )
    if not any(_value(v).get("after") == END for v in verifications):
        return UNKNOWN, "pas de vérification finale (série interrompue avant la fin ?)" + interrupted
    if unchecked:
        return (
            UNKNOWN,
            f"{len(unchecked)} fichier(s) acquitté(s) sans verdict : ils n'ont pas pu être relus" + interrupted,
        )
    if not fates:
        return UNKNOWN, "aucun envoi acquitté : rien à vérifier" + interrupted
    if _replica_read(events) is None or run_value(events, REPLICA).get("error"):
        return UNKNOWN, (
            f"{len(fates)} fichiers acquittés relus intacts sur le nœud qui servait, mais {_replica_words(events)}"
        ) + interrupted
    return (
        OK_VERDICT,
        f"{len(fates)} fichiers acquittés, tous relus intacts sur les deux nœuds, aucune anomalie" + interrupted,
    )


def _after(recovered: dict, with_label: bool = True) -> str:
    """What an audit came after: a fault of the schedule (« la panne 6 (…) »), or bascule's own read of
    the replica, or an interruption, which have no number."""
    index, label = recovered.get("index"), recovered.get("label", "?")
    if index is None:
        return label
    return f"la panne {index}" + (f" ({label})" if with_label else "")


# each explanation: which files it covers, what the verdict's line says of them, and what would have
# kept them (its fix), in the report's « perte expliquée » lines
_EXPLAINED = (
    (
        lambda f: f.fate == DISCARDED,
        f"fichier(s) acquitté(s) {SPLIT_BRAIN_WORDS}",
        f"{SPLIT_BRAIN_WORDS} — pour les garder : {SPLIT_FIX}",
    ),
    (
        lambda f: f.fate == IN_CACHE,
        "fichier(s) acquitté(s) perdu(s) à une coupure de courant, encore dans le cache du nœud coupé",
        f"perdu(s) à une coupure de courant avant l'écriture sur disque — {CACHE_FIX}",
    ),
    (
        lambda f: f.fate == STALE and f.explained,
        "lecture(s) périmée(s) pendant une coupure de câble (les deux nœuds servaient)",
        f"lecture(s) périmée(s) pendant une coupure de câble — {SPLIT_FIX}",
    ),
)


def _explained_counts(fates: dict[str, FileFate]) -> list[tuple[int, str, str]]:
    counted = [(sum(1 for f in fates.values() if covers(f)), short, long) for covers, short, long in _EXPLAINED]
    return [c for c in counted if c[0]]


def _explained_words(fates: dict[str, FileFate]) -> str:
    return " ; ".join(f"{n} {short}" for n, short, _ in _explained_counts(fates))


def _explanations(fates: dict[str, FileFate]) -> tuple[str, ...]:
    """Each explained loss with its count and the fix that would have kept the files."""
    return tuple(f"{n} {long}" for n, _, long in _explained_counts(fates))


def _cause(events: list[Event], fates: dict[str, FileFate], storage: list, drbd: dict[str, int]) -> tuple[str, str]:
    """Why a KO run lost files or did not recover, from what was read on the cluster: the storage
    evidence (the file system resource, what each node mounts, DRBD's protocol), DRBD's own count,
    the audit's findings. A weak protocol explains only losses at a sudden fault (a clean move waits
    for DRBD's peer whatever the protocol): otherwise it is named as a risk, not as the losses' cause.
    Without evidence: « cause non identifiée », with what was ruled out."""
    lost = [
        f for f in fates.values() if f.fate in (LOST, CORRUPTED, NOT_REPLICATED, STALE, UNDECIDED) and not f.explained
    ]
    after_sudden = any(f.found_after_index in _sudden_faults(events) for f in lost)
    explaining = [f for f in storage if after_sudden or not f.sudden_only]
    causes: list[str] = [f.cause for f in explaining]
    causes += [
        f"{f.cause} (un risque lu sur le cluster : aucune perte de cette nuit après une panne soudaine)"
        for f in storage
        if f not in explaining
    ]
    fixes: list[str] = list(dict.fromkeys(f.fix for f in storage if f.fix))
    if drbd:
        causes.append(
            "DRBD compte des blocs hors synchronisation à la fin ("
            + ", ".join(f"{n} : oos {k} Kio" for n, k in drbd.items())
            + ", lu sur les nœuds) : la réplique n'a pas tout"
        )
        fixes.append("drbdadm verify puis drbdadm disconnect/connect de la ressource pour resynchroniser")
    if lost and not explaining:
        readings = [_value(e) for e in _run_events(events, STORAGE)]
        usable = [r for r in readings if not read_nothing(r)]
        inv = _inventory(run_value(events, START).get("cluster"))
        if inv is not None and usable:
            causes.insert(0, f"{UNIDENTIFIED} pour les fichiers perdus : {ruled_out(usable[-1], inv)}")
        elif not readings:
            causes.insert(
                0,
                f"{UNIDENTIFIED} pour les fichiers perdus : aucune lecture du stockage dans cet "
                "historique (bascule antérieur)",
            )
        elif not usable:
            causes.insert(0, f"{UNIDENTIFIED} pour les fichiers perdus : le stockage n'a pas pu être lu sur le cluster")
        else:
            causes.insert(
                0, f"{UNIDENTIFIED} pour les fichiers perdus : l'inventaire de la série manque à son historique"
            )
    for v in (_value(e) for e in _run_events(events, RECOVERED)):
        if not v.get("recovered"):
            left = " ; ".join(v.get("left") or []) or UNIDENTIFIED
            causes.append(f"après {_after(v)}, l'audit a trouvé : {left}")
        elif v.get("repairs"):
            causes.append(f"après {_after(v)}, bascule a dû réparer : " + " ; ".join(v["repairs"]))
    return " ; ".join(causes), " ; ".join(fixes)
