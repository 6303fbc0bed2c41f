"""What an abnormal DRBD state means, and what follows from it: each state DRBD reports (its connection
state, both disk states, a resync and its progress) has its own cause, and a fix only where the state
itself points to one. A resync in progress is the only state whose fix is to wait; a disk that is not
UpToDate with no resync under way is never told to wait (the fix that was a guess: issue 30).

Pure: from the DrbdStatus each node printed (record/cluster_state.py), so a saved run is judged again
the same way."""

from __future__ import annotations

from dataclasses import dataclass

from bascule.record.cluster_state import DrbdStatus

SYNCING = (
    "SyncSource",
    "SyncTarget",
    "PausedSyncS",
    "PausedSyncT",
    "StartingSyncS",
    "StartingSyncT",
    "WFBitMapS",
    "WFBitMapT",
    "WFSyncUUID",
)
VERIFYING = ("VerifyS", "VerifyT")
WAITING = ("WFConnection", "Connecting", "Unconnected", "WFReportParams")
# a link that broke, or is being torn down: DRBD goes to WFConnection by itself afterwards
BROKEN = ("Timeout", "BrokenPipe", "NetworkFailure", "ProtocolError", "TearDown", "Disconnecting")


@dataclass(frozen=True)
class DrbdFinding:
    problem: str  # what was read, in the lab's words
    cause: str  # what it means
    fix: str  # what follows from it ("" when nothing does, or when it is another finding's consequence)


def drbd_finding(
    node: str,
    st: DrbdStatus,
    peer: DrbdStatus | None,
    peer_away: bool,
    resource: str,
    node_away: bool = False,
    kernel: tuple[str, ...] = (),
) -> DrbdFinding | None:
    """The finding for one node's DRBD state; None when it is healthy (Connected, UpToDate/UpToDate).
    `peer` is what the other node printed (None: not read), `peer_away` whether it is offline or in
    standby in the cluster, `node_away` the same for this node, `kernel` the kernel's last lines about
    DRBD on this node (dmesg), quoted with the cause."""
    found = _finding(node, st, peer, peer_away, resource, node_away, kernel)
    if found is None or not kernel:
        return found
    return DrbdFinding(
        found.problem,
        f"{found.cause} (dmesg de {node} : " + " ; ".join(f"« {k} »" for k in kernel[-2:]) + ")",
        found.fix,
    )


def _split_brain_said(kernel: tuple[str, ...]) -> bool:
    return any("split-brain" in line.casefold() for line in kernel)


