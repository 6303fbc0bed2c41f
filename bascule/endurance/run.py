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
from bascule.cluster.faults import (BlockRestart, CablePull, FaultUnavailable, Faults, KillService, PowerLoss, Reboot,
                                    Standby, cable_switch, power_switch)
from bascule.cluster.ftp import FTPClient
from bascule.cluster.moves import await_cable_return
from bascule.cluster.nodes import Node
from bascule.cluster.recovery import audit_after, settle
from bascule.cluster.split_brain import logged_lines, resolve_split_brain
from bascule.cluster.uploads import CurlUploader, FtpUploader, read_back_all
from bascule.endurance.schedule import KINDS, Planned, schedule
from bascule.errors import BasculeError
from bascule.inventory import Inventory, public
from bascule.judging.endurance import EnduranceVerdict, judge_endurance
from bascule.judging.facts.placement import node_named, placement_problems, split_brain_seen
from bascule.record.endurance import (ENDURANCE, FTP_UPLOADER, PLANNED, RECOVERED, SPLIT_BRAIN, START, STOP, UPLOAD,
                                      VERIFY)
from bascule.record.history import CLIENT, INFO, OK, RUN, History, served_by
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


class Interrupted(Exception):
    pass


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
            # document 3: keep the data of the node that served the clients during the cut
            serving = served_by(history.since(cut), FTP_UPLOADER)
            keep = cluster.nodes.get(node_named(serving[-1][1], cluster.inv) or "") if serving else None
            keep = keep or cluster.master
            say(f"bascule endurance: split brain après le câble ; document 3 : on garde {keep.name}, "
                f"on écarte les données de {cluster.peer(keep).name}")
            resolve_split_brain(cluster, keep=keep)
            history.append(RUN, ENDURANCE, SPLIT_BRAIN, INFO,
                           {"kept": keep.name, "discarded": cluster.peer(keep).name, "cut_at": cut})
    else:
        raise BasculeError(f"panne inconnue : {p.kind}")
    return f.label


def _verify(client: FTPClient, history: History, directories: list[str], after: str, say) -> None:
    acked = [(e.value["name"], e.value["sha256"]) for e in history.events
             if e.source == CLIENT and e.op == UPLOAD and e.outcome == OK]
    started = time.monotonic()
    value = read_back_all(client, acked, directories)
    history.append(RUN, ENDURANCE, VERIFY, INFO, {"after": after, **value})
    missing = sum(1 for v in value["read"].values() if v is None)
    say(f"bascule endurance: vérification après {after} : {len(acked)} fichiers acquittés relus en "
        f"{time.monotonic() - started:.0f} s, {missing} absent(s) ou illisible(s)")


def run(inv: Inventory, settings: Settings, hypervisor=None, say: Callable[[str], None] = print) -> EnduranceVerdict:
    history = History()
    cluster = Cluster(inv, history)
    kinds = settings.kinds
    try:
        problems, _ = settle(cluster, deadline=120)
        if problems:
            raise BasculeError("le cluster n'est pas dans son état de référence : " + " ; ".join(problems),
                               "le réparer (ou bascule lab reparer), puis relancer l'endurance")
        if "courant" in kinds and power_switch(cluster.master, hypervisor) == (None, None):
            kinds = tuple(k for k in kinds if k != "courant") or ("standby",)
            say("bascule endurance: pas de coupure de courant possible sur ce cluster (power_off/power_on absents "
                "de l'inventaire) : ce type de panne est retiré du tirage")
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
                                                     "kinds": list(kinds), "cluster": public(inv), "directory": base,
                                                     "date": datetime.now().isoformat(timespec="seconds")})
        client = FTPClient.for_inventory(inv)
        uploaders = [FtpUploader(client, history, f"{base}/ftp", settings.upload_period, seed=settings.seed)]
        if shutil.which("curl"):
            uploaders.append(CurlUploader(client, history, f"{base}/curl", settings.curl_period))
            directories.append(f"{base}/curl")
        else:
            say("bascule endurance: curl absent : pas de client indépendant (apt install curl)")
        stop_reason, done = _loop(cluster, plan, settings, hypervisor, history, uploaders, client, directories, say)
        history.append(RUN, ENDURANCE, STOP, INFO, {"reason": stop_reason, "faults": done})
    finally:
        cluster.close()
    return _finish(history, settings, say)


