"""Evidence read on the cluster when a wait ended without its outcome: what the diagnosis of a KO
row is made from (judging/facts/diagnosis.py), kept on the history with the row's observation.

Read only: crm_mon, the CIB's constraints, and the daemons' own configuration tests, which change
nothing (`apache2ctl configtest`, `proftpd -t`)."""
from __future__ import annotations

from bascule.cluster.cluster import Cluster
from bascule.cluster.nodes import Node
from bascule.errors import NodeError
from bascule.record.cluster_state import StateParseError
from bascule.record.observations import ConfigTest, Evidence

# the daemons' configuration tests, by the lab's resource they belong to (its Inventory name)
CONFIG_TESTS = {"web": "apache2ctl configtest", "ftp": "proftpd -t"}


def gather(cluster: Cluster, prefer: Node | None = None) -> Evidence:
    """crm_mon, then each lab daemon's configuration test on every node where its resource failed,
    and the location constraints. What cannot be read is said in `error`, never guessed."""
    try:
        xml, state = cluster.crm_mon(prefer=prefer)
    except (NodeError, StateParseError) as exc:
        return Evidence(None, error=f"crm_mon illisible : {exc}")
    r = cluster.inv.resources
    commands = {r.web: CONFIG_TESTS["web"], r.ftp: CONFIG_TESTS["ftp"]}
    tests = []
    for resource, node in dict.fromkeys((f.resource, f.node) for f in state.failed_actions if f.resource in commands):
        tests.append(config_test(cluster, resource, node, commands[resource]))
    return Evidence(xml, tuple(tests), cluster.cib("constraints") or None)


def config_test(cluster: Cluster, resource: str, node: str, command: str) -> ConfigTest:
    where = cluster.nodes.get(node)
    if where is None:
        return ConfigTest(resource, node, command, None, "nœud inconnu de l'inventaire")
    try:
        said = where.run(f'out=$({command} 2>&1); rc=$?; printf "%s\\n" "$out" | tail -5; echo "rc=$rc"',
                         timeout=60, check=False).stdout.strip().splitlines()
    except NodeError as exc:
        return ConfigTest(resource, node, command, None, str(exc))
    code = said.pop()[3:] if said and said[-1].startswith("rc=") else ""
    return ConfigTest(resource, node, command, int(code) if code.isdigit() else None, "\n".join(said).strip())
