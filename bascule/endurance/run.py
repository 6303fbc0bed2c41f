"""`bascule endurance`: the lab's faults at random for a while, uploads all along, and every
acknowledged file read back after each heal and at the end.

Each fault targets the preferred master (the node that serves at the baseline), is healed before
the next, and the cluster must come back to its baseline (the scenarios' audit: bascule undoes its
own faults, and any other repair is a finding). A cut cable that ends in a split brain is resolved
as document 3 says, keeping the data of the node that served the clients during the cut. Ctrl-C or
SIGTERM: the fault in progress is healed, the files are verified, and the report says how far the
run got.
"""
from __future__ import annotations

import shutil
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from bascule.cluster.cluster import Cluster
from bascule.cluster.evidence import storage
from bascule.cluster.faults import (BlockRestart, CablePull, Faults, KillService, PowerLoss, Reboot, Standby,
                                    cable_switch, power_switch)
from bascule.cluster.ftp import FTPClient
from bascule.cluster.moves import await_cable_return
from bascule.cluster.nodes import Node, quote
from bascule.cluster.recovery import audit_after, settle
from bascule.cluster.split_brain import logged_lines, resolve_split_brain
from bascule.cluster.uploads import CurlUploader, FtpUploader, read_back_all
from bascule.endurance.schedule import KINDS, Planned, schedule
from bascule.errors import BasculeError
from bascule.inventory import Inventory, public
from bascule.judging.endurance import EnduranceVerdict, judge_endurance
from bascule.judging.facts.placement import node_named, placement_problems, split_brain_seen
from bascule.record.endurance import (ENDURANCE, PLANNED, RECOVERED, SPLIT_BRAIN, START, STOP, STORAGE, UPLOAD,
                                      VERIFY)
from bascule.record.history import CLIENT, INFO, OK, RUN, History
from bascule.waits import WaitTimeout

MOVE_DEADLINE = 360  # as the scenarios' failover rows


@dataclass(frozen=True)
class Settings:
    duration_s: float
    seed: int
    kinds: tuple[str, ...]
    out: Path
    upload_period: float = 1.0
    curl_period: float = 2.0


@dataclass(frozen=True)
class FaultDone:
    label: str
    recovered: bool


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, as a KeyboardInterrupt: no `except Exception` on the way (a wait's probe,
    a read-back) swallows it."""


def _group_on(cluster: Cluster, node: Node, deadline: float) -> bool:
    """Whether the lab's resources came to run on `node` within the deadline."""
    try:
        cluster.wait_state(f"les ressources sur {node.name}",
                           lambda s: not placement_problems(s, cluster.inv, node.name, membership=False),
                           deadline=deadline, interval=3)
        return True
    except WaitTimeout:
        return False


