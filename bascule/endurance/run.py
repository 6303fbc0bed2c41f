"""`bascule endurance`: the lab's faults at random for a while, uploads all along, every acknowledged
file read back after each fault, at the end on the serving node, and then on the replica.

Each fault targets a role drawn with it (the serving node, or its peer) and is healed; in the compound
mode (`--composees`) a fault may be injected as soon as the previous one is healed, while the cluster
still fails back or resynchronises. After each fault, or chain of two, the cluster must come back to
its baseline (the scenarios' audit: bascule undoes its own faults, and any other repair is a finding).
A cut cable that ends in a split brain is resolved as document 3 says, keeping the data of the node
that served the clients during the cut (bascule/facts/keeper.py). `--duree` is a bound: a fault
that cannot finish, with its verification and the final reads, in what is left is not started.
Ctrl-C or SIGTERM: the fault in progress is healed, the files are verified, and the report says how far
the run got.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from bascule import __version__
from bascule.cluster.cluster import Cluster
from bascule.cluster.evidence import storage
from bascule.cluster.faults import (
    BlockRestart,
    CablePull,
    Faults,
    KillService,
    PowerLoss,
    Reboot,
    Standby,
    cable_switch,
    power_switch,
)
from bascule.cluster.ftp import FTPClient
from bascule.cluster.moves import await_cable_return
from bascule.cluster.nodes import Node, quote
from bascule.cluster.recovery import audit_after, settle
from bascule.cluster.split_brain import resolve_split_brain
from bascule.cluster.uploads import CurlUploader, FtpUploader, read_back_all
from bascule.endurance.schedule import KINDS, MASTER, Planned, replay_command, schedule
from bascule.errors import BasculeError, NodeError
from bascule.facts.keeper import split_brain_keeper
from bascule.facts.placement import placement_problems, split_brain_seen
from bascule.inventory import Inventory, public
from bascule.judging.endurance import END, EnduranceVerdict, judge_endurance
from bascule.record.cluster_state import parse_out_of_sync
from bascule.record.endurance import (
    ENDURANCE,
    PLANNED,
    RECOVERED,
    REPLICA,
    SPLIT_BRAIN,
    START,
    STOP,
    STORAGE,
    UPLOAD,
    VERIFY,
)
from bascule.record.history import CLIENT, INFO, OK, RUN, History
from bascule.reporting.endurance import write_allure, write_report
from bascule.waits import WaitTimeout

MOVE_DEADLINE = 360  # as the scenarios' failover rows
# What one fault costs, from its start to its verification, before the run has seen one of its kind
# (then the longest seen is used): the whole runs of 2026-12 on the embedded lab under emulation.
EXPECTED_S = {"standby": 150, "kill": 120, "kill-empeche": 200, "redemarrage": 330, "courant": 330, "cable": 240}
# the switchover to the replica and the failback with its audit, its read apart (measured 2026-12-07:
# 114 s and 138 s in all, reads of 101 and 1418 files included)
REPLICA_EXPECTED_S = 150
READ_S = 0.05  # seconds to read back one file, until the run has measured it
SAMPLE = 30  # earlier files read again at each verification, beside the new ones


@dataclass(frozen=True)
class Settings:
    duration_s: float
    seed: int
    kinds: tuple[str, ...]
    out: Path  # this night's own folder
    upload_period: float = 1.0
    curl_period: float = 2.0
    compound: bool = False
    inventory_path: str | None = None  # for the replay command

    @property
    def replay(self) -> str:
        return replay_command(self.seed, self.kinds, self.duration_s, self.compound, self.inventory_path, __version__)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, as a KeyboardInterrupt: no `except Exception` on the way (a wait's probe,
    a read-back) swallows it."""


def night_folder(parent: Path, now: datetime | None = None) -> Path:
    """One folder per night under --sortie, never the last one's: its date and time."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    folder, n = parent / stamp, 1
    while folder.exists():
        n += 1
        folder = parent / f"{stamp}-{n}"
    return folder


def _group_on(cluster: Cluster, node: Node, deadline: float) -> bool:
    """Whether the lab's resources came to run on `node` within the deadline."""
    try:
        cluster.wait_state(
            f"les ressources sur {node.name}",
            lambda s: not placement_problems(s, cluster.inv, node.name, membership=False),
            deadline=deadline,
            interval=3,
        )
        return True
    except WaitTimeout:
        return False


