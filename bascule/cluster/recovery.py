"""Bringing the cluster back, and saying so: the audit after each scenario, the explicit
`--bascule-remettre-en-etat`, and document 3's split-brain recovery.

bascule never repairs the user's cluster in silence: every repair is returned as a Repair (what was
done, what was seen, whether it undid bascule's own fault), and the audit row of the scenario lists
them."""

from __future__ import annotations

import os
from typing import Callable

import ftputil.error

from bascule.cluster.cluster import Cluster
from bascule.cluster.ftp import FTPClient, FTPUnavailable, describe_error, is_login_refused
from bascule.cluster.nodes import quote
from bascule.errors import BasculeError, BaselineError, NodeError, RepairIncomplete
from bascule.facts.placement import baseline_problems
from bascule.record.observations import Audit, FtpAccess, Repair
from bascule.waits import WaitTimeout, wait_until

AFTER_LOGIN = "identifié"  # a failure after the login succeeded: the client's evidence says so


def ftp_access(cluster: Cluster, write: bool = True) -> FtpAccess:
    """The FTP account on the VIP as a user finds it: log in, list the home, write (then delete) a
    small file in Documents. Nothing here repairs anything."""
    client = FTPClient.for_inventory(cluster.inv)
    try:
        with client.session() as host:
            try:
                host.listdir(".")
            except (ftputil.error.FTPError, OSError) as exc:  # logged in: the data connection failed
                return FtpAccess(False, error=f"{AFTER_LOGIN}, liste impossible : {describe_error(exc)}")
            server = client.served_by(host)
            if not write:
                return FtpAccess(True, served_by=server)
            path = f"{cluster.inv.ftp.documents}/bascule-acces-{os.urandom(3).hex()}.txt"
            try:
                with host.open(path, "w", encoding="utf-8") as fh:
                    fh.write("bascule: essai d'écriture avant tout test\n")
                host.remove(path)
            except (ftputil.error.FTPError, OSError) as exc:
                return FtpAccess(True, wrote=False, write_error=describe_error(exc), served_by=server)
            return FtpAccess(True, wrote=True, served_by=server)
    except FTPUnavailable as exc:
        return FtpAccess(False, error=exc.reason, login_refused=exc.login_refused)
    except (ftputil.error.FTPError, OSError) as exc:
        return FtpAccess(False, error=describe_error(exc), login_refused=is_login_refused(exc))


def _stuck(state, drbd: dict) -> bool:
    """Does the cluster show something that will not go away by waiting (a failed action, a node in
    standby or maintenance, DRBD StandAlone)? Then waiting longer for the baseline is pointless."""
    return (
        bool(state.failed_actions)
        or state.maintenance_mode
        or any(n.standby or n.maintenance for n in state.nodes)
        or any(st is not None and st.connection == "StandAlone" for st in drbd.values())
    )


def _read(cluster: Cluster):
    return cluster.state(), cluster.drbd_everywhere()


def settle(cluster: Cluster, deadline: float) -> tuple[list[str], float]:
    """Wait, without touching anything, until the cluster is at its baseline, or shows something
    that waiting will not cure. Returns what still keeps it from its baseline and the seconds."""
    try:
        waited = wait_until(
            lambda: _read(cluster),
            lambda v: not baseline_problems(v[0], v[1], cluster.inv) or _stuck(*v),
            "la stabilisation du cluster dans son état de référence",
            deadline=deadline,
            interval=3,
            describe=lambda v: "; ".join(baseline_problems(v[0], v[1], cluster.inv)),
        )
    except WaitTimeout as exc:
        return [exc.last_seen], float(deadline)
    state, drbd = waited.value
    return baseline_problems(state, drbd, cluster.inv), waited.elapsed


