"""Does the cluster's configuration say what the lab asks (Q1, Q3, Q4, the final `crm configure show`)?

Each lab line is checked for its meaning in the CIB XML (`cibadmin -Q --scope configuration`):
type, parameters, roles, scores. Constraint ids are the student's choice, so constraints are found
by what they do, not by their names. Pacemaker 2.1 writes Promoted where 1.1 wrote Master, and
`clone promotable=true` where 1.1 had `master`: both are accepted. Roles and order actions are
read as Pacemaker reads them, whatever their case: the lab's `rule role=master` is stored as typed,
lower case, and is the Promoted role (see `role_of`).
"""

from __future__ import annotations

import shlex
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from bascule.facts.configuration import attributes, duration_seconds, find_primitive
from bascule.inventory import Inventory
from bascule.judging.verdict import Result, Verdict

INF = {"INFINITY", "+INFINITY", "inf", "+inf"}


_ROLES = {
    "promoted": "Promoted",
    "master": "Promoted",
    "unpromoted": "Unpromoted",
    "slave": "Unpromoted",
    "started": "Started",
}


def role_of(value: str | None) -> str | None:
    """The role a CIB attribute names, as Pacemaker's text2role reads it: case-insensitive, with
    1.1's Master/Slave the same roles as 2.1's Promoted/Unpromoted. "Promoted", "Unpromoted",
    "Started", or None (absent, or any other role)."""
    return _ROLES.get(value.strip().casefold()) if value else None


def _action(value: str | None, default: str) -> str:
    """An order constraint's action (start, promote…), which Pacemaker compares case-insensitively."""
    return (value or default).strip().casefold()


def _ops(prim: ET.Element) -> list[dict]:
    return [dict(op.attrib) for op in prim.findall("operations/op")]


def _ms(cfg: ET.Element, rid: str) -> ET.Element | None:
    el = cfg.find(f".//master[@id='{rid}']")
    if el is None:
        el = cfg.find(f".//clone[@id='{rid}']")
    return el


def _check_ms(line: str, cfg: ET.Element, inv: Inventory) -> Result:
    """Judge the lab's `ms ms_drbd0 drbd0 meta …` line: a promotable clone of drbd0 and its meta-attributes."""
    r = inv.resources
    problems: list[str] = []
    el = _ms(cfg, r.ms)
    if el is None:
        return Result.ko(f"ressource multi-état {r.ms} absente")
    meta = attributes(el, "meta_attributes")
    if el.tag == "clone" and meta.get("promotable", "false") != "true":
        problems.append(f"{r.ms} est un clone simple, pas multi-état (master/slave)")
    child = el.find("primitive")
    if child is None or child.get("id") != r.drbd:
        problems.append(f"{r.ms} ne contient pas {r.drbd}")
    want = {
        "clone-max": "2",
        "clone-node-max": "1",
        "master-max": "1",
        "master-node-max": "1",
        "globally-unique": "false",
        "notify": "true",
    }
    # Pacemaker 2.1 names master-max promoted-max; a meta-attribute left out takes Pacemaker's default.
    alias = {"master-max": "promoted-max", "master-node-max": "promoted-node-max"}
    defaults = {"clone-node-max": "1", "master-max": "1", "master-node-max": "1", "globally-unique": "false"}
    for k, v in want.items():
        got = meta.get(k, meta.get(alias.get(k, ""), defaults.get(k)))
        if got != v:
            problems.append(f"{k}={got if got is not None else '(absent)'} au lieu de {v}")
    return Result.of(problems, f"{r.ms} multi-état sur {r.drbd}, méta-attributs conformes")


def _check_colocation(line: str, cfg: ET.Element, inv: Inventory) -> Result:
    """Judge the lab's `colocation … inf: fs0|ftp ms_drbd0:Master` lines: some colocation does that, whatever its id."""
    r = inv.resources
    dependent = r.fs if line.split()[3] == "fs0" else r.ftp
    for c in cfg.findall(".//rsc_colocation"):
        if (
            c.get("rsc") == dependent
            and c.get("with-rsc") == r.ms
            and role_of(c.get("with-rsc-role")) == "Promoted"
            and c.get("score") in INF
        ):
            return Result.ok(f"colocation {c.get('id')} : {dependent} avec {r.ms}:Master, score inf")
    return Result.ko(f"aucune colocation inf: {dependent} avec {r.ms}:Master")


