"""The files a scenario writes to prove that its data survives, and the FTP trial of Q5.

Two registers, one per way of writing, each held by a scenario's fixture (steps only call them):
- `NodeWrites`: the lab's `touch /home/user/Documents/essai1`, done on a node's /home as the user
  (Q2), read back on either node;
- `FtpWitnesses`: files written through the FTP client on the VIP (Q5's « tests à partir de
  Filezilla », and the witnesses of the extra cases), read back the same way.
What failed is said in the observation, with what was read on the node when it points at a cause.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

from bascule.cluster.cluster import Cluster, read_on, write_as_user
from bascule.cluster.evidence import ftp_side, serving_node
from bascule.cluster.ftp import FTPClient, FTPUnavailable, describe_error, sha256
from bascule.cluster.nodes import Node
from bascule.record.observations import FileRead, FileWrite, FtpTest, FtpWitness, WitnessRead

TRIAL = "ftp-"  # the FTP trials' names in the register: ftp-1, ftp-2, …


class NodeWrites:
    """The files a scenario wrote on a node's /home, by name."""

    def __init__(self) -> None:
        self._written: dict[str, FileWrite] = {}

    def __repr__(self) -> str:
        return f"NodeWrites({', '.join(self._written)})"

    def write(self, cluster: Cluster, node: Node, name: str) -> FileWrite:
        """The lab's touch, with known content; when it fails, why, read on that node."""
        content = f"bascule {name} écrit sur {node.name} à {time.strftime('%H:%M:%S')} {os.urandom(8).hex()}\n"
        written = write_as_user(cluster, node, f"{cluster.inv.documents_dir}/{name}", content)
        if written.sha256 is None:
            written = replace(written, ftp_side=ftp_side(cluster, node.name))
        self._written[name] = written
        return written

    def read(self, cluster: Cluster, node: Node, name: str) -> FileRead:
        """The file read on a node, compared with what was written (nothing to compare when the
        scenario did not write it)."""
        written = self._written.get(name)
        return read_on(cluster, node, name, f"{cluster.inv.documents_dir}/{name}", written.sha256 if written else None)


class FtpWitnesses:
    """The files a scenario wrote through the FTP client on the VIP, by name."""

    def __init__(self) -> None:
        self._written: dict[str, FtpWitness] = {}

    def __repr__(self) -> str:
        return f"FtpWitnesses({', '.join(self._written)})"

    def upload(self, cluster: Cluster, client: FTPClient, name: str) -> FtpWitness:
        """A witness uploaded, then flushed to disk on both nodes: an upload acknowledged seconds
        before a power cut may exist only in the page cache, and its loss would say nothing about
        the cluster. Flushed, the witness tests replication, not writeback."""
        data = f"bascule témoin {name} {time.time():.3f} {os.urandom(16).hex()}\n".encode() * 32
        path = f"{cluster.inv.ftp.documents}/temoin-{name}.txt"
        client.upload(path, data)
        cluster.flush_to_disk()
        self._written[name] = FtpWitness(path, sha256(data))
        return self._written[name]

    def read(self, client: FTPClient, name: str) -> WitnessRead:
        return read_witness(client, self._written[name])

    def read_all(self, client: FTPClient) -> tuple[WitnessRead, ...]:
        return tuple(read_witness(client, w) for w in self._written.values())

    def trial(self, cluster: Cluster, client: FTPClient) -> FtpTest:
        """Q5's test: upload a file with known content through the VIP, read it back, and read back
        the files that the scenario's earlier trials wrote (the data must survive every move). When
        it fails, why, read on the node that serves (read only)."""
        seen = self._trial(client, cluster.inv.ftp.documents)
        return replace(seen, ftp_side=ftp_side(cluster, serving_node(cluster))) if seen.error else seen

    def _trial(self, client: FTPClient, documents: str) -> FtpTest:
        earlier = [w for k, w in self._written.items() if k.startswith(TRIAL)]
        name = f"{TRIAL}{len(earlier) + 1}"
        path = f"{documents}/essai-{name}-{os.urandom(3).hex()}.txt"
        data = f"bascule {name} {time.time():.3f} {os.urandom(16).hex()}\n".encode() * 64
        self._written[name] = FtpWitness(path, sha256(data))
        served = None
        try:
            with client.session() as host:
                served = client.served_by(host)
            client.upload(path, data)
            back, _ = client.download(path)
            reads = []
            for w in earlier:
                old, _ = client.download(w.path)
                reads.append(WitnessRead(w.path, w.sha256, sha256(old), len(old)))
            return FtpTest(path, sha256(data), len(data), sha256(back), served, tuple(reads))
        except FTPUnavailable as exc:
            return FtpTest(path, sha256(data), len(data), served_by=served, error=exc.what)
        except Exception as exc:  # noqa: BLE001 - an FTP error mid-transfer: the user's FileZilla would show it
            return FtpTest(path, sha256(data), len(data), served_by=served, error=describe_error(exc))


def read_witness(client: FTPClient, witness: FtpWitness) -> WitnessRead:
    """A witness read back through the FTP client on the VIP; an error is what the client saw."""
    try:
        data, _ = client.download(witness.path)
        return WitnessRead(witness.path, witness.sha256, sha256(data), len(data))
    except Exception as exc:  # noqa: BLE001 - the row says what the client saw
        return WitnessRead(witness.path, witness.sha256, None, None, getattr(exc, "what", None) or describe_error(exc))
