"""Does the cluster's configuration say what the lab asks (Q1, Q3, Q4, the final `crm configure show`)?

Each lab line is checked for its meaning in the CIB XML (`cibadmin -Q --scope configuration`):
type, parameters, roles, scores. Constraint ids are the student's choice, so constraints are found
by what they do, not by their names. Pacemaker 2.1 writes Promoted where 1.1 wrote Master, and
`clone promotable=true` where 1.1 had `master`: both are accepted. Roles and order actions are
read as Pacemaker reads them, whatever their case: the lab's `rule role=master` is stored as typed,
lower case, and is the Promoted role (see `role_of`).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

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


def _params(el: ET.Element, section: str = "instance_attributes") -> dict[str, str]:
    out = {}
    for ia in el.findall(section):
        for nv in ia.findall("nvpair"):
            out[nv.get("name", "")] = nv.get("value", "")
    return out


def _primitive(cfg: ET.Element, rid: str) -> ET.Element | None:
    return cfg.find(f".//primitive[@id='{rid}']")


def _ops(prim: ET.Element) -> list[dict]:
    return [dict(op.attrib) for op in prim.findall("operations/op")]


def _secs(v: str | None) -> float | None:
    if not v:
        return None
    m = re.fullmatch(r"(\d+)(ms|s|m|min|h)?", v.strip())
    if not m:
        return None
    n = int(m.group(1))
    return {"ms": n / 1000, "s": n, None: n, "m": n * 60, "min": n * 60, "h": n * 3600}[m.group(2)]


def _ms(cfg: ET.Element, rid: str) -> ET.Element | None:
    el = cfg.find(f".//master[@id='{rid}']")
    if el is None:
        el = cfg.find(f".//clone[@id='{rid}']")
    return el


def check_line(line: str, cfg: ET.Element, inv: Inventory) -> Result:
    """Check one line of the lab's configuration against the CIB's <configuration> element."""
    r = inv.resources
    words = line.split()
    kind = words[0]
    problems: list[str] = []

    if kind == "primitive" and words[1] == r.drbd:
        p = _primitive(cfg, r.drbd)
        if p is None:
            return Result.ko(f"primitive {r.drbd} absente")
        if (p.get("class"), p.get("provider"), p.get("type")) != ("ocf", "linbit", "drbd"):
            problems.append(f"{r.drbd} est {p.get('class')}:{p.get('provider')}:{p.get('type')} au lieu de ocf:linbit:drbd")
        if _params(p).get("drbd_resource") != inv.drbd.resource:
            problems.append(f"drbd_resource={_params(p).get('drbd_resource')} au lieu de {inv.drbd.resource}")
        roles = {role_of(op.get("role")) for op in _ops(p) if op.get("name") == "monitor"}
        if "Promoted" not in roles:
            problems.append("pas de monitor pour le rôle Master")
        if "Unpromoted" not in roles:
            problems.append("pas de monitor pour le rôle Slave")
        return Result.of(problems, f"{r.drbd} : ocf:linbit:drbd, drbd_resource={inv.drbd.resource}, monitor Master et Slave")

    if kind == "ms":
        el = _ms(cfg, r.ms)
        if el is None:
            return Result.ko(f"ressource multi-état {r.ms} absente")
        meta = _params(el, "meta_attributes")
        if el.tag == "clone" and meta.get("promotable", "false") != "true":
            problems.append(f"{r.ms} est un clone simple, pas multi-état (master/slave)")
        child = el.find("primitive")
        if child is None or child.get("id") != r.drbd:
            problems.append(f"{r.ms} ne contient pas {r.drbd}")
        want = {"clone-max": "2", "clone-node-max": "1", "master-max": "1", "master-node-max": "1",
                "globally-unique": "false", "notify": "true"}
        alias = {"master-max": "promoted-max", "master-node-max": "promoted-node-max"}
        defaults = {"clone-node-max": "1", "master-max": "1", "master-node-max": "1", "globally-unique": "false"}
        for k, v in want.items():
            got = meta.get(k, meta.get(alias.get(k, ""), defaults.get(k)))
            if got != v:
                problems.append(f"{k}={got if got is not None else '(absent)'} au lieu de {v}")
        return Result.of(problems, f"{r.ms} multi-état sur {r.drbd}, méta-attributs conformes")

    if kind == "primitive" and words[1] == r.fs:
        p = _primitive(cfg, r.fs)
        if p is None:
            return Result.ko(f"primitive {r.fs} absente")
        if p.get("type") != "Filesystem":
            problems.append(f"{r.fs} est de type {p.get('type')} au lieu de Filesystem")
        want = {"fstype": "ext4", "directory": inv.drbd.mount_point, "device": inv.drbd.device}
        got = _params(p)
        for k, v in want.items():
            if got.get(k, "").rstrip("/") != v.rstrip("/"):
                problems.append(f"{k}={got.get(k, '(absent)')} au lieu de {v}")
        return Result.of(problems, f"{r.fs} : Filesystem ext4 {inv.drbd.device} sur {inv.drbd.mount_point}")

    if kind == "colocation":
        dependent = r.fs if words[3] == "fs0" else r.ftp
        for c in cfg.findall(".//rsc_colocation"):
            if (c.get("rsc") == dependent and c.get("with-rsc") == r.ms
                    and role_of(c.get("with-rsc-role")) == "Promoted" and c.get("score") in INF):
                return Result.ok(f"colocation {c.get('id')} : {dependent} avec {r.ms}:Master, score inf")
        return Result.ko(f"aucune colocation inf: {dependent} avec {r.ms}:Master")

    if kind == "order":
        if "promote" in line:
            first, first_action, then, then_action = r.ms, "promote", r.fs, "start"
        else:
            first, first_action, then, then_action = r.fs, "start", r.ftp, "start"
        for o in cfg.findall(".//rsc_order"):
            kind = o.get("kind", "Mandatory").strip().casefold()
            kind_ok = kind == "mandatory" and (o.get("score") in (None, *INF) or o.get("kind") is not None)
            got_first = _action(o.get("first-action"), "start")
            if (o.get("first") == first and o.get("then") == then
                    and got_first == first_action and _action(o.get("then-action"), got_first if got_first != "promote" else "start") == then_action
                    and kind_ok):
                return Result.ok(f"ordre {o.get('id')} : {first}:{first_action} puis {then}:{then_action}")
        return Result.ko(f"aucun ordre obligatoire {first}:{first_action} puis {then}:{then_action}")

    if kind == "location":
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

    if kind == "primitive" and words[1] == r.ftp:
        p = _primitive(cfg, r.ftp)
        if p is None:
            return Result.ko(f"primitive {r.ftp} absente")
        if (p.get("class"), p.get("type")) != ("lsb", "proftpd"):
            problems.append(f"{r.ftp} est {p.get('class')}:{p.get('type')} au lieu de lsb:proftpd")
        mons = [op for op in _ops(p) if op.get("name") == "monitor"]
        if not mons:
            problems.append(f"{r.ftp} n'est pas surveillé (pas d'op monitor)")
        interval = _secs(mons[0].get("interval")) if mons else None
        return Result.of(problems, f"{r.ftp} : lsb:proftpd surveillé toutes les {interval:g} s" if interval else "")

    if kind == "group":
        g = cfg.find(f".//group[@id='{r.group}']")
        if g is None:
            return Result.ko(f"groupe {r.group} absent")
        members = [p.get("id") for p in g.findall("primitive")]
        want = [r.ip, r.web, r.ftp]
        if members != want:
            return Result.ko(f"groupe {r.group} : {' '.join(members)} au lieu de {' '.join(want)}")
        return Result.ok(f"groupe {r.group} : {' '.join(members)}")

    if kind == "primitive" and words[1] == r.ip:
        p = _primitive(cfg, r.ip)
        if p is None:
            return Result.ko(f"primitive {r.ip} absente")
        if p.get("type") != "IPaddr2":
            problems.append(f"{r.ip} est de type {p.get('type')} au lieu de IPaddr2")
        if _params(p).get("ip") != inv.vip:
            problems.append(f"ip={_params(p).get('ip')} au lieu de {inv.vip}")
        return Result.of(problems, f"{r.ip} : IPaddr2 ip={inv.vip} (cidr_netmask={_params(p).get('cidr_netmask', '?')}, nic={_params(p).get('nic', '?')})")

    if kind == "clone":
        c = cfg.find(f".//clone[@id='{r.mysql_clone}']")
        if c is None:
            return Result.ko(f"clone {r.mysql_clone} absent")
        p = c.find("primitive")
        if p is None or p.get("type") != "mysql":
            return Result.ko(f"{r.mysql_clone} ne clone pas une ressource mysql")
        if _params(c, "meta_attributes").get("promotable", "false").casefold() == "true":
            # the student typed the lab's line: crmsh 4.5 and later make a clone of an agent that
            # can promote (mysql can) promotable of their own accord (crmsh 5 on Debian 13 does)
            return Result.ok(f"clone {r.mysql_clone} de {p.get('id')} (mysql), promotable=true : crmsh (4.5 et "
                             "suivants) l'ajoute de lui-même à la ligne du lab pour un agent qui sait promouvoir")
        return Result.ok(f"clone {r.mysql_clone} de {p.get('id')} (mysql)")

    if kind == "property":
        props = {}
        for cps in cfg.findall("crm_config/cluster_property_set"):
            props.update({nv.get("name"): nv.get("value") for nv in cps.findall("nvpair")})
        for k, v in (("stonith-enabled", "false"), ("no-quorum-policy", "ignore")):
            if props.get(k) != v:
                problems.append(f"{k}={props.get(k, '(défaut)')} au lieu de {v}")
        return Result.of(problems, "stonith-enabled=false, no-quorum-policy=ignore")

    return Result.unknown(f"ligne du Coté Labo non reconnue par bascule : {line}")


def normalise(line: str, inv: Inventory) -> str:
    """The lab writes intralabXX and the VIP of its own network; use this cluster's."""
    return line.replace("intralabXX", inv.preferred_master).replace("<VIP>", inv.vip)


