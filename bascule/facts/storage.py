"""Facts about where the files the FTP server acknowledges are written: whether what one node writes
can reach the other. Read from the storage evidence an endurance run records on its history
(bascule/cluster/evidence.storage): the file system resource's parameters in the CIB, and on each
node what is mounted on the DRBD mount point and DRBD's replication protocol."""

from __future__ import annotations

from dataclasses import dataclass

from bascule.inventory import Inventory


@dataclass(frozen=True)
class StorageFinding:
    cause: str
    fix: str
    # explains only losses at a sudden fault (power cut, cable): a clean move waits for DRBD's peer
    # whatever the protocol
    sudden_only: bool = False


def _on_drbd(source: str, inv: Inventory) -> bool:
    # findmnt names the device the kernel mounted (/dev/drbd0) even when the resource says
    # /dev/drbd/by-res/…: any DRBD device counts, the conformance rows judge which one
    return source.rstrip("/") == inv.drbd.device.rstrip("/") or source.startswith("/dev/drbd")


def storage_findings(storage: dict, inv: Inventory) -> list[StorageFinding]:
    """What in this evidence lets an acknowledged file be lost at a failover; [] when nothing does
    (or nothing could be read: the caller says which)."""
    fs, d = inv.resources.fs, inv.drbd
    findings: list[StorageFinding] = []
    params = storage.get("params")
    if "params" in storage and params is None:
        findings.append(
            StorageFinding(
                f"primitive {fs} absente de la configuration du cluster : {d.mount_point} n'est "
                "pas monté par Pacemaker",
                f"créer {fs} comme le lab (Q3 : primitive {fs} "
                f"ocf:heartbeat:Filesystem params device={d.device} directory={d.mount_point} "
                "fstype=ext4)",
            )
        )
    elif params is not None and not _on_drbd(params.get("device", ""), inv):
        how = ", ".join(f"{k}={params[k]}" for k in ("fstype", "options") if params.get(k))
        findings.append(
            StorageFinding(
                f"{fs} monte {params.get('device') or '(aucun device)'}{f' ({how})' if how else ''} sur "
                f"{params.get('directory', d.mount_point)}, pas {d.device} : ce que le nœud actif écrit reste sur son "
                "propre disque, l'autre nœud ne l'a jamais (lu dans la configuration du cluster, cibadmin)",
                f"crm configure edit {fs} : device={d.device} fstype=ext4, sans options=bind (Q3 du lab)",
            )
        )
    nodes = sorted((storage.get("nodes") or {}).items())
    resource_wrong = bool(findings)  # then what each node mounts is that, said once
    for node, seen in nodes:
        source = seen.get("source", "")
        if source and not _on_drbd(source, inv) and not resource_wrong:
            findings.append(
                StorageFinding(
                    f"{d.mount_point} de {node} monté depuis {source} ({seen.get('fstype') or '?'}), pas depuis DRBD "
                    "(lu sur le nœud, findmnt)",
                    f"sur {node} : umount {d.mount_point}, puis crm resource cleanup {fs}",
                )
            )
    weak = {node: seen["protocol"] for node, seen in nodes if seen.get("protocol") in ("A", "B")}
    if weak:
        findings.append(
            StorageFinding(
                f"DRBD {d.resource} en protocole {'/'.join(sorted(set(weak.values())))} sur {', '.join(weak)} (drbdadm "
                "dump) : une écriture est acquittée avant que l'autre nœud ne l'ait sur son disque",
                f"protocol C; dans la section net de /etc/drbd.d/{d.resource}.res sur les deux nœuds, puis "
                f"drbdadm adjust {d.resource}",
                sudden_only=True,
            )
        )
    return findings


def read_nothing(storage: dict) -> bool:
    """Whether this evidence holds nothing to judge from (every reading failed)."""
    nodes = storage.get("nodes") or {}
    return "params" not in storage and all("error" in v for v in nodes.values())


def ruled_out(storage: dict, inv: Inventory) -> str:
    """What a reading without findings shows, each with where it was read: what a loss was not caused by."""
    d = inv.drbd
    said = []
    if storage.get("params"):
        said.append(f"{inv.resources.fs} monte bien {storage['params'].get('device')} sur {d.mount_point} (cibadmin)")
    protocols = {seen.get("protocol") for seen in (storage.get("nodes") or {}).values() if "error" not in seen}
    if protocols == {"C"}:
        said.append("DRBD en protocole C (drbdadm dump)")
    elif protocols == {""}:
        said.append("protocole DRBD non écrit dans sa configuration, donc C (drbdadm dump)")
    return ", ".join(said) if said else "rien de lisible sur le stockage"