def _node_seen(cluster: Cluster, node: Node, what: str, holds, deadline: float) -> bool:
    """Whether the cluster came to see `node` so (offline, standby) within the deadline."""
    try:
        cluster.wait_state(
            what, lambda s: bool(s.node(node.name)) and holds(s.node(node.name)), deadline=deadline, interval=3
        )
        return True
    except WaitTimeout:
        return False


def _serving(cluster: Cluster) -> Node:
    """The node that runs the lab's group now (the preferred master when it cannot be read)."""
    try:
        where = cluster.state().where(cluster.inv.resources.group)
    except (NodeError, BasculeError):
        return cluster.master
    return cluster.nodes.get(where[0], cluster.master) if where else cluster.master


def _hold(seconds: float, since: float) -> None:
    """Keep a fault in place for the length the schedule drew for it (a cable out for N s): the
    fault's own duration, not a wait for the cluster."""
    left = since + seconds - time.monotonic()
    if left > 0:
        threading.Event().wait(left)


def _fault(
    cluster: Cluster, p: Planned, node: Node, serving: Node, faults: Faults, hypervisor, history: History, say
) -> str:
    """Inject one fault on `node` (the role the schedule drew; `serving` runs the group now), and heal
    it; returns its label. The audit that follows (or follows the chain) brings the cluster back to its
    baseline."""
    other = cluster.peer(node)
    moves = node is serving  # the service leaves the node hit, or stays where it is
    if p.kind == "standby":
        f = faults.start(Standby(cluster, node))
        if moves:
            _group_on(cluster, other, MOVE_DEADLINE)
        else:
            _node_seen(cluster, node, f"{node.name} en standby", lambda n: n.standby, 120)
        f.heal()
    elif p.kind == "kill":
        f = faults.start(KillService(cluster, node))
        try:  # Pacemaker notices at its next monitor and restarts it (fail-count + 1)
            cluster.wait_state(
                "le redémarrage de proftpd par Pacemaker",
                lambda s: cluster.fail_count(s, cluster.inv.resources.ftp, node.name) > f.fail_count_before,
                deadline=(cluster.monitor_interval(cluster.inv.resources.ftp) or 30) + 120,
                interval=3,
            )
        except WaitTimeout:
            pass  # the audit says whether the cluster came back
    elif p.kind == "kill-empeche":
        block = faults.start(BlockRestart(cluster, node, cluster.inv.resources.ftp))
        f = faults.start(KillService(cluster, node, count_failures=False))
        _group_on(cluster, other, MOVE_DEADLINE)
        block.heal()
    elif p.kind == "redemarrage":
        f = faults.start(Reboot(cluster, node))
        f.heal()
    elif p.kind == "courant":
        off, on = power_switch(node, hypervisor)
        f = faults.start(PowerLoss(cluster, node, off, on))
        if moves:
            _group_on(cluster, other, MOVE_DEADLINE)
        else:
            _node_seen(cluster, node, f"{node.name} hors ligne", lambda n: not n.online, 120)
        f.heal()
    elif p.kind == "cable":
        f = faults.start(CablePull(cluster, node, cable_switch(node, hypervisor), seconds=p.cable_s))
        _hold(p.cable_s, f.asked_monotonic)  # out its drawn length, from when the cut was asked for
        f.heal()
        outcome = await_cable_return(cluster, f.lines_before)
        if split_brain_seen(outcome):
            cut = f.asked_at
            until = f.heal_started_at or history.now()
            keeper = split_brain_keeper(history.since(cut), cut, until, cluster.inv, cluster.master.name)
            keep = cluster.nodes[keeper.node]
            say(
                f"bascule endurance: split brain après le câble ; document 3 : on garde {keep.name} "
                f"({keeper.why}), on écarte les données de {cluster.peer(keep).name} (envois acquittés pendant "
                "la coupure : " + ", ".join(f"{n} {c}" for n, c in keeper.acks.items()) + ")"
            )
            resolve_split_brain(cluster, keep=keep)
            history.append(
                RUN,
                ENDURANCE,
                SPLIT_BRAIN,
                INFO,
                {
                    "kept": keep.name,
                    "discarded": cluster.peer(keep).name,
                    "cut_at": cut,
                    "acks_during_cut": keeper.acks,
                },
            )
    else:
        raise BasculeError(f"panne inconnue : {p.kind}")
    return f.label