def _fault(cluster: Cluster, p: Planned, faults: Faults, hypervisor, history: History,
           say: Callable[[str], None]) -> str:
    """Inject one fault and heal it; returns its label. The audit that follows brings the cluster
    back to its baseline."""
    node = cluster.master
    peer = cluster.peer(node)
    if p.kind == "standby":
        f = faults.start(Standby(cluster, node))
        _group_on(cluster, peer, MOVE_DEADLINE)
        f.heal()
    elif p.kind == "kill":
        before = cluster.fail_count(cluster.state(), cluster.inv.resources.ftp, node.name)
        f = faults.start(KillService(cluster, node))
        try:  # Pacemaker notices at its next monitor and restarts it (fail-count + 1)
            cluster.wait_state("le redémarrage de proftpd par Pacemaker",
                               lambda s: cluster.fail_count(s, cluster.inv.resources.ftp, node.name) > before,
                               deadline=(cluster.monitor_interval(cluster.inv.resources.ftp) or 30) + 120, interval=3)
        except WaitTimeout:
            pass  # the audit says whether the cluster came back
    elif p.kind == "kill-empeche":
        block = faults.start(BlockRestart(cluster, node, cluster.inv.resources.ftp))
        f = faults.start(KillService(cluster, node))
        _group_on(cluster, peer, MOVE_DEADLINE)
        block.heal()
    elif p.kind == "redemarrage":
        f = faults.start(Reboot(cluster, node))
        f.heal()
    elif p.kind == "courant":
        off, on = power_switch(node, hypervisor)
        f = faults.start(PowerLoss(cluster, node, off, on))
        _group_on(cluster, peer, MOVE_DEADLINE)
        f.heal()
    elif p.kind == "cable":
        before = logged_lines(cluster)
        cut = history.now()
        f = faults.start(CablePull(cluster, node, cable_switch(node, hypervisor), seconds=60))
        _group_on(cluster, peer, 60)
        f.heal()
        outcome = await_cable_return(cluster, before)
        if split_brain_seen(outcome):
            # document 3: keep the data of the more active node, the one that acknowledged the
            # clients' uploads while the cable was out (not whoever serves once it is back)
            acks = _acks_by_node(history, cluster, cut, f.heal_started_at or history.now())
            keep = cluster.nodes[max(acks, key=acks.get)] if any(acks.values()) else cluster.master
            say(f"bascule endurance: split brain après le câble ; document 3 : on garde {keep.name}, on écarte les "
                f"données de {cluster.peer(keep).name} (envois acquittés pendant la coupure : "
                + ", ".join(f"{n} {c}" for n, c in acks.items()) + ")")
            resolve_split_brain(cluster, keep=keep)
            history.append(RUN, ENDURANCE, SPLIT_BRAIN, INFO, {"kept": keep.name, "discarded": cluster.peer(keep).name,
                                                               "cut_at": cut, "acks_during_cut": acks})
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
            res = node.run("sysctl -n vm.dirty_expire_centisecs vm.dirty_writeback_centisecs; "
                           f"awk -v m={quote(mount)} '$2 == m {{print $3, $4}}' /proc/mounts", timeout=30, check=False)
            words = res.stdout.split()
            read[name] = (int(words[0]), int(words[1]), *(words[2:4] if len(words) >= 4 else ("", "")))
        except (BasculeError, ValueError, IndexError):
            continue
    # /home is mounted on one node only: its file system is that of the other too (the same DRBD device)
    mounted = next(((fs, opts) for _, _, fs, opts in read.values() if fs), ("", ""))
    window = {}
    for name, (expire, writeback, fstype, options) in read.items():
        fstype, options = (fstype, options) if fstype else mounted
        commit = next((int(o.split("=", 1)[1]) for o in options.split(",") if o.startswith("commit=")),
                      JOURNAL_COMMIT if fstype in ("ext3", "ext4") else 0)
        window[name] = (expire + writeback) / 100 + commit
    return window


def _acks_by_node(history: History, cluster: Cluster, since: float, until: float) -> dict[str, int]:
    """Uploads acknowledged between two moments, by the node that served them."""
    counts = {name: 0 for name in cluster.nodes}
    for e in history.since(since):
        node = node_named(e.value.get("served_by"), cluster.inv) if isinstance(e.value, dict) else None
        if e.source == CLIENT and e.op == UPLOAD and e.outcome == OK and e.end <= until and node in counts:
            counts[node] += 1
    return counts


def _verify(client: FTPClient, history: History, directories: list[str], after: str, say,
            index: int | None = None) -> None:
    acked = [(e.value["name"], e.value["sha256"]) for e in history.events
             if e.source == CLIENT and e.op == UPLOAD and e.outcome == OK]
    started = time.monotonic()
    value = read_back_all(client, acked, directories)
    history.append(RUN, ENDURANCE, VERIFY, INFO, {"after": after, "index": index, **value})
    missing = sum(1 for v in value["read"].values() if v is None)
    say(f"bascule endurance: vérification après {after} : {len(acked)} fichiers acquittés relus en "
        f"{time.monotonic() - started:.0f} s, {missing} absent(s) ou illisible(s)")


