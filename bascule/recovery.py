"""Bringing the cluster back: the baseline guard's restore, and document 3's split-brain recovery."""
from __future__ import annotations

from .cluster import Cluster
from .errors import BaselineError, BasculeError, NodeError
from .history import OK, STEP
from .nodes import Node, quote

SPLIT_BRAIN_LOG = r"Split-Brain detected.*dropping connection"


def split_brain_logged(node: Node, since_boot: bool = True) -> list[str]:
    """Kernel log lines on the node matching document 3's message."""
    res = node.run(f"dmesg 2>/dev/null | grep -E {quote(SPLIT_BRAIN_LOG)} || true", timeout=30)
    return [l for l in res.stdout.splitlines() if l.strip()]


def resolve_split_brain(cluster: Cluster, keep: Node) -> None:
    """Document 3, « Comment résoudre le split brain ? », step by step:
    on both nodes `umount /dev/drbd0` and `drbdadm disconnect resftp`; on the less active node
    `drbdadm secondary resftp` and `drbdadm -- --discard-my-data connect resftp`; on the node whose
    data is kept `drbdadm connect resftp`; at the end of the resync `mount /dev/drbd0 /home`.
    Pacemaker is held in maintenance mode meanwhile, then given the cluster back."""
    inv = cluster.inv
    res, dev, mnt = inv.drbd.resource, inv.drbd.device, inv.drbd.mount_point
    discard = cluster.peer(keep)
    h = cluster.history
    h.append(STEP, "document 3", "résolution du split brain", OK, {"garde": keep.name, "écarte": discard.name})
    keep.run("crm configure property maintenance-mode=true", timeout=60)
    for n in (keep, discard):
        # processes that hold /home (an FTP session) would make umount fail
        n.run(f"if mountpoint -q {quote(mnt)}; then fuser -km {quote(mnt)} >/dev/null 2>&1; umount {quote(dev)}; fi", timeout=60)
        n.run(quote("drbdadm", "disconnect", res) + " 2>/dev/null || true", timeout=60)
    discard.run(quote("drbdadm", "secondary", res), timeout=60)
    discard.run(f"drbdadm -- --discard-my-data connect {quote(res)}", timeout=60)
    keep.run(quote("drbdadm", "connect", res), timeout=60)
    cluster.wait_drbd(keep, "DRBD resync to UpToDate/UpToDate", lambda s: s.healthy, deadline=300, interval=1)
    st = cluster.drbd(keep)
    if st.role == "Primary":
        keep.run(f"mountpoint -q {quote(mnt)} || mount {quote(dev)} {quote(mnt)}", timeout=60)
    # Pacemaker must learn what the manual steps changed (roles, mounts) before it takes the
    # cluster back: re-probe everything while still in maintenance, wait for the probes, and only
    # then leave maintenance. Otherwise it acts on its old picture (it would mount /home on a node
    # whose DRBD is now Secondary: "Wrong medium type").
    keep.run(quote("crm", "resource", "refresh") + " >/dev/null", timeout=180)
    keep.run("crm_resource --wait --timeout=180s >/dev/null 2>&1 || true", timeout=240)
    keep.run("crm configure property maintenance-mode=false", timeout=60)


def _revive_ftp(cluster: Cluster) -> None:
    """A scenario may leave proftpd dead where Pacemaker believes it runs (a service without a
    monitor op does not get noticed): restart it so the next scenario starts from a working FTP.
    Never stops the run: whether FTP works is the scenarios' verdict, not the guard's."""
    from .ftp import FTPClient, FTPUnavailable
    client = FTPClient.for_inventory(cluster.inv)
    try:
        client.listing(".")
        return
    except FTPUnavailable:
        pass
    try:
        cluster.master.run(quote("crm", "resource", "restart", cluster.inv.resources.ftp) + " >/dev/null 2>&1 || true", timeout=180)
    except NodeError:
        pass


def restore_baseline(cluster: Cluster, deadline: float = 420) -> float:
    """Bring the cluster back to its baseline after a scenario: nodes online, maintenance off,
    `crm resource cleanup`, DRBD reconnected; then wait for the baseline. Returns the seconds it
    took; raises BaselineError naming what is left broken."""
    from .waits import WaitTimeout, wait_until
    inv = cluster.inv
    problems = cluster.baseline_problems

    # already at baseline: nothing to repair (a cleanup would make every resource re-probe)
    try:
        if not problems():
            _revive_ftp(cluster)
            return 0.0
    except BasculeError:
        pass
    helper = None
    for n in cluster.nodes.values():
        if n.reachable():
            helper = helper or n
    if helper is None:
        raise BaselineError("no node answers SSH after the scenario", "check the nodes by hand, then rerun")
    remedies = ["crm configure property maintenance-mode=false"]
    remedies += [quote("crm", "node", "online", spec.name) for spec in inv.nodes]
    remedies += ["crm resource cleanup"]
    for remedy in remedies:
        try:
            helper.run(remedy + " >/dev/null 2>&1 || true", timeout=120)
        except NodeError:
            pass  # a node still settling (rebooting) refuses; the wait below judges the result
    for n in cluster.nodes.values():
        # a DRBD left StandAlone by a scenario is reconnected; a real split brain is not resolved
        # here without saying so (the scenario that made it must recover it)
        try:
            st = cluster.drbd(n)
            if st.configured and st.connection == "StandAlone":
                n.run(quote("drbdadm", "connect", inv.drbd.resource) + " || true", timeout=60)
        except NodeError:
            pass

    try:
        return wait_until(problems, lambda p: not p, "the cluster's baseline", deadline=deadline, interval=2,
                          describe=lambda p: "; ".join(p)).elapsed
    except WaitTimeout as exc:
        raise BaselineError(f"the cluster did not come back to its baseline within {deadline:.0f} s: {exc.last_seen}",
                            "repair it by hand (crm status, cat /proc/drbd), then rerun") from None