JOURNAL_COMMIT = 5  # seconds: ext3/ext4's default commit interval, when /proc/mounts names none


def _writeback(cluster: Cluster) -> dict[str, float]:
    """Each node's page-cache window: vm.dirty_expire + vm.dirty_writeback, plus the journal's commit
    when /home is ext3/ext4 (an allocation delayed until writeback reaches the disk at the next
    commit): how long an acknowledged upload may exist in memory only, lost if the node's power goes
    or never replicated if its cable goes. Read on the nodes, as evidence for the checker; a node
    that does not say is left out (its losses stay losses)."""
    mount = cluster.inv.drbd.mount_point
    read: dict[str, tuple[int, int, str, str]] = {}
    for name, node in cluster.nodes.items():
        try:
            res = node.run(
                "sysctl -n vm.dirty_expire_centisecs vm.dirty_writeback_centisecs; "
                f"awk -v m={quote(mount)} '$2 == m {{print $3, $4}}' /proc/mounts",
                timeout=30,
                check=False,
            )
            words = res.stdout.split()
            read[name] = (int(words[0]), int(words[1]), *(words[2:4] if len(words) >= 4 else ("", "")))
        except (BasculeError, ValueError, IndexError):
            continue
    # /home is mounted on one node only: its file system is that of the other too (the same DRBD device)
    mounted = next(((fs, opts) for _, _, fs, opts in read.values() if fs), ("", ""))
    window = {}
    for name, (expire, writeback, fstype, options) in read.items():
        fstype, options = (fstype, options) if fstype else mounted
        commit = next(
            (int(o.split("=", 1)[1]) for o in options.split(",") if o.startswith("commit=")),
            JOURNAL_COMMIT if fstype in ("ext3", "ext4") else 0,
        )
        window[name] = (expire + writeback) / 100 + commit
    return window


def _acked(history: History) -> list[tuple[str, str]]:
    return [
        (e.value["name"], e.value["sha256"])
        for e in history.events
        if e.source == CLIENT and e.op == UPLOAD and e.outcome == OK
    ]


class Verifier:
    """The reads of acknowledged files: after a fault, the files new since the last read and a sample
    of the older ones (drawn from the seed); at the end, every file."""

    def __init__(self, client: FTPClient, history: History, directories: list[str], seed: int, say):
        self.client, self.history, self.directories, self.say = client, history, directories, say
        self.rng = random.Random(seed * 7919 + 1)
        self.read_so_far = 0  # how many acknowledged files the last verification had
        self.seconds_per_file = READ_S

    def verify(
        self, after: str, index: int | None = None, everything: bool = False, replica_of: str | None = None
    ) -> dict:
        acked = _acked(self.history)
        new, old = acked[self.read_so_far :], acked[: self.read_so_far]
        chosen = acked if everything else new + self.rng.sample(old, min(SAMPLE, len(old)))
        started = time.monotonic()
        # a deadline that grows with the files: a long night's full read is never cut short (a file the
        # read does not reach is « non vérifié », never intact)
        value = read_back_all(self.client, chosen, self.directories, deadline=300 + 2 * len(chosen))
        took = time.monotonic() - started
        if chosen:
            self.seconds_per_file = max(self.seconds_per_file, took / len(chosen))
        value = {"after": after, "index": index, "full": everything, "took_s": round(took, 1), **value}
        if replica_of is not None:
            value["replica"] = True
        self.history.append(RUN, ENDURANCE, VERIFY, INFO, value)
        self.read_so_far = max(self.read_so_far, len(acked))
        expected = dict(chosen)
        wrong = sum(1 for name, got in value["read"].items() if got != expected.get(name))
        what = "tous" if everything else f"{len(new)} nouveaux et {len(chosen) - len(new)} au hasard"
        self.say(
            f"bascule endurance: vérification après {after} : {len(chosen)} fichiers acquittés relus ({what}) "
            f"en {took:.0f} s"
            + (f" sur {', '.join(value.get('served_by') or ['?'])}" if replica_of else "")
            + f" : {wrong} ne rendent pas les octets acquittés (absents, vides, tronqués, différents ou illisibles)"
        )
        return value

    def cost(self, files: int) -> float:
        return files * self.seconds_per_file