def run(inv: Inventory, settings: Settings, hypervisor=None, say: Callable[[str], None] = print) -> EnduranceVerdict:
    try:  # an output folder that cannot be written is said before an hour of faults, not after
        settings.out.mkdir(parents=True, exist_ok=True)
        (settings.out / ".ecriture").write_text("")
        (settings.out / ".ecriture").unlink()
    except OSError as exc:
        raise BasculeError(f"--sortie {settings.out} : impossible d'y écrire ({exc.strerror or exc})",
                           "choisir un dossier où l'on peut écrire") from None
    history = History()
    cluster = Cluster(inv, history)
    kinds = settings.kinds
    try:
        problems, _ = settle(cluster, deadline=120)
        if problems:
            raise BasculeError("le cluster n'est pas dans son état de référence : " + " ; ".join(problems),
                               "le réparer (ou bascule lab reparer), puis relancer l'endurance")
        unavailable = set()
        if "courant" in kinds and power_switch(cluster.master, hypervisor) == (None, None):
            unavailable.add("courant")
            if set(kinds) <= unavailable:
                raise BasculeError("aucune coupure de courant possible sur ce cluster (power_off/power_on absents de "
                                   "l'inventaire)", "donner power_off et power_on au nœud, ou choisir d'autres --pannes")
            say("bascule endurance: pas de coupure de courant possible sur ce cluster (power_off/power_on absents "
                "de l'inventaire) : ces pannes du tirage ne seront pas jouées (le tirage reste celui de la graine)")
        # the schedule is drawn from the kinds asked, whatever this cluster can do: one seed, one schedule
        plan = schedule(settings.seed, kinds)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = f"{inv.ftp.documents}/bascule-endurance-{stamp}"
        directories = [f"{base}/ftp"]
        say(f"bascule endurance: graine {settings.seed} (--graine {settings.seed} rejoue le même tirage), "
            f"{settings.duration_s / 60:.0f} min sur {cluster.master.name} (maître) + {cluster.slave.name}, VIP {inv.vip}")
        say("bascule endurance: pannes tirées parmi : " + ", ".join(f"{k} ({KINDS[k]})" for k in kinds))
        say("bascule endurance: les premières : " + ", ".join(f"{p.index}. {p.kind} après {p.pause} s" for p in plan[:6])
            + " … ; fichiers envoyés dans " + base)
        history.append(RUN, ENDURANCE, START, INFO, {"seed": settings.seed, "duration_s": settings.duration_s,
                                                     "writeback_s": _writeback(cluster),
                                                     "kinds": list(kinds), "cluster": public(inv), "directory": base,
                                                     "date": datetime.now().isoformat(timespec="seconds")})
        # where acknowledged files are written, read before the faults and after: what a loss is diagnosed from
        history.append(RUN, ENDURANCE, STORAGE, INFO, storage(cluster))
        client = FTPClient.for_inventory(inv)
        uploaders = [FtpUploader(client, history, f"{base}/ftp", settings.upload_period, seed=settings.seed)]
        if shutil.which("curl"):
            uploaders.append(CurlUploader(client, history, f"{base}/curl", settings.curl_period))
            directories.append(f"{base}/curl")
        else:
            say("bascule endurance: curl absent : pas de client indépendant (apt install curl)")
        try:
            stop_reason, done = _loop(cluster, plan, unavailable, settings, hypervisor, history, uploaders, client,
                                      directories, say)
            history.append(RUN, ENDURANCE, STORAGE, INFO, storage(cluster))
        except KeyboardInterrupt:  # a second Ctrl-C while healing: the report still says what was seen
            stop_reason, done = "interrompue deux fois (Ctrl-C) : remise en état et vérification abandonnées", -1
        history.append(RUN, ENDURANCE, STOP, INFO, {"reason": stop_reason, "faults": done})
    finally:
        cluster.close()
    return _finish(history, settings, say)


