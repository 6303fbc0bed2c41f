"""Document 3's choice after a split brain: whose data to keep. The node that acknowledged the
clients' uploads while the two halves ran apart holds what the users wrote; keeping the other one
would throw that away. With no upload that names its node (the suite's probe reads which node serves
it, its uploads do not), the node that served the client last during the cut is the more active one;
with neither, the preferred master. One rule for the suite and the endurance run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from bascule.facts.client_ops import client_ops, served_by, tells_server
from bascule.facts.placement import node_named
from bascule.inventory import Inventory
from bascule.record.endurance import UPLOAD
from bascule.record.history import CLIENT, OK, WRITE, Event


@dataclass(frozen=True)
class Keeper:
    """The node whose data is kept, why, and the uploads each node acknowledged during the cut."""

    node: str
    acks: dict[str, int]
    why: str


def uploaded(e: Event) -> bool:
    """An upload the client saw acknowledged."""
    return (
        e.source == CLIENT
        and e.outcome == OK
        and (e.op in (UPLOAD, WRITE) or (isinstance(e.value, dict) and e.value.get("op") == WRITE))
    )


def split_brain_keeper(events: Iterable[Event], since: float, until: float, inv: Inventory, default: str) -> Keeper:
    """Whose data to keep after a split brain of a cut that ran from `since` to `until`: the node with
    the most uploads acknowledged meanwhile (the first named on a tie); else the last node that
    served the client; else `default`."""
    during = [e for e in events if since <= e.t and e.end <= until]
    acks = {n.name: 0 for n in inv.nodes}
    for e in during:
        node = node_named(e.value.get("served_by"), inv) if isinstance(e.value, dict) and uploaded(e) else None
        if node in acks:
            acks[node] += 1
    if any(acks.values()):
        return Keeper(max(acks, key=lambda name: acks[name]), acks, "le plus d'envois acquittés pendant la coupure")
    # reads that named the node serving them (an upload refused there does not say it served)
    reads = [
        op for op in client_ops(during) if tells_server(op) and isinstance(op.value, dict) and op.value.get("served_by")
    ]
    if reads:
        last = node_named(served_by(reads)[-1][1], inv)
        if last is not None:
            return Keeper(last, acks, "le dernier à servir le client pendant la coupure")
    return Keeper(default, acks, "aucun client servi pendant la coupure : le maître préféré")