def _drbd_counts(cluster: Cluster) -> dict[str, dict]:
    """DRBD's own view on each node, from one reading of it: its connection and disk states, and its
    out-of-sync count (8.4's /proc/drbd says it; 9's status needs --statistics, asked then)."""
    res = cluster.inv.drbd.resource
    out = {}
    for name, seen in cluster.on_every_node(cluster.drbd_raw).items():
        if isinstance(seen, Exception):
            out[name] = {"error": str(seen)}
            continue
        text, st = seen
        oos = parse_out_of_sync(text)
        if oos is None and st.version == "9":
            oos = parse_out_of_sync(
                cluster.nodes[name]
                .run(f"drbdsetup status {quote(res)} --statistics 2>/dev/null", timeout=30, check=False)
                .stdout
            )
        out[name] = {"oos_kib": oos, "connection": st.connection, "disk": f"{st.disk}/{st.peer_disk}"}
    return out


def _read_replica(cluster: Cluster, verifier: Verifier, history: History, say) -> None:
    """Every acknowledged file read on the other node's data: DRBD's out-of-sync count, then a switchover
    to the peer (standby of the serving node), a full read there, and back (online, the audit)."""
    started = time.monotonic()
    value: dict = {"drbd": _drbd_counts(cluster), "switched": False}
    serving = _serving(cluster)
    peer = cluster.peer(serving)
    faults = Faults()
    say(f"bascule endurance: lecture de la réplique : {serving.name} en standby, tout relire sur {peer.name}")
    try:
        faults.start(Standby(cluster, serving))
        if not _group_on(cluster, peer, MOVE_DEADLINE):
            value["error"] = f"les ressources ne sont pas venues sur {peer.name} en {MOVE_DEADLINE} s"
        else:
            read = verifier.verify("réplique", everything=True, replica_of=peer.name)
            served = read.get("served_by") or []
            value.update(switched=True, served_by=", ".join(served))
            if served and served != [peer.name]:
                value["error"] = f"la relecture a été servie par {', '.join(served)}, pas seulement par {peer.name}"
    except (BasculeError, WaitTimeout) as exc:
        value["error"] = str(exc)
    finally:
        _audit(cluster, faults, None, "lecture de la réplique", history, say)
        value["took_s"] = round(time.monotonic() - started, 1)
        history.append(RUN, ENDURANCE, REPLICA, INFO, value)


def run(inv: Inventory, settings: Settings, hypervisor=None, say: Callable[[str], None] = print) -> EnduranceVerdict:
    began = time.monotonic()  # --duree bounds the whole night, its start included
    _writable(settings.out)
    history = History()
    cluster = Cluster(inv, history)
    kinds = settings.kinds
    try:
        problems, _ = settle(cluster, deadline=120)
        if problems:
            raise BasculeError(
                "le cluster n'est pas dans son état de référence : " + " ; ".join(problems),
                "le réparer (ou bascule lab reparer), puis relancer l'endurance",
            )
        unavailable = _unavailable(cluster, kinds, hypervisor, say)
        # the schedule is drawn from the kinds asked, whatever this cluster can do: one seed, one schedule
        plan = schedule(settings.seed, kinds)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = f"{inv.ftp.documents}/bascule-endurance-{stamp}"
        directories = [f"{base}/ftp"]
        _say_start(cluster, settings, plan, base, say)
        history.append(
            RUN,
            ENDURANCE,
            START,
            INFO,
            {
                "seed": settings.seed,
                "duration_s": settings.duration_s,
                "writeback_s": _writeback(cluster),
                "compound": settings.compound,
                "replay": settings.replay,
                "version": __version__,
                "kinds": list(kinds),
                "cluster": public(inv),
                "directory": base,
                "date": datetime.now().isoformat(timespec="seconds"),
            },
        )
        # where acknowledged files are written, read before the faults and after: judged on every run
        history.append(RUN, ENDURANCE, STORAGE, INFO, storage(cluster))
        client = FTPClient.for_inventory(inv)
        uploaders = [FtpUploader(client, history, f"{base}/ftp", settings.upload_period, seed=settings.seed)]
        if shutil.which("curl"):
            uploaders.append(CurlUploader(client, history, f"{base}/curl", settings.curl_period))
            directories.append(f"{base}/curl")
        else:
            say("bascule endurance: curl absent : pas de client indépendant (apt install curl)")
        verifier = Verifier(client, history, directories, settings.seed, say)
        try:
            stop_reason, done = _loop(
                cluster, plan, unavailable, settings, hypervisor, history, uploaders, verifier, say, began
            )
            history.append(RUN, ENDURANCE, STORAGE, INFO, storage(cluster))
        except KeyboardInterrupt:  # a second Ctrl-C while healing: the report still says what was seen
            stop_reason, done = "interrompue deux fois (Ctrl-C) : remise en état et vérification abandonnées", -1
        history.append(
            RUN,
            ENDURANCE,
            STOP,
            INFO,
            {"reason": stop_reason, "faults": done, "took_s": round(time.monotonic() - began, 1)},
        )
    finally:
        cluster.close()
    return _finish(history, settings, say)