def _check_order(line: str, cfg: ET.Element, inv: Inventory) -> Result:
    """Judge the lab's `order … ms_drbd0:promote fs0:start` and `order … fs0 ftp` lines: some mandatory order does "
    "that."""
    r = inv.resources
    if "promote" in line:
        first, first_action, then, then_action = r.ms, "promote", r.fs, "start"
    else:
        first, first_action, then, then_action = r.fs, "start", r.ftp, "start"
    for o in cfg.findall(".//rsc_order"):
        order_kind = o.get("kind", "Mandatory").strip().casefold()
        kind_ok = order_kind == "mandatory" and (o.get("score") in (None, *INF) or o.get("kind") is not None)
        got_first = _action(o.get("first-action"), "start")
        # then-action defaults to first-action, except that promoting is followed by starting
        if (
            o.get("first") == first
            and o.get("then") == then
            and got_first == first_action
            and _action(o.get("then-action"), got_first if got_first != "promote" else "start") == then_action
            and kind_ok
        ):
            return Result.ok(f"ordre {o.get('id')} : {first}:{first_action} puis {then}:{then_action}")
    return Result.ko(f"aucun ordre obligatoire {first}:{first_action} puis {then}:{then_action}")


def _check_location(line: str, cfg: ET.Element, inv: Inventory) -> Result:
    """Judge the lab's `location … ms_drbd0 rule role=master … #uname eq intralabXX` line: a positive preference."""
    r = inv.resources
    problems: list[str] = []
    for loc in cfg.findall(".//rsc_location"):
        if loc.get("rsc") != r.ms:
            continue
        for rule in loc.findall("rule"):
            exprs = rule.findall("expression")
            if role_of(rule.get("role")) == "Promoted" and any(
                e.get("attribute") == "#uname" and e.get("operation") == "eq" and e.get("value") == inv.preferred_master
                for e in exprs
            ):
                score = rule.get("score", "")
                if score in INF or (score.lstrip("+").isdigit() and int(score.lstrip("+")) > 0):
                    return Result.ok(
                        f"préférence {loc.get('id')} : {r.ms} maître sur {inv.preferred_master} (score {score})"
                    )
                problems.append(f"la préférence {loc.get('id')} a le score {score}")
    return Result.of(problems or [f"aucune préférence pour {r.ms} maître sur {inv.preferred_master}"], "")


def _check_group(line: str, cfg: ET.Element, inv: Inventory) -> Result:
    """Judge the lab's `group … ip web ftp` line: the group holds those primitives, in that order."""
    r = inv.resources
    g = cfg.find(f".//group[@id='{r.group}']")
    if g is None:
        return Result.ko(f"groupe {r.group} absent")
    members = [p.get("id") for p in g.findall("primitive")]
    want = [r.ip, r.web, r.ftp]
    if members != want:
        return Result.ko(f"groupe {r.group} : {' '.join(members)} au lieu de {' '.join(want)}")
    return Result.ok(f"groupe {r.group} : {' '.join(members)}")


def _check_mysql_clone(line: str, cfg: ET.Element, inv: Inventory) -> Result:
    """Judge the lab's `clone MySQL mysql` line: a clone of a mysql primitive."""
    r = inv.resources
    c = cfg.find(f".//clone[@id='{r.mysql_clone}']")
    if c is None:
        return Result.ko(f"clone {r.mysql_clone} absent")
    p = c.find("primitive")
    if p is None or p.get("type") != "mysql":
        return Result.ko(f"{r.mysql_clone} ne clone pas une ressource mysql")
    if attributes(c, "meta_attributes").get("promotable", "false").casefold() == "true":
        # the student typed the lab's line: crmsh 4.5 and later make a clone of an agent that
        # can promote (mysql can) promotable of their own accord (crmsh 5 on Debian 13 does)
        return Result.ok(
            f"clone {r.mysql_clone} de {p.get('id')} (mysql), promotable=true : crmsh (4.5 et "
            "suivants) l'ajoute de lui-même à la ligne du lab pour un agent qui sait promouvoir"
        )
    return Result.ok(f"clone {r.mysql_clone} de {p.get('id')} (mysql)")


def _check_property(line: str, cfg: ET.Element, inv: Inventory) -> Result:
    """Judge the lab's `property stonith-enabled=false no-quorum-policy=ignore` line."""
    problems: list[str] = []
    props = {}
    for cps in cfg.findall("crm_config/cluster_property_set"):
        props.update({nv.get("name"): nv.get("value") for nv in cps.findall("nvpair")})
    for k, v in (("stonith-enabled", "false"), ("no-quorum-policy", "ignore")):
        if props.get(k) != v:
            problems.append(f"{k}={props.get(k, '(défaut)')} au lieu de {v}")
    return Result.of(problems, "stonith-enabled=false, no-quorum-policy=ignore")