def _loop(cluster: Cluster, plan: list[Planned], settings: Settings, hypervisor, history: History, uploaders: list,
          client: FTPClient, directories: list[str], say) -> tuple[str, int]:
    stop = threading.Event()
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def interrupted(signum, _frame):
        if stop.is_set():
            raise KeyboardInterrupt  # a second signal: stop healing too
        stop.set()
        raise Interrupted("Ctrl-C" if signum == signal.SIGINT else "SIGTERM")
    for s in previous:
        signal.signal(s, interrupted)
    for u in uploaders:
        u.start()
    end = time.monotonic() + settings.duration_s
    done, reason = 0, "durée atteinte"
    faults = Faults()
    try:
        for p in plan:
            if time.monotonic() + p.pause >= end:
                break
            history.append(RUN, ENDURANCE, PLANNED, INFO, {"index": p.index, "kind": p.kind, "pause": p.pause})
            stop.wait(p.pause)  # the schedule's quiet time: uploads go on, on a cluster at rest
            faults = Faults()
            say(f"bascule endurance: panne {p.index} : {p.kind} ({KINDS[p.kind]}) — "
                f"{max(0, end - time.monotonic()) / 60:.0f} min restantes")
            try:
                label = _fault(cluster, p, faults, hypervisor, history, say)
            except FaultUnavailable as exc:
                say(f"bascule endurance: panne {p.index} impossible ici : {exc}")
                continue
            recovered = _audit(cluster, faults, p, label, history, say)
            done += 1
            _verify(client, history, directories, label, say)
            if not recovered:
                reason = f"le cluster n'est pas revenu à son état de référence après la panne {p.index} ({label})"
                break
    except Interrupted as exc:
        reason = f"interrompue ({exc}) pendant la panne {done + 1}"
        say(f"bascule endurance: {reason} ; bascule défait ses pannes et vérifie les fichiers")
        _audit(cluster, faults, None, "interruption", history, say)
    finally:
        for u in uploaders:
            u.stop()
        for u in uploaders:
            u.join(timeout=60)
        try:
            _verify(client, history, directories, "fin", say)
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
    return reason, done


def _audit(cluster: Cluster, faults: Faults, p: Planned | None, label: str, history: History, say) -> bool:
    errors = faults.heal_all()
    audit = audit_after(cluster, list(faults))
    recovered = not errors and not audit.error and not audit.baseline_after
    others = [r.what for r in audit.repairs if not r.own]
    history.append(RUN, ENDURANCE, RECOVERED, OK if recovered else INFO, {
        "index": p.index if p else None, "kind": p.kind if p else "", "label": label, "recovered": recovered,
        "waited": audit.waited, "repairs": others, "left": list(audit.baseline_after) + errors
        + ([audit.error] if audit.error else [])})
    say(f"bascule endurance: {label} : " + (f"cluster revenu à son état de référence en {audit.waited:.0f} s"
                                             if recovered else "cluster PAS revenu à son état de référence : "
                                             + " ; ".join(list(audit.baseline_after) + errors + [audit.error])))
    return recovered


def _finish(history: History, settings: Settings, say) -> EnduranceVerdict:
    from bascule.reporting.endurance import write_report
    out = settings.out
    out.mkdir(parents=True, exist_ok=True)
    history.save_jsonl(out / "historique.jsonl")
    verdict = judge_endurance(list(history.events))
    paths = write_report(verdict, list(history.events), out)
    say(f"bascule endurance: {verdict.verdict} — {verdict.why} ; tableau → {paths['md']} et {paths['html']}")
    return verdict