def _writable(out: Path) -> None:
    """An output folder that cannot be written is said before an hour of faults, not after."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / ".ecriture").write_text("")
        (out / ".ecriture").unlink()
    except OSError as exc:
        raise BasculeError(
            f"--sortie {out} : impossible d'y écrire ({exc.strerror or exc})",
            "choisir un dossier où l'on peut écrire",
        ) from None


def _unavailable(cluster: Cluster, kinds, hypervisor, say) -> set[str]:
    """The kinds asked that this cluster cannot play (a power cut without a way to cut the power)."""
    unavailable = set()
    if "courant" in kinds and power_switch(cluster.master, hypervisor) == (None, None):
        unavailable.add("courant")
        if set(kinds) <= unavailable:
            raise BasculeError(
                "aucune coupure de courant possible sur ce cluster (power_off/power_on absents de l'inventaire)",
                "donner power_off et power_on au nœud, ou choisir d'autres --pannes",
            )
        say(
            "bascule endurance: pas de coupure de courant possible sur ce cluster (power_off/power_on absents "
            "de l'inventaire) : ces pannes du tirage ne seront pas jouées (le tirage reste celui de la graine)"
        )
    return unavailable


def _say_start(cluster: Cluster, settings: Settings, plan: list[Planned], base: str, say) -> None:
    say(
        f"bascule endurance: graine {settings.seed}, {settings.duration_s / 60:.0f} min au plus, sur "
        f"{cluster.master.name} (maître) + {cluster.slave.name}, VIP {cluster.inv.vip}"
        + (", pannes composées" if settings.compound else "")
    )
    say(f"bascule endurance: pour rejouer ce tirage : {settings.replay}")
    say("bascule endurance: pannes tirées parmi : " + ", ".join(f"{k} ({KINDS[k]})" for k in settings.kinds))
    say(
        "bascule endurance: les premières : "
        + ", ".join(_planned_words(p, settings.compound) for p in plan[:6])
        + " … ; fichiers envoyés dans "
        + base
    )


def _planned_words(p: Planned, compound: bool) -> str:
    return f"{p.index}. {p.kind} ({p.target}{f', {p.cable_s} s' if p.kind == 'cable' else ''})" + (
        " pendant le retour de la précédente" if compound and p.overlaps else f" après {p.pause} s"
    )


def _expected(kind: str, seen: dict[str, float], p: Planned) -> float:
    base = seen[kind] if kind in seen else EXPECTED_S[kind]  # the longest of its kind seen tonight, once there is one
    return base + (p.cable_s if kind == "cable" else 0)


def _loop(
    cluster: Cluster,
    plan: list[Planned],
    unavailable: set[str],
    settings: Settings,
    hypervisor,
    history: History,
    uploaders: list,
    verifier: Verifier,
    say,
    began: float,
) -> tuple[str, int]:
    """Play the night: why it stopped, and how many faults were played."""
    night = _Night(cluster, plan, unavailable, settings, hypervisor, history, uploaders, verifier, say, began)
    return night.run()


class _Night:
    """One endurance night: the schedule played fault by fault within the night's time bound (a
    compound chain's two faults sharing one audit), an interruption said and healed, then the final
    reads of both nodes' data."""

    def __init__(self, cluster, plan, unavailable, settings, hypervisor, history, uploaders, verifier, say, began):
        self.cluster, self.plan, self.unavailable, self.settings = cluster, plan, unavailable, settings
        self.hypervisor, self.history, self.uploaders, self.verifier, self.say = (
            hypervisor,
            history,
            uploaders,
            verifier,
            say,
        )
        self.stop = threading.Event()
        self.end = began + settings.duration_s
        self.done, self.reason = 0, "durée atteinte"
        self.faults, self.current, self.chain = Faults(), None, []
        self.seen: dict[str, float] = {}  # kind → the longest it took in this run, start to verification
        self.verify_at_end = True
        self.recovered_last = True  # the replica is read only on a cluster that came back to its baseline

    def run(self) -> tuple[str, int]:
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def interrupted(signum, _frame):
            first = not self.stop.is_set()
            self.stop.set()
            raise Interrupted("Ctrl-C" if signum == signal.SIGINT else "SIGTERM") if first else KeyboardInterrupt()

        for s in previous:
            signal.signal(s, interrupted)
        for u in self.uploaders:
            u.start()
        try:
            self._play()
        except Interrupted as exc:
            self._interrupted(exc)
        finally:
            for u in self.uploaders:
                u.stop()
            for u in self.uploaders:
                u.join(timeout=60)
            try:
                if self.verify_at_end:
                    self._final_reads()
            except KeyboardInterrupt:
                self.reason += " ; vérification finale interrompue"
            finally:
                for s, h in previous.items():
                    signal.signal(s, h)
        return self.reason, self.done

    def _final_cost(self) -> float:
        """The final read of everything, then the switchover and the replica's read."""
        files = len(_acked(self.history)) + 120  # the uploads still to come while it runs
        return 2 * self.verifier.cost(files) + REPLICA_EXPECTED_S

    def _play(self) -> None:
        i = 0
        while i < len(self.plan):
            p = self.plan[i]
            overlapping = bool(self.chain)  # the previous fault was healed, its audit left to this one's
            pause = 0 if overlapping else p.pause
            if not self._fits(p, pause):
                return
            self.current = p
            if not overlapping:
                self.faults = Faults()
            serving, node = self._announce(p, pause, overlapping)
            if p.kind in self.unavailable:
                self.history.append(
                    RUN,
                    ENDURANCE,
                    RECOVERED,
                    OK,
                    {
                        "index": p.index,
                        "kind": p.kind,
                        "label": p.kind,
                        "recovered": True,
                        "status": "non jouée : impossible ici",
                    },
                )
                i += 1
                continue
            label, failure = self._inject(p, node, serving, overlapping)
            nxt = self.plan[i + 1] if i + 1 < len(self.plan) else None
            if (
                self.settings.compound
                and not failure
                and len(self.chain) < 2
                and nxt is not None
                and nxt.overlaps
                and nxt.kind not in self.unavailable
            ):
                i += 1  # the next fault goes in now, while this one's recovery is under way
                continue
            if not self._close(p, label, failure):
                return
            i += 1

    def _fits(self, p: Planned, pause: float) -> bool:
        """Whether the fault, its verification and the final reads fit in what is left of the night;
        if not, the night stops here (a fault already healed still gets its audit)."""
        left = self.end - time.monotonic()
        need = (
            pause
            + (0 if p.kind in self.unavailable else _expected(p.kind, self.seen, p))
            + self.verifier.cost(SAMPLE + 120)
            + self._final_cost()
        )
        if need <= left:
            return True
        self.reason = (
            f"durée atteinte : la panne {p.index} ({p.kind}) demanderait environ {need:.0f} s avec la "
            f"vérification et la lecture finale des deux nœuds, il en restait {max(0.0, left):.0f}"
        )
        if self.chain:  # the fault already healed still gets its audit and its verification
            self.recovered_last = _close_chain(
                self.cluster, self.faults, self.chain, self.history, self.verifier, self.say
            )
            self.chain = []
        return False

    def _announce(self, p: Planned, pause: float, overlapping: bool) -> tuple[Node, Node]:
        """The schedule's quiet time, then the node the fault hits (the serving one, or its peer, as
        drawn), on the history: (serving, hit)."""
        overlapped = _recovering(self.cluster) if overlapping else ""
        self.stop.wait(pause)  # the schedule's quiet time: uploads go on, on a cluster at rest
        serving = _serving(self.cluster)
        node = serving if p.target == MASTER else self.cluster.peer(serving)
        self.history.append(
            RUN,
            ENDURANCE,
            PLANNED,
            INFO,
            {
                "index": p.index,
                "kind": p.kind,
                "pause": pause,
                "target": p.target,
                "node": node.name,
                "cable_s": p.cable_s,
                "overlaps": overlapping,
                "overlapped": overlapped,
            },
        )
        return serving, node

    def _inject(self, p: Planned, node: Node, serving: Node, overlapping: bool) -> tuple[str, str]:
        """Play one fault: its label, and why it failed ("" when it did not)."""
        self.say(
            f"bascule endurance: panne {p.index} : {p.kind} sur {node.name} ({p.target}) — {KINDS[p.kind]}"
            + (" pendant le retour de la précédente" if overlapping else "")
            + f" — {max(0, self.end - time.monotonic()) / 60:.0f} min restantes"
        )
        started = time.monotonic()
        try:
            label = _fault(self.cluster, p, node, serving, self.faults, self.hypervisor, self.history, self.say)
            failure = ""
        except Exception as exc:  # noqa: BLE001 - the fault could not be played or healed: heal what can be, then stop
            why = str(exc) if isinstance(exc, BasculeError) else f"{type(exc).__name__} : {exc}"
            label, failure = (faults_label(self.faults) or p.kind), f"la panne a échoué : {why}"
            self.say(f"bascule endurance: panne {p.index} : {failure}")
        self.chain.append((p, label, started))
        self.done += 1
        return label, failure

    def _close(self, p: Planned, label: str, failure: str) -> bool:
        """The chain's audit and verification; whether the night goes on."""
        recovered = self.recovered_last = _close_chain(
            self.cluster, self.faults, self.chain, self.history, self.verifier, self.say, failure
        )
        if len(self.chain) == 1:  # a lone fault's whole cost (a chain's is two faults'); a cable's length apart
            q, _, t0 = self.chain[0]
            took = time.monotonic() - t0 - (q.cable_s if q.kind == "cable" else 0)
            self.seen[q.kind] = max(self.seen.get(q.kind, 0.0), took)
        self.chain, self.current = [], None
        if failure or not recovered:
            self.reason = f"arrêtée après la panne {p.index} ({label}) : " + (
                failure or "le cluster n'est pas revenu à son état de référence"
            )
            return False
        return True

    def _interrupted(self, exc: Interrupted) -> None:
        """Ctrl-C or SIGTERM: said, the faults healed (a chain's share the audit of its last one)."""
        current = self.current
        where = f"pendant la panne {current.index} ({current.kind})" if current is not None else "entre deux pannes"
        self.reason = f"interrompue ({exc}) {where}, après {self.done} panne(s) jouée(s)"
        self.say(f"bascule endurance: {self.reason} ; bascule défait ses pannes, puis relit les fichiers")
        try:
            if self.chain:
                current = self.chain[-1][0] if current is None else current
            chain = [c[0].index for c in self.chain] + (
                [current.index] if current is not None and all(c[0] is not current for c in self.chain) else []
            )
            _audit(self.cluster, self.faults, current, f"interruption ({exc})", self.history, self.say, chain=chain)
            self.recovered_last = False
        except KeyboardInterrupt:
            self.reason += " ; remise en état interrompue par un second signal : vérifier le cluster à la main"
            self.verify_at_end = False

    def _final_reads(self) -> None:
        """Every acknowledged file read back, then the replica's read (not after Ctrl-C: the user
        wants it over; not on a cluster out of its baseline: the switchover would add a fault)."""
        self.verifier.verify(END, everything=True)
        if self.reason.startswith("interrompue"):
            return
        if self.recovered_last:
            _read_replica(self.cluster, self.verifier, self.history, self.say)
            return
        self.history.append(
            RUN,
            ENDURANCE,
            REPLICA,
            INFO,
            {
                "switched": False,
                "drbd": {},
                "error": "réplique non relue : le cluster n'était pas revenu à son état de référence",
            },
        )


