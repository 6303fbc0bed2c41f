"""What a scenario shows in Allure beside its rows, beyond the rows themselves: the readings and texts
its steps produced. The steps hand their typed values over (the `pieces_jointes` fixture); how each is
shown is decided here, on the reporting side."""

from __future__ import annotations

from bascule.cluster.cluster import Cluster
from bascule.cluster.configuration import ConfigurationRead
from bascule.facts.configuration import SAVE_FILE
from bascule.record.observations import RestoreSeen, SaveSeen
from bascule.reporting.table import attach_snapshot, attach_text
from bascule.suite.stash import BASELINE_SNAPSHOT


class Attachments:
    def __init__(self, request, cluster: Cluster):
        self._request = request
        self._cluster = cluster

    def __repr__(self) -> str:
        return "Attachments()"

    def reference_state(self) -> None:
        """The reading that found the cluster at its baseline, when there was one (none in read-only
        runs: then one is taken)."""
        attach_snapshot(
            "état de référence", self._request.node.stash.get(BASELINE_SNAPSHOT, None) or self._cluster.snapshot()
        )

    def saved(self, seen: SaveSeen) -> None:
        attach_text(SAVE_FILE.rsplit("/", 1)[-1], seen.saved_text or seen.error)

    def restored(self, seen: RestoreSeen) -> None:
        attach_text("configuration après restauration", seen.restored_xml, xml=False)

    def shown(self, configuration: ConfigurationRead) -> None:
        attach_text("crm configure show", configuration.show)
