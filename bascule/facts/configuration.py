"""Facts about the cluster's configuration: what changed between two CIBs, where Q6 saves it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET


def configuration_changes(before_xml: str, after_xml: str) -> list[str]:
    """What differs in the resources and constraints of two CIB configurations (properties and node
    attributes are state: maintenance-mode, standby)."""
    a = {k: v for k, v in canonical(configuration_xml(before_xml)).items() if not k.startswith("property ")}
    b = {k: v for k, v in canonical(configuration_xml(after_xml)).items() if not k.startswith("property ")}
    return (
        [f"{k} supprimé" for k in sorted(a.keys() - b.keys())]
        + [f"{k} ajouté" for k in sorted(b.keys() - a.keys())]
        + [f"{k} modifié" for k in sorted(a.keys() & b.keys()) if a[k] != b[k]]
    )


SAVE_FILE = "/root/sauveha.conf"


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
        kids = sorted(
            describe(c)
            for c in el
            if (c.tag not in ("primitive", "group") or el.tag == "operations")
            and not (c.tag in ("meta_attributes", "instance_attributes", "utilization") and len(c) == 0)
        )
        return f"{el.tag}{sorted(attrs.items())}{kids}"

    for section in ("resources", "constraints", "crm_config", "rsc_defaults", "op_defaults"):
        sec = cfg.find(section)
        if sec is None:
            continue
        for el in sec.iter():
            if (
                el is sec
                or not el.get("id")
                or el.tag
                in (
                    "nvpair",
                    "op",
                    "expression",
                    "instance_attributes",
                    "meta_attributes",
                    "operations",
                    "rule",
                    "cluster_property_set",
                )
            ):
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


def duration_seconds(v: str | None) -> float | None:
    if not v:
        return None
    m = re.fullmatch(r"(\d+)(ms|msec|s|sec|m|min|h|hr)?", v.strip())
    if not m:
        return None
    n = int(m.group(1))
    return {
        "ms": n / 1000,
        "msec": n / 1000,
        "s": n,
        "sec": n,
        None: n,
        "m": n * 60,
        "min": n * 60,
        "h": n * 3600,
        "hr": n * 3600,
    }[m.group(2)]


def readable_configuration(configuration: str) -> bool:
    """Whether the text is a CIB configuration that parses."""
    try:
        return configuration_xml(configuration) is not None
    except (ET.ParseError, TypeError):
        return False


def attributes(el: ET.Element, section: str = "instance_attributes") -> dict[str, str]:
    """An element's name=value pairs of one kind (its instance or meta attributes)."""
    out = {}
    for ia in el.findall(section):
        for nv in ia.findall("nvpair"):
            out[nv.get("name", "")] = nv.get("value", "")
    return out


def find_primitive(cfg: ET.Element, resource: str) -> ET.Element | None:
    return cfg.find(f".//primitive[@id='{resource}']")


def primitive_element(configuration: str, resource: str) -> ET.Element | None:
    """The resource's <primitive> in the CIB's configuration section as cibadmin prints it; None
    without it or when the configuration is unreadable."""
    try:
        cfg = configuration_xml(configuration)
    except (ET.ParseError, TypeError):
        return None
    return find_primitive(cfg, resource) if cfg is not None else None


def monitor_interval(configuration: str, resource: str) -> float | None:
    """The interval of the resource's (first) monitor op in the CIB's configuration, in seconds; None
    without a monitor op or an unreadable configuration."""
    prim = primitive_element(configuration, resource)
    if prim is None:
        return None
    op = next((o for o in prim.findall("operations/op") if o.get("name") == "monitor"), None)
    return duration_seconds(op.get("interval")) if op is not None else None


def primitive_params(configuration: str, resource: str) -> dict[str, str] | None:
    """A primitive's type and instance parameters ({"type": "Filesystem", "device": …}); None without
    that primitive or when the configuration is unreadable."""
    prim = primitive_element(configuration, resource)
    if prim is None:
        return None
    return {"type": prim.get("type", ""), **attributes(prim)}
