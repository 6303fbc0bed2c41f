"""Facts about where the lab's resources are: computed from crm_mon, DRBD and the CIB's constraints.

Shared by the observer (what a crm_mon reading keeps on the history), the waits (is the move over?
is the cluster at its baseline?) and the checks (the verdicts): one condition for the wait and for
the verdict. Nothing here runs a command or gives a verdict.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bascule.facts.drbd_state import drbd_finding
from bascule.inventory import Inventory
from bascule.record.cluster_state import ClusterState, DrbdStatus, parse_crm_mon
from bascule.record.observations import CableOutcome, ClusterReading


def node_named(hostname: str | None, inv: Inventory) -> str | None:
    """The inventory's node whose name matches a served-by hostname (short names, any case);
    None when it names none of them (then nothing can be judged from it)."""
    if not hostname:
        return None
    short = hostname.strip().split(".")[0].lower()
    return next((n.name for n in inv.nodes if n.name.split(".")[0].lower() == short), None)


def placement_problems(state: ClusterState, inv: Inventory, on: str, membership: bool = True) -> list[str]:
    """What keeps the lab's resources from all being active on node `on` (master role).
    With membership, serviceFTP, serviceWeb and IPFailover must also be members of the group."""
    r = inv.resources
    problems = []
    promoted = state.promoted_on(r.ms)
    if promoted != (on,):
        problems.append(f"DRBD primaire (ms-drbd0 promu) sur {', '.join(promoted) or 'aucun nœud'} au lieu de {on}")
    where = state.where(r.fs)
    if where != (on,):
        problems.append(f"{r.fs} actif sur {', '.join(where) or 'aucun nœud'} au lieu de {on}")
    members = state.instances(r.group)
    if not members:
        problems.append(f"groupe {r.group} absent de la configuration")
    for m in members:
        if m.nodes != (on,) or m.role != "Started":
            problems.append(f"{m.id} {('actif sur ' + ', '.join(m.nodes)) if m.nodes else 'arrêté'} au lieu de {on}")
    member_ids = {m.id for m in members}
    for wanted in (r.ip, r.web, r.ftp):
        if wanted in member_ids:
            continue
        if membership and members:
            problems.append(f"{wanted} n'est pas dans le groupe {r.group}")
        where = state.where(wanted)
        if where != (on,):
            problems.append(f"{wanted} {('actif sur ' + ', '.join(where)) if where else 'arrêté'} au lieu de {on}")
    return problems


def placement(state: ClusterState, inv: Inventory) -> dict:
    """What the history keeps of a crm_mon reading: where each of the lab's resources runs. One
    condition on this value (move_problems) serves both the wait for a move and its verdict."""
    r = inv.resources
    return {
        "online": list(state.online_nodes),
        "standby": [n.name for n in state.nodes if n.standby],
        "promoted": list(state.promoted_on(r.ms)),
        "fs": list(state.where(r.fs)),
        "group": {m.id: list(m.nodes) for m in state.instances(r.group)},
        "where": {rid: list(state.where(rid)) for rid in (r.ip, r.web, r.ftp)},
        "failed": [f"{f.resource}:{f.task}@{f.node}" for f in state.failed_actions],
        "summary": state.summary(),
    }


def move_problems(value: dict, inv: Inventory, to: str) -> list[str]:
    """Does a crm_mon reading (its placement value) show every resource active on `to`? Group
    membership is not required here (the « ressources activées » row judges it): a serviceFTP
    outside the group that follows DRBD still moves."""
    if not isinstance(value, dict):
        return ["aucune lecture de crm_mon"]
    r = inv.resources
    problems = []
    if value.get("promoted") != [to]:
        problems.append(f"ms-drbd0 promu sur {'+'.join(value.get('promoted') or []) or 'aucun nœud'}")
    if value.get("fs") != [to]:
        problems.append(f"{r.fs} sur {'+'.join(value.get('fs') or []) or 'aucun nœud'}")
    where = value.get("where")
    if where is None:  # a reading saved before "where" existed: the group members say it
        where = value.get("group") or {}
        if not where:
            problems.append(f"groupe {r.group} absent")
    for rid, nodes in where.items():
        if nodes != [to]:
            problems.append(f"{rid} sur {'+'.join(nodes) or 'aucun nœud'}")
    return problems


def baseline_problems(state: ClusterState, drbd: dict[str, DrbdStatus | None], inv: Inventory) -> list[str]:
    """The baseline: both nodes online (not standby), no failed actions, ms-drbd0 promoted on the
    preferred master, DRBD Connected UpToDate/UpToDate, fs0 and the group on the master."""
    problems = []
    for spec in inv.nodes:
        n = state.node(spec.name)
        if n is None:
            problems.append(f"{spec.name} inconnu du cluster")
        elif not n.online:
            problems.append(f"{spec.name} hors ligne")
        elif n.standby:
            problems.append(f"{spec.name} en standby")
        elif n.maintenance:
            problems.append(f"{spec.name} en maintenance")
    if state.maintenance_mode:
        problems.append("cluster en mode maintenance (maintenance-mode=true)")
    for f in state.failed_actions:
        problems.append(f"action en échec : {f.resource} {f.task} sur {f.node} ({f.exit_status or f.exit_code})")
    # the baseline is about where things run; whether serviceFTP is in the group is the
    # configuration's business (row 1 and the conformance scenario say it)
    problems.extend(placement_problems(state, inv, inv.preferred_master, membership=False))
    for name, st in drbd.items():
        if st is None:
            problems.append(f"DRBD illisible sur {name}")
        elif not st.healthy:
            problems.append(f"DRBD sur {name} : {st.summary()}")
    return problems


def foreign_locations(constraints_xml: str | None, inv: Inventory) -> list[tuple[str, str]]:
    """Location constraints on the lab's resources that the lab's configuration does not have:
    a ban (negative score, what `crm resource move/ban` leaves) or a preference for the slave.
    The lab has two, both preferences for the master. [(id, what it does), …]"""
    if not constraints_xml:
        return []
    root = ET.fromstring(constraints_xml)
    r = inv.resources
    ours = {r.ms, r.drbd, r.fs, r.group, r.ip, r.web, r.ftp, r.mysql_clone}
    master = inv.preferred_master
    out = []

    def score_of(s: str | None) -> float:
        s = (s or "0").strip().lower().lstrip("+")
        if s in ("inf", "infinity"):
            return float("inf")
        if s in ("-inf", "-infinity"):
            return float("-inf")
        try:
            return float(s)
        except ValueError:
            return 0.0

    for loc in root.iter("rsc_location"):
        rsc = loc.get("rsc")
        if rsc not in ours:
            continue
        targets = []  # (node or None, score)
        if loc.get("node") is not None:
            targets.append((loc.get("node"), score_of(loc.get("score"))))
        for rule in loc.findall("rule"):
            nodes = [
                e.get("value")
                for e in rule.findall("expression")
                if e.get("attribute") == "#uname" and e.get("operation") == "eq"
            ]
            # « #uname ne X » with two nodes names the other one
            nodes += [
                other
                for e in rule.findall("expression")
                if e.get("attribute") == "#uname" and e.get("operation") == "ne"
                for other in [n.name for n in inv.nodes if n.name != e.get("value")]
            ]
            for n in nodes or [None]:
                targets.append((n, score_of(rule.get("score"))))
        for node, score in targets:
            if score < 0:
                out.append((loc.get("id", "?"), f"interdit {rsc} sur {node or 'un nœud'}"))
            elif score > 0 and node is not None and node != master:
                out.append((loc.get("id", "?"), f"préfère {rsc} sur {node}"))
    return out


def departures(reading: ClusterReading, inv: Inventory) -> tuple[list[tuple[str, str]], str]:
    """Departures from the baseline in a reading, each with the lab's command that undoes it;
    plus a reason when the reading cannot be judged."""
    if reading.crm_mon_xml is None:
        return [], f"crm_mon illisible : {reading.crm_mon_error}"
    state = parse_crm_mon(reading.crm_mon_xml)
    found: list[tuple[str, str]] = []
    for spec in inv.nodes:
        n = state.node(spec.name)
        if n is None:
            found.append(
                (f"{spec.name} inconnu du cluster", "vérifier corosync.conf et le nom du nœud dans l'inventaire")
            )
        elif not n.online:
            found.append((f"{spec.name} hors ligne", f"démarrer corosync et pacemaker sur {spec.name}"))
        elif n.standby:
            found.append((f"{spec.name} en standby", f"crm node online {spec.name}"))
        elif n.maintenance:
            found.append((f"{spec.name} en maintenance", f"crm node ready {spec.name}"))
    if state.maintenance_mode:
        found.append(
            ("cluster en mode maintenance (maintenance-mode=true)", "crm configure property maintenance-mode=false")
        )
    unmanaged = sorted({x.parent or x.id for x in state.resources if not x.managed})
    if unmanaged and not state.maintenance_mode:
        found.append(
            (f"ressources non gérées par Pacemaker : {', '.join(unmanaged)}", f"crm resource manage {unmanaged[0]}")
        )
    for f in state.failed_actions:
        found.append(
            (
                f"action en échec : {f.resource} {f.task} sur {f.node} ({f.exit_status or f.exit_code})",
                f"crm resource cleanup {f.resource}",
            )
        )
    # a node in standby, offline or in maintenance explains where the resources are, and a DRBD
    # stopped there (and waiting for its peer on the other node): those are consequences, whose fix
    # is the node's; a StandAlone DRBD never is (it gave up on its peer)
    node_level = bool(found)
    away = {
        spec.name
        for spec in inv.nodes
        if (state.node(spec.name) is None or not state.node(spec.name).online or state.node(spec.name).standby)
    }

    def fix(command: str, consequence: bool) -> str:
        return "" if consequence else command

    for p in placement_problems(state, inv, inv.preferred_master, membership=False):
        found.append(
            (p, fix("crm status ; crm resource cleanup, ou crm configure show pour les contraintes", node_level))
        )
    for name, st in reading.drbd.items():
        peer = next((n for n in reading.drbd if n != name), None)
        peer_down = peer is not None and (
            peer in away or (reading.drbd.get(peer) is not None and not reading.drbd[peer].configured)
        )
        if st is None:
            found.append((f"DRBD illisible sur {name} ({reading.drbd_errors.get(name, '')})", "cat /proc/drbd"))
            continue
        finding = drbd_finding(
            name,
            st,
            reading.drbd.get(peer) if peer else None,
            peer_down,
            inv.drbd.resource,
            node_away=name in away,
            kernel=tuple(getattr(reading, "drbd_kernel", {}).get(name, ())),
        )
        if finding is not None:
            found.append((f"{finding.problem} — {finding.cause}", finding.fix))
    for cid, what in foreign_locations(reading.constraints_xml, inv):
        found.append((f"contrainte {cid} ({what}) absente de la configuration du lab", f"crm configure delete {cid}"))
    return found, ""


def split_brain_seen(obs: CableOutcome) -> bool:
    return any(obs.new_split_brain_lines.values()) or any(s.connection == "StandAlone" for s in obs.drbd.values())