def _loop(cluster: Cluster, plan: list[Planned], unavailable: set[str], settings: Settings, hypervisor,
          history: History, uploaders: list, client: FTPClient, directories: list[str], say) -> tuple[str, int]:
    stop = threading.Event()
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def interrupted(signum, _frame):
        first = not stop.is_set()
        stop.set()
        raise Interrupted("Ctrl-C" if signum == signal.SIGINT else "SIGTERM") if first else KeyboardInterrupt()
    for s in previous:
        signal.signal(s, interrupted)
    for u in uploaders:
        u.start()
    end = time.monotonic() + settings.duration_s
    done, reason = 0, "durée atteinte"
    faults, current = Faults(), None
    verify_at_end = True
    try:
        for p in plan:
            if time.monotonic() + p.pause >= end:
                break
            current, faults = p, Faults()
            history.append(RUN, ENDURANCE, PLANNED, INFO, {"index": p.index, "kind": p.kind, "pause": p.pause})
            stop.wait(p.pause)  # the schedule's quiet time: uploads go on, on a cluster at rest
            if p.kind in unavailable:
                history.append(RUN, ENDURANCE, RECOVERED, OK, {"index": p.index, "kind": p.kind, "label": p.kind,
                                                               "recovered": True, "status": "non jouée : impossible ici"})
                continue
            say(f"bascule endurance: panne {p.index} : {p.kind} ({KINDS[p.kind]}) — "
                f"{max(0, end - time.monotonic()) / 60:.0f} min restantes")
            try:
                label = _fault(cluster, p, faults, hypervisor, history, say)
                failure = ""
            except Exception as exc:  # the fault could not be played or healed: heal what can be, then stop
                why = str(exc) if isinstance(exc, BasculeError) else f"{type(exc).__name__} : {exc}"
                label, failure = (faults_label(faults) or p.kind), f"la panne a échoué : {why}"
                say(f"bascule endurance: panne {p.index} : {failure}")
            recovered = _audit(cluster, faults, p, label, history, say, failure)
            done += 1
            _verify(client, history, directories, label, say, p.index)
            current = None
            if failure or not recovered:
                reason = (f"arrêtée après la panne {p.index} ({label}) : "
                          + (failure or "le cluster n'est pas revenu à son état de référence"))
                break
    except Interrupted as exc:
        where = f"pendant la panne {current.index} ({current.kind})" if current is not None else "entre deux pannes"
        reason = f"interrompue ({exc}) {where}, après {done} panne(s) jouée(s)"
        say(f"bascule endurance: {reason} ; bascule défait ses pannes, puis relit les fichiers")
        try:
            _audit(cluster, faults, current, f"interruption ({exc})", history, say)
        except KeyboardInterrupt:
            reason += " ; remise en état interrompue par un second signal : vérifier le cluster à la main"
            verify_at_end = False
    finally:
        for u in uploaders:
            u.stop()
        for u in uploaders:
            u.join(timeout=60)
        try:
            if verify_at_end:
                _verify(client, history, directories, "fin", say)
        except KeyboardInterrupt:
            reason += " ; vérification finale interrompue"
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
    return reason, done


def faults_label(faults: Faults) -> str:
    return " + ".join(f.label for f in faults)


def _audit(cluster: Cluster, faults: Faults, p: Planned | None, label: str, history: History, say,
           failure: str = "") -> bool:
    """Heal the faults, then the scenarios' audit: the cluster back at its baseline, bascule's own
    leftovers undone, anything else it had to repair listed as a finding."""
    errors = faults.heal_all()
    audit = audit_after(cluster, list(faults))
    recovered = not errors and not audit.error and not audit.baseline_after
    others = [r.what for r in audit.repairs if not r.own]
    history.append(RUN, ENDURANCE, RECOVERED, OK if recovered else INFO, {
        "index": p.index if p else None, "kind": p.kind if p else "", "label": label, "recovered": recovered,
        "waited": audit.waited, "repairs": others, "status": failure, "left": list(audit.baseline_after) + errors
        + ([audit.error] if audit.error else [])})
    say(f"bascule endurance: {label} : " + (f"cluster revenu à son état de référence en {audit.waited:.0f} s"
                                             if recovered else "cluster PAS revenu à son état de référence : "
                                             + " ; ".join(list(audit.baseline_after) + errors + [audit.error])))
    return recovered


def _finish(history: History, settings: Settings, say) -> EnduranceVerdict:
    out = settings.out
    out.mkdir(parents=True, exist_ok=True)
    history.save_jsonl(out / "historique.jsonl")  # first: whatever fails next, `bascule rejuger` judges it again
    from bascule.reporting.endurance import write_allure, write_report
    verdict = judge_endurance(list(history.events))
    paths = write_report(verdict, list(history.events), out)
    results = write_allure(verdict, list(history.events), out / "allure-results", history.started_at.timestamp())
    if verdict.cause:
        say(f"bascule endurance: cause : {verdict.cause}" + (f" ; à corriger : {verdict.fix}" if verdict.fix else ""))
    say(f"bascule endurance: {verdict.verdict} — {verdict.why} ; tableau → {paths['md']} et {paths['html']}"
        + (f" ; rapport Allure → {out / 'allure-report' / 'index.html'}" if _render_allure(results, out) else ""))
    return verdict


def _render_allure(results: Path, out: Path) -> bool:
    """The Allure report, when the Allure command line is installed (./acceptance.sh installs it)."""
    import subprocess
    allure = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "allure"
    if not allure.exists():
        return False
    try:
        return subprocess.run([str(allure), "awesome", str(results), "-o", str(out / "allure-report"), "--report-name",
                               "Endurance", "--group-by", "feature"], capture_output=True, timeout=300).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
