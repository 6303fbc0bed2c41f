"""Has the cluster settled? A watch that a wait asks after each attempt: it reads the controller
now and then, and says so once the DC has stayed idle, with nothing written to the CIB, for a grace
period. The wait then ends at once, instead of at its deadline.

Why a grace period: a transition's actions follow each other without the DC going idle, but a
reading can fall in the instant between two transitions, or before the DC has reacted to a fault
(a standby, a node lost: it takes the corosync token's timeout to notice). SETTLE_GRACE is chosen
from the lab's healthy moves (bench/settle_grace.py prints the longest idle stretch that a healthy
move showed before it ended, and the README quotes it).
"""

from __future__ import annotations

from bascule.cluster.cluster import Cluster
from bascule.cluster.nodes import Node
from bascule.facts.settling import quiet_for, settled_sentence

SETTLE_GRACE = 20.0  # seconds of an idle DC, the CIB unchanged, before a wait gives up
READ_EVERY = 5.0  # seconds between two controller readings while the client is served
READ_EVERY_SILENT = 15.0  # while the client sees the service down: each reading costs a loaded guest CPU


class SettleWatch:
    """settled() for wait_until: None while the cluster may still act, a sentence once it has settled.

    quiet_allowed: seconds after `since` during which an idle cluster proves nothing (a killed
    process is only seen at the resource's next monitor); readings before that do not count."""

    def __init__(
        self,
        cluster: Cluster,
        since: float,
        grace: float = SETTLE_GRACE,
        quiet_allowed: float = 0.0,
        probe=None,
        prefer: Node | None = None,
    ):
        self.cluster = cluster
        self.since = since
        self.grace = grace
        self.quiet_allowed = quiet_allowed
        self.probe = probe
        self.prefer = prefer
        self._last_read = float("-inf")

    def __call__(self) -> str | None:
        now = self.cluster.history.now()
        counts_from = self.since + self.quiet_allowed
        if now < counts_from:
            return None
        silent = self.probe is not None and self.probe.started and self.probe.out_of_service(self.since)
        if now - self._last_read >= (READ_EVERY_SILENT if silent else READ_EVERY):
            self._last_read = now
            try:
                self.cluster.controller(prefer=self.prefer)
            except Exception:  # noqa: BLE001 - an unreadable controller is recorded, and breaks the quiet run
                pass
        quiet = quiet_for(self.cluster.history.since(counts_from))
        return settled_sentence(quiet) if quiet is not None and quiet >= self.grace else None