def _finding(
    node: str,
    st: DrbdStatus,
    peer: DrbdStatus | None,
    peer_away: bool,
    resource: str,
    node_away: bool,
    kernel: tuple[str, ...],
) -> DrbdFinding | None:
    seen = f"DRBD {resource} sur {node} : {st.summary()}"
    if not st.configured:
        return DrbdFinding(
            f"DRBD {resource} non démarré sur {node}",
            "la ressource n'est pas montée dans le noyau (drbdadm up jamais fait, ou défait)",
            "" if node_away else f"drbdadm up {resource} sur {node}",
        )
    if st.connection == "StandAlone" and _split_brain_said(kernel):
        return DrbdFinding(
            seen,
            f"split brain : le noyau de {node} l'a détecté et DRBD a renoncé à se connecter",
            "résoudre comme le document 3 : choisir le nœud dont on écarte les données, y faire drbdadm "
            f"secondary {resource} puis drbdadm connect --discard-my-data {resource}, et drbdadm "
            f"connect {resource} sur l'autre",
        )
    if st.connection == "StandAlone":
        # the kernel read and silent about a split brain: a plain reconnection; not read: say what to look for
        check = (
            ""
            if kernel
            else (
                " (si dmesg y dit « Split-Brain detected » : résoudre comme le document 3, drbdadm "
                "connect --discard-my-data sur le nœud dont on écarte les données)"
            )
        )
        return DrbdFinding(
            seen,
            f"{node} a renoncé à se connecter à son pair (StandAlone : après un split brain, un "
            "réglage refusé par le pair, ou un drbdadm disconnect)",
            f"drbdadm connect {resource} sur {node}{check}",
        )
    if st.connection in ("PausedSyncS", "PausedSyncT"):
        return DrbdFinding(
            seen,
            "resynchronisation en pause (par dépendance entre ressources, ou à la main : drbdadm pause-sync)",
            f"drbdadm resume-sync {resource} sur {node} si elle a été mise en pause "
            "à la main, sinon attendre la ressource dont elle dépend",
        )
    if st.connection in SYNCING:
        progress = f" ({st.sync_percent:.1f} %)" if st.sync_percent is not None else ""
        return DrbdFinding(
            seen,
            f"resynchronisation en cours{progress} : {st.disk} de ce côté",
            "attendre la fin de la "
            f"synchronisation (cat /proc/drbd ou drbdadm status {resource} en montre la progression)",
        )
    if st.connection in VERIFYING:
        return DrbdFinding(seen, "vérification en ligne en cours (drbdadm verify)", "attendre sa fin")
    if st.connection in WAITING or st.connection in BROKEN:
        if peer_away or (peer is not None and not peer.configured):
            return DrbdFinding(seen, f"{node} attend son pair, arrêté ou hors du cluster", "")  # the peer's own finding
        if peer is not None and peer.connection == "StandAlone":
            return DrbdFinding(seen, f"{node} attend son pair, qui a renoncé à la connexion (StandAlone)", "")
        return DrbdFinding(
            seen,
            f"{node} attend son pair ({st.connection}), en marche mais injoignable sur le lien de réplication",
            f"vérifier le lien de réplication entre les nœuds (ip link, ping de l'adresse DRBD du pair, "
            f"pare-feu sur le port de /etc/drbd.d/{resource}.res), puis drbdadm connect {resource}",
        )
    if st.connection != "Connected":
        return DrbdFinding(seen, f"état de connexion inattendu ({st.connection})", "")
    return _disks(node, st, resource, seen)


def _disks(node: str, st: DrbdStatus, resource: str, seen: str) -> DrbdFinding | None:
    """Connected, no resync under way: what each disk state means."""
    if st.disk == "UpToDate" and st.peer_disk == "UpToDate":
        return None
    if st.disk == "Diskless":
        return DrbdFinding(
            seen,
            f"{node} n'a pas de disque sous DRBD (Diskless : détaché, ou refusé à l'attachement)",
            f"drbdadm attach {resource} sur {node} (s'il refuse : dmesg et le disque nommé dans "
            f"/etc/drbd.d/{resource}.res disent pourquoi)",
        )
    if st.peer_disk == "Diskless":
        return DrbdFinding(seen, "le pair n'a pas de disque sous DRBD (Diskless)", "")  # the peer's own finding
    if st.disk == "Inconsistent" and st.peer_disk == "UpToDate":
        return DrbdFinding(
            seen,
            f"le disque de {node} est Inconsistent sans resynchronisation en cours",
            f"drbdadm invalidate {resource} sur {node} : resynchronisation complète depuis le pair",
        )
    if st.disk == "Inconsistent" and st.peer_disk == "Inconsistent":
        return DrbdFinding(
            seen,
            "aucun des deux nœuds n'a de données à jour (Inconsistent des deux côtés)",
            f"choisir le nœud qui a les bonnes données et y faire drbdadm primary --force {resource} "
            "(comme à la première synchronisation du lab)",
        )
    if st.disk == "Outdated":
        return DrbdFinding(
            seen,
            f"le disque de {node} est Outdated (marqué périmé pendant une déconnexion) sans resynchronisation en cours",
            f"drbdadm disconnect {resource} puis drbdadm connect {resource} sur {node}, pour "
            "resynchroniser depuis le pair",
        )
    if st.disk in ("Inconsistent", "UpToDate") and st.peer_disk in ("Outdated", "Inconsistent"):
        return DrbdFinding(seen, f"le disque du pair est {st.peer_disk}", "")  # the peer's own finding
    return DrbdFinding(seen, f"états de disque inattendus ({st.disk}/{st.peer_disk})", "")
