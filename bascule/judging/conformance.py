"""Does the cluster's configuration say what the lab asks (Q1, Q3, Q4, the final `crm configure show`)?

Each lab line is checked for its meaning in the CIB XML (`cibadmin -Q --scope configuration`):
type, parameters, roles, scores. Constraint ids are the student's choice, so constraints are found
by what they do, not by their names. Pacemaker 2.1 writes Promoted where 1.1 wrote Master, and
`clone promotable=true` where 1.1 had `master`: both are accepted. Roles and order actions are
read as Pacemaker reads them, whatever their case: the lab's `rule role=master` is stored as typed,
lower case, and is the Promoted role (see `role_of`).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from bascule.judging.facts.configuration import attributes, duration_seconds, find_primitive
from bascule.judging.verdict import Result
from bascule.inventory import Inventory

INF = {"INFINITY", "+INFINITY", "inf", "+inf"}


_ROLES = {"promoted": "Promoted", "master": "Promoted",
          "unpromoted": "Unpromoted", "slave": "Unpromoted",
          "started": "Started"}


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


def _check_drbd_primitive(line: str, cfg: ET.Element, inv: Inventory) -> Result:
    """Judge the lab's `primitive drbd0 ocf:linbit:drbd …` line: agent, drbd_resource, both monitors."""
    r = inv.resources
    problems: list[str] = []
    p = find_primitive(cfg, r.drbd)
    if p is None:
        return Result.ko(f"primitive {r.drbd} absente")
    if (p.get("class"), p.get("provider"), p.get("type")) != ("ocf", "linbit", "drbd"):
        problems.append(f"{r.drbd} est {p.get('class')}:{p.get('provider')}:{p.get('type')} au lieu de ocf:linbit:drbd")
    if attributes(p).get("drbd_resource") != inv.drbd.resource:
        problems.append(f"drbd_resource={attributes(p).get('drbd_resource')} au lieu de {inv.drbd.resource}")
    roles = {role_of(op.get("role")) for op in _ops(p) if op.get("name") == "monitor"}
    if "Promoted" not in roles:
        problems.append("pas de monitor pour le rôle Master")
    if "Unpromoted" not in roles:
        problems.append("pas de monitor pour le rôle Slave")
    return Result.of(problems, f"{r.drbd} : ocf:linbit:drbd, drbd_resource={inv.drbd.resource}, monitor Master et Slave")


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
    want = {"clone-max": "2", "clone-node-max": "1", "master-max": "1", "master-node-max": "1",
            "globally-unique": "false", "notify": "true"}
    # Pacemaker 2.1 names master-max promoted-max; a meta-attribute left out takes Pacemaker's default.
    alias = {"master-max": "promoted-max", "master-node-max": "promoted-node-max"}
    defaults = {"clone-node-max": "1", "master-max": "1", "master-node-max": "1", "globally-unique": "false"}
    for k, v in want.items():
        got = meta.get(k, meta.get(alias.get(k, ""), defaults.get(k)))
        if got != v:
            problems.append(f"{k}={got if got is not None else '(absent)'} au lieu de {v}")
    return Result.of(problems, f"{r.ms} multi-état sur {r.drbd}, méta-attributs conformes")


def _check_fs_primitive(line: str, cfg: ET.Element, inv: Inventory) -> Result:
    """Judge the lab's `primitive fs0 ocf:heartbeat:Filesystem …` line: type, fstype, directory, device."""
    r = inv.resources
    problems: list[str] = []
    p = find_primitive(cfg, r.fs)
    if p is None:
        return Result.ko(f"primitive {r.fs} absente")
    if p.get("type") != "Filesystem":
        problems.append(f"{r.fs} est de type {p.get('type')} au lieu de Filesystem")
    want = {"fstype": "ext4", "directory": inv.drbd.mount_point, "device": inv.drbd.device}
    got = attributes(p)
    for k, v in want.items():
        if got.get(k, "").rstrip("/") != v.rstrip("/"):
            problems.append(f"{k}={got.get(k, '(absent)')} au lieu de {v}")
    return Result.of(problems, f"{r.fs} : Filesystem ext4 {inv.drbd.device} sur {inv.drbd.mount_point}")


def _check_colocation(line: str, cfg: ET.Element, inv: Inventory) -> Result:
    """Judge the lab's `colocation … inf: fs0|ftp ms_drbd0:Master` lines: some colocation does that, whatever its id."""
    r = inv.resources
    dependent = r.fs if line.split()[3] == "fs0" else r.ftp
    for c in cfg.findall(".//rsc_colocation"):
        if (c.get("rsc") == dependent and c.get("with-rsc") == r.ms
                and role_of(c.get("with-rsc-role")) == "Promoted" and c.get("score") in INF):
            return Result.ok(f"colocation {c.get('id')} : {dependent} avec {r.ms}:Master, score inf")
    return Result.ko(f"aucune colocation inf: {dependent} avec {r.ms}:Master")