def repair(cluster: Cluster, own_failures: Callable[[str, str], bool] = lambda rsc, node: False) -> list[Repair]:
    """Bring the cluster back towards its baseline, and say each thing done and why: maintenance
    mode left, nodes online, failed actions cleaned up per resource, DRBD StandAlone reconnected.
    own_failures(resource, node) tells the failed actions that bascule's own faults left behind."""
    inv = cluster.inv
    done: list[Repair] = []
    helper = next((n for n in cluster.nodes.values() if n.reachable()), None)
    if helper is None:
        raise BaselineError("aucun nœud ne répond en SSH", "examiner les nœuds à la main, puis relancer")
    state, drbd = _read(cluster)

    def run(cmd: str, what: str, why: str, own: bool = False, node=None) -> None:
        try:
            (node or helper).run(cmd + " >/dev/null 2>&1 || true", timeout=120)
        except NodeError:
            pass  # a node still settling refuses; the wait that follows judges the result
        done.append(Repair(what, why, own))

    if state.maintenance_mode:
        run(
            "crm_attribute --type crm_config --name maintenance-mode --update false",
            "crm configure property maintenance-mode=false",
            "cluster en mode maintenance",
        )
    for n in state.nodes:
        if n.standby:
            run(
                quote("crm_attribute", "--type", "nodes", "--node", n.name, "--name", "standby", "--update", "off"),
                f"crm node online {n.name}",
                f"{n.name} en standby",
            )
        elif n.maintenance:
            run(
                quote("crm_attribute", "--type", "nodes", "--node", n.name, "--name", "maintenance", "--update", "off"),
                f"crm node ready {n.name}",
                f"{n.name} en maintenance",
            )
    for rsc in dict.fromkeys(f.resource for f in state.failed_actions):
        fails = [f for f in state.failed_actions if f.resource == rsc]
        why = "actions en échec : " + ", ".join(
            f"{f.resource} {f.task} sur {f.node} ({f.exit_status or f.exit_code})" for f in fails
        )
        own = all(own_failures(f.resource, f.node) for f in fails)
        run(quote("crm_resource", "--cleanup", "--resource", rsc), f"crm resource cleanup {rsc}", why, own)
    for name, st in drbd.items():
        # a DRBD left StandAlone is reconnected; a real split brain is not resolved here (the
        # scenario that made it must recover it)
        if st is not None and st.configured and st.connection == "StandAlone":
            run(
                quote("drbdadm", "connect", inv.drbd.resource),
                f"drbdadm connect {inv.drbd.resource} sur {name}",
                f"DRBD {name} : {st.summary()}",
                node=cluster.nodes[name],
            )
    return done


def restore_ftp(cluster: Cluster) -> Repair | None:
    """proftpd dead where Pacemaker believes it runs (a service without a monitor op goes
    unnoticed): restart the resource, and say so."""
    access = ftp_access(cluster, write=False)
    if access.logged_in:
        return None
    rid = cluster.inv.resources.ftp
    try:
        cluster.master.run(
            quote("crm_resource", "--restart", "--resource", rid) + " >/dev/null 2>&1 || true", timeout=180
        )
    except NodeError:
        pass
    return Repair(
        f"crm resource restart {rid}",
        f"FTP ne répondait pas sur {cluster.inv.vip} ({access.error}) "
        "alors que le cluster était dans son état de référence",
        False,
    )


def _repair_until_baseline(
    cluster: Cluster,
    deadline: float,
    settle_for: float,
    own_failures: Callable[[str, str], bool] = lambda rsc, node: False,
) -> tuple[list[Repair], float, tuple[str, ...]]:
    """Settle without touching anything; if that is not enough, repair (each repair said) and wait
    for the baseline; then check FTP. Returns the repairs, the seconds, and what is left broken."""
    repairs: list[Repair] = []
    problems, took = settle(cluster, deadline=settle_for)
    if problems:
        repairs = repair(cluster, own_failures)
        try:
            took += wait_until(
                cluster.baseline_problems,
                lambda p: not p,
                "l'état de référence du cluster",
                deadline=deadline,
                interval=2,
                describe=lambda p: "; ".join(p),
            ).elapsed
        except WaitTimeout as exc:
            return repairs, took, (exc.last_seen,)
    fixed = restore_ftp(cluster)
    if fixed is not None:
        repairs.append(fixed)
    return repairs, took, ()


def restore_baseline(cluster: Cluster, deadline: float = 420) -> tuple[list[Repair], float]:
    """Bring the cluster to its baseline: what `--bascule-remettre-en-etat` and `bascule lab heal` do. Returns
    every repair made and the seconds it took; raises RepairIncomplete naming what is left broken,
    with the repairs made meanwhile."""
    repairs, took, left = _repair_until_baseline(cluster, deadline, settle_for=30)
    if left:
        raise RepairIncomplete(
            f"le cluster n'est pas revenu à son état de référence en {deadline:.0f} s : {left[0]}",
            "le réparer à la main (crm status, cat /proc/drbd), puis relancer",
            repairs,
        )
    return repairs, took


def audit_after(cluster: Cluster, faults: list, config_before: str = "", deadline: float = 420) -> Audit:
    """After a scenario (CTS's audits): undo what bascule's own faults are expected to leave behind
    (a kill leaves a failed action: `crm resource cleanup`), then look. Anything else that must be
    repaired is a finding, listed in the audit; the cluster is repaired all the same, so that the
    next scenario starts from its baseline, and the audit says whether it came back."""
    injected = [f for f in faults if f.injected]
    own = [Repair(f.undo, f"panne du scénario : {f.label}", True) for f in injected if f.undo]
    try:
        found, waited, left = _repair_until_baseline(
            cluster,
            deadline,
            settle_for=240,
            own_failures=lambda rsc, node: any(f.leaves_failure(rsc, node) for f in injected),
        )
    except BasculeError as exc:
        return Audit(tuple(own), (), str(exc))
    # a fault's undo that already names the cleanup is not listed twice
    own += [r for r in found if r.own and not any(r.what in o.what for o in own)]
    others = [r for r in found if not r.own]
    return Audit(
        tuple(own + others),
        left,
        "",
        round(waited, 1),
        config_before,
        cluster.cib("configuration") if config_before else "",
    )
