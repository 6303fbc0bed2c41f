"""The cluster's configuration as Q6/Q7 handle it: saved with `crm configure save`, resources and
constraints deleted then restored with `crm configure load update`, and read for conformance.

These are the lab's own actions, typed as the lab types them (crmsh). The deletion is a fault like
the others: its heal is the lab's restore, so a scenario stopped between the two still leaves the
cluster's configuration as it found it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from bascule.cluster.cluster import Cluster
from bascule.cluster.faults import Fault
from bascule.cluster.nodes import quote
from bascule.facts.configuration import SAVE_FILE, configuration_xml
from bascule.record.history import OK
from bascule.record.observations import RestoreSeen, SaveSeen
from bascule.waits import WaitTimeout


def save_configuration(cluster: Cluster) -> SaveSeen:
    """Q6: `crm configure save` on the master; what was saved, as the file reads."""
    res = cluster.master.run(
        f"rm -f {SAVE_FILE}; crm configure save {SAVE_FILE} && cat {SAVE_FILE}", timeout=60, check=False
    )
    return SaveSeen(res.ok, res.stdout if res.ok else "", "" if res.ok else (res.stderr or res.stdout).strip()[-200:])


@dataclass(frozen=True)
class ConfigurationRead:
    """The cluster's configuration: what the student reads (`crm configure show`) and what
    conformance judges (the CIB's <configuration>)."""

    show: str
    cib: str


def read_configuration(cluster: Cluster) -> ConfigurationRead:
    show = cluster.master.run("crm configure show 2>/dev/null", timeout=60, check=False).stdout
    return ConfigurationRead(show, cluster.cib("configuration"))


class ConfigurationDeletion(Fault):
    """Q7's first half: the MySQL clone stopped (a running resource cannot be deleted, as a student
    finds out) and deleted, with up to two constraints on serviceFTP. Its heal is the lab's restore,
    `crm configure load update` of the saved file."""

    name = "configuration supprimée"

    def __init__(self, cluster: Cluster):
        super().__init__(cluster, cluster.master)
        self.before = ""
        self.deleted: list[str] = []

    def _inject(self):
        r = self.cluster.inv.resources
        self.before = self.cluster.cib("configuration")
        self.node.run(quote("crm", "resource", "stop", r.mysql_clone), timeout=60)
        self.cluster.wait_state(
            f"l'arrêt de {r.mysql_clone}", lambda s: not s.where(r.mysql_clone), deadline=180, interval=2
        )
        cfg = configuration_xml(self.before)
        constraints = [
            c.get("id")
            for c in cfg.findall(".//rsc_order") + cfg.findall(".//rsc_colocation")
            if c.get("rsc") == r.ftp or c.get("then") == r.ftp
        ][:2]
        for rid in [r.mysql_clone] + constraints:
            self.node.run(
                quote("crm", "configure", "delete", "--force", rid) + f" || crm configure delete {shlex.quote(rid)}",
                timeout=60,
            )
            self.deleted.append(rid)

    def _heal(self):
        self.node.run(f"crm configure load update {SAVE_FILE}", timeout=120)

    @property
    def undo(self) -> str:
        return f"crm configure load update {SAVE_FILE}"

    def restore(self) -> RestoreSeen:
        """Q7's second half, as the scenario's own action: what the deletion left, the restore's
        outcome, the restored configuration and the MySQL clone started again on both nodes."""
        r = self.cluster.inv.resources
        after_delete = configuration_xml(self.cluster.cib("configuration"))
        still = tuple(rid for rid in self.deleted if after_delete.find(f".//*[@id='{rid}']") is not None)
        self.heal_started_at = self.cluster.history.now()
        res = self.node.run(f"crm configure load update {SAVE_FILE}", timeout=120, check=False)
        if res.ok:
            self.healed = True
            self._record("end", OK, t=self.heal_started_at)
        restored = self.cluster.cib("configuration")
        back, wait_error = None, ""
        if res.ok and not still:
            try:
                # its own failures only: another resource's failure meanwhile (an IPFailover monitor
                # under load, seen on Debian 13) is the audit's to report, not a clone that did not restart
                back = round(
                    self.cluster.wait_state(
                        f"le redémarrage de {r.mysql_clone} sur les deux nœuds",
                        lambda s: len(s.where(r.mysql_clone)) == 2 and not s.failures_of(r.mysql_clone),
                        deadline=240,
                        interval=2,
                    ).elapsed,
                    1,
                )
            except WaitTimeout as exc:
                wait_error = exc.last_seen
        return RestoreSeen(
            self.before,
            tuple(self.deleted),
            still,
            res.ok,
            "" if res.ok else (res.stderr or res.stdout).strip()[-200:],
            restored,
            r.mysql_clone,
            back,
            wait_error,
        )