def _check_order(line: str, cfg: ET.Element, inv: Inventory) -> Result:
    """Judge the lab's `order … ms_drbd0:promote fs0:start` and `order … fs0 ftp` lines: some mandatory order does that."""
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
        if (o.get("first") == first and o.get("then") == then
                and got_first == first_action and _action(o.get("then-action"), got_first if got_first != "promote" else "start") == then_action
                and kind_ok):
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
            if (role_of(rule.get("role")) == "Promoted" and any(e.get("attribute") == "#uname" and e.get("operation") == "eq"
                                                      and e.get("value") == inv.preferred_master for e in exprs)):
                score = rule.get("score", "")
                if score in INF or (score.lstrip("+").isdigit() and int(score.lstrip("+")) > 0):
                    return Result.ok(f"préférence {loc.get('id')} : {r.ms} maître sur {inv.preferred_master} (score {score})")
                problems.append(f"la préférence {loc.get('id')} a le score {score}")
    return Result.of(problems or [f"aucune préférence pour {r.ms} maître sur {inv.preferred_master}"], "")


def _check_ftp_primitive(line: str, cfg: ET.Element, inv: Inventory) -> Result:
    """Judge the lab's `primitive ftp lsb:proftpd op monitor …` line: agent and a monitor."""
    r = inv.resources
    problems: list[str] = []
    p = find_primitive(cfg, r.ftp)
    if p is None:
        return Result.ko(f"primitive {r.ftp} absente")
    if (p.get("class"), p.get("type")) != ("lsb", "proftpd"):
        problems.append(f"{r.ftp} est {p.get('class')}:{p.get('type')} au lieu de lsb:proftpd")
    mons = [op for op in _ops(p) if op.get("name") == "monitor"]
    if not mons:
        problems.append(f"{r.ftp} n'est pas surveillé (pas d'op monitor)")
    interval = duration_seconds(mons[0].get("interval")) if mons else None
    return Result.of(problems, f"{r.ftp} : lsb:proftpd surveillé toutes les {interval:g} s" if interval else "")


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


def _check_ip_primitive(line: str, cfg: ET.Element, inv: Inventory) -> Result:
    """Judge the lab's `primitive ip ocf:heartbeat:IPaddr2 params ip=<VIP> …` line: type and address."""
    r = inv.resources
    problems: list[str] = []
    p = find_primitive(cfg, r.ip)
    if p is None:
        return Result.ko(f"primitive {r.ip} absente")
    if p.get("type") != "IPaddr2":
        problems.append(f"{r.ip} est de type {p.get('type')} au lieu de IPaddr2")
    if attributes(p).get("ip") != inv.vip:
        problems.append(f"ip={attributes(p).get('ip')} au lieu de {inv.vip}")
    return Result.of(problems, f"{r.ip} : IPaddr2 ip={inv.vip} (cidr_netmask={attributes(p).get('cidr_netmask', '?')}, nic={attributes(p).get('nic', '?')})")


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
        return Result.ok(f"clone {r.mysql_clone} de {p.get('id')} (mysql), promotable=true : crmsh (4.5 et "
                         "suivants) l'ajoute de lui-même à la ligne du lab pour un agent qui sait promouvoir")
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


# The check for each kind of lab line but `primitive`, whose check depends on the resource it names.
_CHECK_OF_KIND = {
    "ms": _check_ms,
    "colocation": _check_colocation,
    "order": _check_order,
    "location": _check_location,
    "group": _check_group,
    "clone": _check_mysql_clone,
    "property": _check_property,
}


def check_line(line: str, cfg: ET.Element, inv: Inventory) -> Result:
    """Check one line of the lab's configuration against the CIB's <configuration> element."""
    words = line.split()
    kind = words[0]
    if kind == "primitive":
        r = inv.resources
        # Resource names are this cluster's, read at call time; the first that matches wins.
        check_of_primitive = ((r.drbd, _check_drbd_primitive), (r.fs, _check_fs_primitive),
                              (r.ftp, _check_ftp_primitive), (r.ip, _check_ip_primitive))
        check = next((c for name, c in check_of_primitive if words[1] == name), None)
    else:
        check = _CHECK_OF_KIND.get(kind)
    if check is None:
        return Result.unknown(f"ligne du Coté Labo non reconnue par bascule : {line}")
    return check(line, cfg, inv)


def normalise(line: str, inv: Inventory) -> str:
    """The lab writes intralabXX and the VIP of its own network; use this cluster's."""
    return line.replace("intralabXX", inv.preferred_master).replace("<VIP>", inv.vip)


# --- comparing two configurations (Q7: the restored one against the saved one) ----------------