def _recovering(cluster: Cluster) -> str:
    """What the cluster is still doing when a compound fault goes in: where the group runs, DRBD's
    states (a resync and its progress), in words for the table."""
    try:
        state = cluster.state()
        drbd = cluster.drbd_everywhere()
    except (BasculeError, WaitTimeout) as exc:
        return f"état illisible ({exc})"
    where = ", ".join(state.where(cluster.inv.resources.group)) or "nulle part"
    return f"{cluster.inv.resources.group} sur {where} ; DRBD " + " ; ".join(
        f"{n} {d.summary() if d is not None else 'illisible'}" for n, d in drbd.items()
    )


def _close_chain(
    cluster: Cluster, faults: Faults, chain: list, history: History, verifier: Verifier, say, failure: str = ""
) -> bool:
    """The audit after a fault, or after a chain of two (it is the later one's), then the verification."""
    p, label, _ = chain[-1]
    recovered = _audit(
        cluster,
        faults,
        p,
        label if len(chain) == 1 else " puis ".join(c[1] for c in chain),
        history,
        say,
        failure,
        [c[0].index for c in chain],
    )
    verifier.verify(label, p.index)
    return recovered


def faults_label(faults: Faults) -> str:
    return " + ".join(f.label for f in faults)


def _audit(
    cluster: Cluster,
    faults: Faults,
    p: Planned | None,
    label: str,
    history: History,
    say,
    failure: str = "",
    chain: list[int] | None = None,
) -> bool:
    """Heal the faults, then the scenarios' audit: the cluster back at its baseline, bascule's own
    leftovers undone, anything else it had to repair listed as a finding (a KO in the checker)."""
    errors = faults.heal_all()
    audit = audit_after(cluster, list(faults))
    recovered = not errors and not audit.error and not audit.baseline_after
    others = [r.what for r in audit.repairs if not r.own]
    history.append(
        RUN,
        ENDURANCE,
        RECOVERED,
        OK if recovered and not others else INFO,
        {
            "index": p.index if p else None,
            "kind": p.kind if p else "",
            "label": label,
            "recovered": recovered,
            "waited": audit.waited,
            "repairs": others,
            "status": failure,
            "chain": chain or [],
            "left": list(audit.baseline_after) + errors + ([audit.error] if audit.error else []),
        },
    )
    say(
        f"bascule endurance: {label} : "
        + (
            f"cluster revenu à son état de référence en {audit.waited:.0f} s"
            if recovered
            else "cluster PAS revenu à son état de référence : "
            + " ; ".join(list(audit.baseline_after) + errors + [audit.error])
        )
        + (" ; réparé par bascule : " + " ; ".join(others) if others else "")
    )
    return recovered


