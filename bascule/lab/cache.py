"""The embedded lab kept at its baseline: one snapshot of both VMs, memory and disks, taken by the
`lab up` that built and provisioned them, once the lab has reached its baseline; the next `lab up`
after a `lab down` reverts it and finds the lab ready in seconds instead of minutes.

Why a snapshot of the running VMs rather than of their disks: a cold boot of the cluster under
emulation costs minutes (boot, corosync, DRBD, every resource's start), a revert costs seconds, and
the lab comes back exactly as it was at its baseline, with nothing left over from the suite's
faults or a breakage (`lab casser`).

Both VMs are paused before the snapshot and resumed together after it, and reverted paused then
resumed together: neither sees the other vanish, so corosync keeps its membership and DRBD its
connection. The snapshot is tied to what built the lab (the box, the provisioning, the lab's
password and key): when any of it changed, or the snapshot is missing, it is not used and the lab
is built the full way, which takes a new one.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SNAPSHOT = "bascule-reference"
KEY_FILE = "reference-snapshot"  # under the lab's state directory


def build_key(parts: list[str | bytes], files: list[Path]) -> str:
    """A digest of everything the lab's baseline depends on: named values and files' contents."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    for f in sorted(files):
        digest.update(f.name.encode() + b"\0" + (f.read_bytes() if f.exists() else b"") + b"\0")
    return digest.hexdigest()[:16]


class BaselineCache:
    def __init__(self, hypervisor, key: str, out):
        self.hv = hypervisor
        self.key = key
        self.out = out

    @property
    def file(self) -> Path:
        """The key of the snapshot the VMs hold, written once it is taken."""
        return self.hv.state / KEY_FILE

    def _on_both(self, *args: str) -> list:
        # both domains at once: the two VMs must pause and resume within the same instant
        with ThreadPoolExecutor(max_workers=2) as pool:
            return list(
                pool.map(
                    lambda n: self.hv.virsh(*args[:1], self.hv.domain(n), *args[1:], check=False, timeout=300),
                    self.hv.node_names,
                )
            )

    def present(self) -> bool:
        """Do both VMs hold a snapshot taken from what builds the lab now?"""
        try:
            if self.file.read_text().strip() != self.key:
                return False
        except OSError:
            return False
        return all(r.returncode == 0 for r in self._on_both("snapshot-info", "--snapshotname", SNAPSHOT))

    def take(self) -> None:
        """Both VMs paused, snapshotted (memory and disks), resumed; the key written after."""
        self.forget()
        paused = self._on_both("suspend")
        if any(r.returncode != 0 for r in paused):  # one VM running on alone would break the pair's state
            self._on_both("resume")
            self.out(
                "instantané de l'état de référence non pris (une VM ne s'est pas mise en pause) : "
                "le prochain `lab up` refera tout"
            )
            return
        try:
            made = self._on_both("snapshot-create-as", "--name", SNAPSHOT, "--atomic")
        finally:
            self._on_both("resume")
        failed = [r.stderr.strip() for r in made if r.returncode != 0]
        if failed:
            self.out(
                f"instantané de l'état de référence non pris ({failed[0][-120:]}) : le prochain `lab up` refera tout"
            )
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        self.file.write_text(self.key + "\n")

    def restore(self) -> str:
        """The VMs back at the snapshot, running: "" when done, else why not (the caller builds the
        lab the full way)."""
        for net in self.hv.networks():
            started = self.hv.virsh("net-start", net, check=False)
            if started.returncode != 0 and "already active" not in started.stderr:
                return f"le réseau {net} ne démarre pas ({started.stderr.strip()[-120:]})"
        reverted = self._on_both("snapshot-revert", "--snapshotname", SNAPSHOT, "--paused")
        failed = [r.stderr.strip() for r in reverted if r.returncode != 0]
        if failed:
            return f"retour à l'instantané impossible : {failed[0][-120:]}"
        resumed = self._on_both("resume")
        failed = [r.stderr.strip() for r in resumed if r.returncode != 0]
        return f"reprise des VM impossible : {failed[0][-120:]}" if failed else ""

    def forget(self) -> None:
        """The snapshot's metadata removed from both domains (libvirt refuses to undefine a domain
        that has some), and its key."""
        self._on_both("snapshot-delete", "--snapshotname", SNAPSHOT)
        self.file.unlink(missing_ok=True)