# --- the lab's final `crm configure show`, line by line -------------------------------------------


# crmsh names an OCF agent of the heartbeat provider by its type alone (`IPaddr2`); others in full
def _agent(spec: str) -> tuple[str, str | None, str]:
    parts = spec.split(":")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return parts[0], None, parts[1]
    return "ocf", "heartbeat", parts[0]


def _agent_words(cls: str | None, provider: str | None, kind: str | None) -> str:
    return ":".join(x for x in (cls, provider, kind) if x)


@dataclass(frozen=True)
class LabLine:
    """A line of crmsh's configuration language, read as crmsh reads it: its kind, id, the words
    before its first section, and its params, meta and ops (each op: its name and its k=v)."""

    kind: str
    id: str
    head: tuple[str, ...]
    params: dict[str, str]
    meta: dict[str, str]
    ops: tuple[tuple[str, dict[str, str]], ...]


def parse_lab_line(line: str) -> LabLine:
    words = shlex.split(line.replace("\\", " "))
    kind, rid, rest = words[0], (words[1].rstrip(":") if len(words) > 1 else ""), words[2:]
    head: list[str] = []
    params: dict[str, str] = {}
    meta: dict[str, str] = {}
    ops: list[tuple[str, dict[str, str]]] = []
    section: dict[str, str] | None = None
    i = 0
    while i < len(rest):
        w = rest[i]
        if w in ("params", "meta") and kind in ("primitive", "group", "ms", "clone"):
            section = params if w == "params" else meta
        elif w == "op" and i + 1 < len(rest):
            ops.append((rest[i + 1], {}))
            section = ops[-1][1]
            i += 1
        elif w == "attributes" and kind == "node":
            section = params
        elif section is not None and "=" in w:
            k, _, v = w.partition("=")
            section[k] = v
        elif kind == "property" and "=" in w:
            k, _, v = w.partition("=")
            params[k] = v
        else:
            head.append(w)
        i += 1
    return LabLine(kind, rid, tuple(head), params, meta, tuple(ops))


def _lab_to_site(inv: Inventory) -> dict[str, str]:
    """The lab's resource names → this cluster's (the inventory's [resources] may rename them)."""
    r = inv.resources
    return {
        "IPFailover": r.ip,
        "serviceWeb": r.web,
        "serviceFTP": r.ftp,
        "fs0": r.fs,
        "drbd0": r.drbd,
        "ms-drbd0": r.ms,
        "servIntralab": r.group,
        "cServiceMySQL": r.mysql_clone,
    }


def _site_params(rid: str, want: dict[str, str], inv: Inventory) -> tuple[dict[str, str], list[str]]:
    """The lab's parameters as this site must have them, and each adaptation in words: the VIP, the
    interface that carries the lab's network, the DRBD device and mount point come from the inventory."""
    r, d = inv.resources, inv.drbd
    site = dict(want)
    said = []
    if rid == r.ip:
        if "ip" in site and site["ip"] != inv.vip:
            said.append(f"ip={inv.vip} (la VIP de l'inventaire ; le texte du lab écrit {site['ip']})")
            # the text's netmask is that of its own network (10.22.0.0/16): another site's is its own
            if "cidr_netmask" in site:
                said.append(
                    f"cidr_netmask non comparé : celui du réseau de ce site (le texte écrit "
                    f"{site.pop('cidr_netmask')} pour le sien)"
                )
        site["ip"] = inv.vip
        nic = next((n.cluster_interface for n in inv.nodes if n.name == inv.preferred_master), "") or site.get("nic")
        if "nic" in site and nic and nic != site["nic"]:
            said.append(
                f"nic={nic} (l'interface du réseau du lab, nommée par l'inventaire ; le texte écrit "
                f"{site['nic']}, qui est dans les VM du lab embarqué le lien de gestion de Vagrant)"
            )
            site["nic"] = nic
    if rid == r.fs:
        site.update({k: v for k, v in (("device", d.device), ("directory", d.mount_point)) if k in site})
    if rid == r.drbd and "drbd_resource" in site:
        site["drbd_resource"] = d.resource
    return site, said


def _same_value(key: str, got: str | None, want: str) -> bool:
    if got is None:
        return False
    if key in ("directory", "device"):
        return got.rstrip("/") == want.rstrip("/")
    return got == want