def _finish(history: History, settings: Settings, say) -> EnduranceVerdict:
    out = settings.out
    out.mkdir(parents=True, exist_ok=True)
    history.save_jsonl(out / "historique.jsonl")  # first: whatever fails next, `bascule rejuger` judges it again
    verdict = judge_endurance(list(history.events))
    paths = write_report(verdict, list(history.events), out)
    results = write_allure(verdict, list(history.events), out / "allure-results", history.started_at.timestamp())
    if verdict.cause:
        say(f"bascule endurance: cause : {verdict.cause}" + (f" ; à corriger : {verdict.fix}" if verdict.fix else ""))
    for words in verdict.explanations:
        say(f"bascule endurance: perte expliquée : {words}")
    say(
        f"bascule endurance: {verdict.verdict} — {verdict.why} ; tableau → {paths['md']} et {paths['html']}"
        + (f" ; rapport Allure → {out / 'allure-report' / 'index.html'}" if _render_allure(results, out) else "")
    )
    say(f"bascule endurance: pour rejouer ce tirage : {settings.replay}")
    return verdict


def _render_allure(results: Path, out: Path) -> bool:
    """The Allure report, when the Allure command line is installed (./acceptance.sh installs it)."""
    allure = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "allure"
    if not allure.exists():
        return False
    try:
        return (
            subprocess.run(
                [
                    str(allure),
                    "awesome",
                    str(results),
                    "-o",
                    str(out / "allure-report"),
                    "--report-name",
                    "Endurance",
                    "--group-by",
                    "feature",
                ],
                capture_output=True,
                timeout=300,
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