# --- comparing two configurations (Q7: the restored one against the saved one) ----------------

# Attributes that change with every update or that Pacemaker/crmsh fill in by themselves.
_VOLATILE_NVPAIRS = {"last-lrm-refresh", "dc-version", "cluster-infrastructure", "cluster-name", "have-watchdog"}


def canonical(cfg: ET.Element) -> dict[str, str]:
    """A flat, comparable view of <configuration>: one entry per element with an id (resources,
    constraints, properties), its attributes and its children's, ids of nvpairs ignored. Node
    attributes (standby) and volatile properties are left out: they are state, not configuration."""
    out: dict[str, str] = {}

    def describe(el: ET.Element) -> str:
        attrs = {k: v for k, v in el.attrib.items() if k != "id"}
        if el.tag == "nvpair":
            return f"{attrs.get('name')}={attrs.get('value')}"
        # An empty attribute set means nothing: `crm_resource --restart` (bascule's own repair of a
        # proftpd dead under a Started resource) leaves <meta_attributes id="…"/> behind when it
        # deletes the target-role it set, and that was reported as the scenario changing the primitive.
        kids = sorted(describe(c) for c in el if (c.tag not in ("primitive", "group") or el.tag == "operations")
                      and not (c.tag in ("meta_attributes", "instance_attributes", "utilization") and len(c) == 0))
        return f"{el.tag}{sorted(attrs.items())}{kids}"

    for section in ("resources", "constraints", "crm_config", "rsc_defaults", "op_defaults"):
        sec = cfg.find(section)
        if sec is None:
            continue
        for el in sec.iter():
            if el is sec or not el.get("id") or el.tag in ("nvpair", "op", "expression", "instance_attributes",
                                                          "meta_attributes", "operations", "rule", "cluster_property_set"):
                continue
            out[f"{el.tag} {el.get('id')}"] = describe(el)
        if section == "crm_config":
            for nv in sec.iter("nvpair"):
                if nv.get("name") not in _VOLATILE_NVPAIRS:
                    out[f"property {nv.get('name')}"] = nv.get("value", "")
    return out


def config_differences(saved: ET.Element, restored: ET.Element) -> list[str]:
    a, b = canonical(saved), canonical(restored)
    diffs = []
    for key in sorted(a.keys() - b.keys()):
        diffs.append(f"{key} manquant après restauration")
    for key in sorted(b.keys() - a.keys()):
        diffs.append(f"{key} en plus après restauration")
    for key in sorted(a.keys() & b.keys()):
        if a[key] != b[key]:
            diffs.append(f"{key} différent")
    return diffs


def configuration_xml(text: str) -> ET.Element:
    root = ET.fromstring(text)
    return root if root.tag == "configuration" else root.find("configuration")