def _op_matches(op: dict, name: str, want: dict[str, str]) -> bool:
    return op.get("name") == name and role_of(op.get("role")) == role_of(want.get("role"))


def _check_ops(rid: str, prim: ET.Element, ops: tuple[tuple[str, dict[str, str]], ...]) -> list[str]:
    """Each operation the lab writes, with its interval, timeout and role, as the CIB holds it."""
    problems = []
    have = _ops(prim)
    for name, want in ops:
        role = f" role={want['role']}" if "role" in want else ""
        found = [op for op in have if _op_matches(op, name, want)]
        if not found:
            problems.append(f"pas d'op {name}{role} sur {rid}")
            continue
        op = found[0]
        for key in ("interval", "timeout"):
            if key in want and duration_seconds(op.get(key) or "0") != duration_seconds(want[key]):
                problems.append(f"op {name}{role} de {rid} : {key}={op.get(key) or '(absent)'} au lieu de {want[key]}")
    return problems


def _check_primitive_line(lab: LabLine, cfg: ET.Element, inv: Inventory) -> Result:
    """A `primitive` line: its agent, every parameter and every operation the lab writes."""
    rid = _lab_to_site(inv).get(lab.id, lab.id)
    p = find_primitive(cfg, rid)
    if p is None:
        return Result.ko(f"primitive {rid} absente")
    problems = []
    want_agent = _agent(lab.head[0]) if lab.head else (None, None, None)
    got_agent = (p.get("class"), p.get("provider"), p.get("type"))
    if got_agent != want_agent:
        problems.append(f"{rid} est {_agent_words(*got_agent)} au lieu de {_agent_words(*want_agent)}")
    want, adapted = _site_params(rid, lab.params, inv)
    got = attributes(p)
    for k, v in want.items():
        if not _same_value(k, got.get(k), v):
            problems.append(f"{k}={got.get(k, '(absent)')} au lieu de {v}")
    problems += _check_ops(rid, p, lab.ops)
    said = ", ".join(f"{k}={v}" for k, v in want.items())
    ops = ", ".join(f"{n} " + " ".join(f"{k}={v}" for k, v in o.items()) for n, o in lab.ops)
    ok = (
        f"{rid} : {_agent_words(*want_agent)}"
        + (f", {said}" if said else "")
        + (f" ; op {ops}" if ops else "")
        + (" — adapté au site : " + " ; ".join(adapted) if adapted else "")
    )
    return Result.of(problems, ok)


def _check_group_line(lab: LabLine, cfg: ET.Element, inv: Inventory) -> Result:
    """The `group` line: its members in order (the existing check) and its meta attributes."""
    found = _check_group(" ".join(("group", lab.id, *lab.head)), cfg, inv)
    g = cfg.find(f".//group[@id='{inv.resources.group}']")
    if g is None or not lab.meta:
        return found
    meta = attributes(g, "meta_attributes")
    problems = [f"{k}={meta.get(k, '(absent)')} au lieu de {v}" for k, v in lab.meta.items() if meta.get(k) != v]
    if found.verdict is not Verdict.OK:
        return Result.ko(" ; ".join([found.observed, *problems]))
    return Result.of(problems, found.observed + ", " + ", ".join(f"{k}={v}" for k, v in lab.meta.items()))


def _check_node_line(lab: LabLine, cfg: ET.Element, inv: Inventory) -> Result:
    """A `node` line: the node is in the cluster, with the attributes the lab shows (standby=off:
    absent means never put in standby, the same). Its numeric id is corosync's, the site's own."""
    name = lab.head[0] if lab.head else lab.id
    node = next((n for n in cfg.findall("nodes/node") if n.get("uname") == name), None)
    if node is None:
        return Result.ko(f"nœud {name} absent de la configuration du cluster")
    attrs = attributes(node)
    problems = [
        f"{k}={attrs[k]} au lieu de {v}"
        for k, v in lab.params.items()
        if attrs.get(k, "off" if k == "standby" else None) != v
    ]
    shown = ", ".join(f"{k}={attrs.get(k, v + ' (absent, le défaut)')}" for k, v in lab.params.items())
    return Result.of(
        problems,
        f"nœud {name} (id {node.get('id')} : celui de corosync sur ce site, pas {lab.id} du "
        f"texte)" + (f", {shown}" if shown else ""),
    )


