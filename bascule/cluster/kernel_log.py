"""Document 3's split-brain line in the nodes' kernel logs: read before a fault, so that only a split
brain of that fault counts."""

from __future__ import annotations

from bascule.cluster.cluster import Cluster
from bascule.cluster.nodes import Node, quote

SPLIT_BRAIN_LOG = r"Split-Brain detected.*dropping connection"


def split_brain_logged(node: Node) -> list[str]:
    """Kernel log lines on the node matching document 3's message."""
    res = node.run(f"dmesg 2>/dev/null | grep -E {quote(SPLIT_BRAIN_LOG)} || true", timeout=30)
    return [line for line in res.stdout.splitlines() if line.strip()]


def logged_lines(cluster: Cluster) -> dict[str, tuple[str, ...]]:
    """Document 3's split-brain line in each node's kernel log, as it stands now."""
    return {
        name: tuple(lines)
        for name, lines in cluster.on_every_node(split_brain_logged).items()
        if not isinstance(lines, Exception)
    }


def new_lines(now: dict[str, tuple[str, ...]], before: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """The lines logged since `before`, by node."""
    return {n: lines[len(before.get(n, ())) :] for n, lines in now.items()}