def _check_location_node_line(lab: LabLine, cfg: ET.Element, inv: Inventory) -> Result:
    """`location ID RSC role=Started inf: NODE`: a positive preference of the resource for the node."""
    rsc = _lab_to_site(inv).get(lab.head[0], lab.head[0]) if lab.head else ""
    node = lab.head[-1] if lab.head else ""
    role = next((w.split("=", 1)[1] for w in lab.head if w.startswith("role=")), None)
    for loc in cfg.findall(".//rsc_location"):
        if loc.get("rsc") == rsc and loc.get("node") == node and role_of(loc.get("role")) in (None, role_of(role)):
            score = loc.get("score", "")
            if score in INF:
                return Result.ok(
                    f"préférence {loc.get('id')} : {rsc} sur {node}, score inf" + (f", rôle {role}" if role else "")
                )
            return Result.ko(f"la préférence {loc.get('id')} de {rsc} pour {node} a le score {score} au lieu de inf")
    return Result.ko(f"aucune préférence inf: de {rsc} pour {node}")


# Pacemaker writes these itself (its version, the last refresh's time, whether sbd gives it a watchdog,
# and corosync's stack and cluster name): read and shown, never compared (the same list as
# facts/configuration.py's volatile properties).
WRITTEN_BY_PACEMAKER = ("dc-version", "last-lrm-refresh", "have-watchdog", "cluster-infrastructure", "cluster-name")


def _check_property_line(lab: LabLine, cfg: ET.Element, inv: Inventory) -> Result:
    """The `property cib-bootstrap-options:` line: each setting the lab shows, but the two Pacemaker
    writes by itself (its version and a timestamp)."""
    props = {}
    for cps in cfg.findall("crm_config/cluster_property_set"):
        props.update({nv.get("name"): nv.get("value") for nv in cps.findall("nvpair")})
    judged = {k: v for k, v in lab.params.items() if k not in WRITTEN_BY_PACEMAKER}
    problems = [f"{k}={props.get(k, '(défaut)')} au lieu de {v}" for k, v in judged.items() if props.get(k) != v]
    read = ", ".join(f"{k}={props.get(k, '?')}" for k in lab.params if k in WRITTEN_BY_PACEMAKER)
    return Result.of(
        problems,
        ", ".join(f"{k}={v}" for k, v in judged.items())
        + (f" ; écrits par Pacemaker lui-même, lus sans être comparés : {read}" if read else ""),
    )


def _check_clone_line(lab: LabLine, cfg: ET.Element, inv: Inventory) -> Result:
    return _check_mysql_clone(" ".join(("clone", lab.id, *lab.head)), cfg, inv)


def _check_location_line(lab: LabLine, line: str, cfg: ET.Element, inv: Inventory) -> Result:
    return _check_location(line, cfg, inv) if "rule" in lab.head else _check_location_node_line(lab, cfg, inv)


def check_line(line: str, cfg: ET.Element, inv: Inventory) -> Result:
    """Check one line of the lab's configuration against the CIB's <configuration> element."""
    try:
        lab = parse_lab_line(line)
    except (ValueError, IndexError):
        return Result.unknown(f"ligne du Coté Labo illisible : {line}")
    kind = lab.kind
    if kind == "primitive":
        return _check_primitive_line(lab, cfg, inv)
    if kind == "group":
        return _check_group_line(lab, cfg, inv)
    if kind == "node":
        return _check_node_line(lab, cfg, inv)
    if kind == "location":
        return _check_location_line(lab, line, cfg, inv)
    if kind == "clone":
        return _check_clone_line(lab, cfg, inv)
    if kind == "property" and lab.id == "cib-bootstrap-options":
        return _check_property_line(lab, cfg, inv)
    check = {"ms": _check_ms, "colocation": _check_colocation, "order": _check_order, "property": _check_property}.get(
        kind
    )
    if check is None:
        return Result.unknown(f"ligne du Coté Labo non reconnue par bascule : {line}")
    return check(line, cfg, inv)


def normalise(line: str, inv: Inventory) -> str:
    """The lab writes intralabXX, hdintralabXX and the VIP of its own network (and once intralabar, a
    typo for intralabXX): use this cluster's."""
    slave = next((n.name for n in inv.nodes if n.name != inv.preferred_master), "hdintralabXX")
    return (
        line.replace("hdintralabXX", slave)
        .replace("intralabXX", inv.preferred_master)
        .replace("intralabar", inv.preferred_master)
        .replace("<VIP>", inv.vip)
    )


def lab_lines(datatable: list[list[str]], inv: Inventory) -> list[str]:
    """The lines of the feature's table (its header left out), each in this cluster's names."""
    return [normalise(line, inv) for (line,) in datatable[1:]]


# --- comparing two configurations (Q7: the restored one against the saved one) ----------------
