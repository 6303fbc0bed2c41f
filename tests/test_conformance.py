"""The lab's configuration lines checked against the CIB captured from the embedded lab, and
against copies of it broken in the ways a student's configuration can be."""

import copy
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from bascule.facts.configuration import config_differences, configuration_xml
from bascule.inventory import FTPSpec, Inventory, NodeSpec, Secret, SSHSpec
from bascule.judging.conformance import check_line, normalise, role_of
from bascule.judging.verdict import Verdict

FIX = Path(__file__).parent / "fixtures"
LINES = [
    ln.strip().strip("|").strip()
    for ln in (Path(__file__).parent.parent / "features" / "03_conformite.feature")
    .read_text(encoding="utf-8")
    .splitlines()
    if ln.strip().startswith("| ") and "élément" not in ln
]


@pytest.fixture
def inv():
    # as `bascule lab inventaire` writes the embedded lab's: its lab network is eth1
    nodes = tuple(
        NodeSpec(n, SSHSpec(host="127.0.0.1", password=Secret("x")), cluster_interface="eth1")
        for n in ("intralab01", "hdintralab01")
    )
    return Inventory(nodes=nodes, preferred_master="intralab01", vip="10.22.100.220", ftp=FTPSpec(password=Secret("y")))


@pytest.fixture
def cfg():
    return configuration_xml((FIX / "cib-configuration-lab.xml").read_text())


def test_the_feature_lists_every_line_of_the_lab_s_final_configuration():
    # the final `crm configure show` of the lab: 2 nodes, 6 primitives, the group, the ms, the clone,
    # 2 locations, 2 colocations, 2 orders and the properties
    assert len(LINES) == 18
    assert [ln.split()[0] for ln in LINES].count("primitive") == 6


@pytest.mark.parametrize("line", LINES)
def test_every_lab_line_is_ok_on_the_lab(line, cfg, inv):
    r = check_line(normalise(line, inv), cfg, inv)
    assert r.verdict is Verdict.OK, r.observed


def _drop(cfg, xpath):
    cfg = copy.deepcopy(cfg)
    for parent in cfg.iter():
        for child in list(parent):
            if child in cfg.findall(xpath):
                parent.remove(child)
    return cfg


@pytest.mark.parametrize(
    "xpath, line_start, words",
    [
        (".//rsc_colocation[@rsc='serviceFTP']", "colocation serviceFTP", "aucune colocation"),
        (".//rsc_order[@then='fs0']", "order ms-drbd0-before-fs0", "aucun ordre"),
        (".//rsc_location[@rsc='ms-drbd0']", "location ms-drbd0", "aucune préférence"),
        (".//primitive[@id='serviceFTP']/operations", "primitive serviceFTP", "pas d'op monitor sur serviceFTP"),
        (".//clone[@id='cServiceMySQL']", "clone cServiceMySQL", "absent"),
    ],
)
def test_a_missing_item_is_ko_in_words(cfg, inv, xpath, line_start, words):
    broken = _drop(cfg, xpath)
    line = next(ln for ln in LINES if ln.startswith(line_start))
    r = check_line(normalise(line, inv), broken, inv)
    assert r.verdict is Verdict.KO and words in r.observed


def test_wrong_fs_device_and_group_order(cfg, inv):
    broken = copy.deepcopy(cfg)
    broken.find(".//primitive[@id='fs0']//nvpair[@name='device']").set("value", "/dev/vdb")
    g = broken.find(".//group[@id='servIntralab']")
    ftp = g.find("primitive[@id='serviceFTP']")
    g.remove(ftp)
    r = check_line(
        "primitive fs0 ocf:heartbeat:Filesystem params fstype=ext4 directory=/home device=/dev/drbd0", broken, inv
    )
    assert r.verdict is Verdict.KO and "device=/dev/vdb" in r.observed
    r = check_line("group servIntralab IPFailover serviceWeb serviceFTP", broken, inv)
    assert r.verdict is Verdict.KO and "IPFailover serviceWeb au lieu de" in r.observed


def test_same_configuration_has_no_differences(cfg):
    assert config_differences(cfg, copy.deepcopy(cfg)) == []


def test_an_empty_attribute_set_is_no_change(cfg):
    # captured on the lab: `crm_resource --restart --resource serviceFTP` left
    # <meta_attributes id="serviceFTP-meta_attributes"/> in the primitive once it had deleted the
    # target-role it set; a meta attribute with a value is still a change

    restarted = copy.deepcopy(cfg)
    ET.SubElement(restarted.find(".//primitive[@id='serviceFTP']"), "meta_attributes", id="serviceFTP-meta_attributes")
    assert config_differences(cfg, restarted) == []
    stopped = copy.deepcopy(restarted)
    ET.SubElement(
        stopped.find(".//primitive[@id='serviceFTP']/meta_attributes"),
        "nvpair",
        id="serviceFTP-meta_attributes-target-role",
        name="target-role",
        value="Stopped",
    )
    assert config_differences(cfg, stopped) == ["primitive serviceFTP différent"]


def test_restore_differences_are_named(cfg):
    restored = _drop(cfg, ".//rsc_colocation[@rsc='serviceFTP']")
    restored.find(".//primitive[@id='fs0']//nvpair[@name='fstype']").set("value", "xfs")
    diffs = config_differences(cfg, restored)
    assert "rsc_colocation serviceFTP-on-ms-drbd0 manquant après restauration" in diffs
    assert any(d.startswith("primitive fs0 différent") for d in diffs)


# --- roles read as Pacemaker reads them: any case, Master/Slave or Promoted/Unpromoted -------------


@pytest.fixture
def cfg_texte():
    """The lab typed as the lab text writes it: `rule role=master`, stored lower case by Pacemaker."""
    return configuration_xml((FIX / "cib-configuration-texte-du-lab.xml").read_text())


def test_the_derived_fixture_has_the_roles_as_the_lab_types_them(cfg_texte):
    assert cfg_texte.find(".//rsc_location[@rsc='ms-drbd0']/rule").get("role") == "master"
    assert [op.get("role") for op in cfg_texte.findall(".//primitive[@id='drbd0']/operations/op")] == [
        "Master",
        "Slave",
    ]


@pytest.mark.parametrize("line", LINES)
def test_every_lab_line_is_ok_on_the_lab_as_the_lab_text_types_it(line, cfg_texte, inv):
    r = check_line(normalise(line, inv), cfg_texte, inv)
    assert r.verdict is Verdict.OK, r.observed


@pytest.fixture
def cfg_texte_capture():
    """Captured: the embedded lab after `location … rule role=master inf: #uname eq intralab01` was
    entered with crmsh 4.4 exactly as the lab text writes it (Pacemaker 2.1.5 kept role="master")."""
    return configuration_xml((FIX / "cib-configuration-texte-du-lab-capture.xml").read_text())


@pytest.mark.parametrize("line", LINES)
def test_every_lab_line_is_ok_on_the_captured_lab_text(line, cfg_texte_capture, inv):
    assert cfg_texte_capture.find(".//rsc_location[@rsc='ms-drbd0']/rule").get("role") == "master"
    r = check_line(normalise(line, inv), cfg_texte_capture, inv)
    assert r.verdict is Verdict.OK, r.observed


@pytest.mark.parametrize(
    "value, role",
    [
        ("Master", "Promoted"),
        ("master", "Promoted"),
        ("MASTER", "Promoted"),
        ("Promoted", "Promoted"),
        ("promoted", "Promoted"),
        ("Slave", "Unpromoted"),
        ("slave", "Unpromoted"),
        ("Unpromoted", "Unpromoted"),
        ("unpromoted", "Unpromoted"),
        ("Started", "Started"),
        ("started", "Started"),
        ("Stopped", None),
        ("", None),
        (None, None),
        ("maître", None),
    ],
)
def test_role_of(value, role):
    assert role_of(value) == role


def _set_role(cfg, xpath, attr, value):
    cfg = copy.deepcopy(cfg)
    for el in cfg.findall(xpath):
        el.set(attr, value)
    return cfg


LOCATION = "location ms-drbd0"
PROMOTED_SPELLINGS = ["master", "Master", "MASTER", "Promoted", "promoted"]
UNPROMOTED_SPELLINGS = ["slave", "Slave", "Unpromoted", "unpromoted"]


@pytest.mark.parametrize("role", PROMOTED_SPELLINGS)
def test_location_rule_role_promoted_in_any_spelling(cfg, inv, role):
    c = _set_role(cfg, ".//rsc_location[@rsc='ms-drbd0']/rule", "role", role)
    line = next(ln for ln in LINES if ln.startswith(LOCATION))
    r = check_line(normalise(line, inv), c, inv)
    assert r.verdict is Verdict.OK, r.observed


@pytest.mark.parametrize("role", ["Started", "slave", "Unpromoted", "Stopped"])
def test_location_rule_role_not_promoted_is_ko(cfg, inv, role):
    c = _set_role(cfg, ".//rsc_location[@rsc='ms-drbd0']/rule", "role", role)
    line = next(ln for ln in LINES if ln.startswith(LOCATION))
    r = check_line(normalise(line, inv), c, inv)
    assert r.verdict is Verdict.KO and "aucune préférence" in r.observed


@pytest.mark.parametrize("rsc", ["fs0", "serviceFTP"])
@pytest.mark.parametrize("role", PROMOTED_SPELLINGS)
def test_colocation_with_rsc_role_promoted_in_any_spelling(cfg, inv, rsc, role):
    c = _set_role(cfg, f".//rsc_colocation[@rsc='{rsc}']", "with-rsc-role", role)
    line = next(ln for ln in LINES if ln.startswith(f"colocation {rsc}"))
    r = check_line(normalise(line, inv), c, inv)
    assert r.verdict is Verdict.OK, r.observed


@pytest.mark.parametrize("role", UNPROMOTED_SPELLINGS + ["Started"])
def test_colocation_with_rsc_role_not_promoted_is_ko(cfg, inv, role):
    c = _set_role(cfg, ".//rsc_colocation[@rsc='fs0']", "with-rsc-role", role)
    line = next(ln for ln in LINES if ln.startswith("colocation fs0"))
    r = check_line(normalise(line, inv), c, inv)
    assert r.verdict is Verdict.KO and "aucune colocation" in r.observed


@pytest.mark.parametrize("promoted", PROMOTED_SPELLINGS)
@pytest.mark.parametrize("unpromoted", UNPROMOTED_SPELLINGS)
def test_drbd_monitor_roles_in_any_spelling(cfg, inv, promoted, unpromoted):
    c = _set_role(cfg, ".//op[@id='drbd0-monitor-60s']", "role", promoted)
    c = _set_role(c, ".//op[@id='drbd0-monitor-60s-0']", "role", unpromoted)
    line = next(ln for ln in LINES if ln.startswith("primitive drbd0"))
    r = check_line(normalise(line, inv), c, inv)
    assert r.verdict is Verdict.OK, r.observed


def test_drbd_monitors_both_promoted_miss_the_slave_one(cfg, inv):
    c = _set_role(cfg, ".//op[@id='drbd0-monitor-60s-0']", "role", "master")
    line = next(ln for ln in LINES if ln.startswith("primitive drbd0"))
    r = check_line(normalise(line, inv), c, inv)
    assert r.verdict is Verdict.KO and "pas d'op monitor role=Slave sur drbd0" in r.observed


@pytest.mark.parametrize(
    "first_action, then_action, kind",
    [
        ("promote", "start", "Mandatory"),
        ("Promote", "Start", "mandatory"),
        ("PROMOTE", "START", "MANDATORY"),
    ],
)
def test_order_actions_and_kind_in_any_case(cfg, inv, first_action, then_action, kind):
    c = copy.deepcopy(cfg)
    o = c.find(".//rsc_order[@id='ms-drbd0-before-fs0']")
    o.set("first-action", first_action)
    o.set("then-action", then_action)
    o.set("kind", kind)
    line = next(ln for ln in LINES if ln.startswith("order ms-drbd0-before-fs0"))
    r = check_line(normalise(line, inv), c, inv)
    assert r.verdict is Verdict.OK, r.observed


def test_order_start_instead_of_promote_is_ko(cfg, inv):
    c = _set_role(cfg, ".//rsc_order[@id='ms-drbd0-before-fs0']", "first-action", "Start")
    line = next(ln for ln in LINES if ln.startswith("order ms-drbd0-before-fs0"))
    r = check_line(normalise(line, inv), c, inv)
    assert r.verdict is Verdict.KO and "aucun ordre" in r.observed


# --- Debian 13: captured from the embedded lab built with --debian 13 (crmsh 5, Pacemaker 3.0) ------


@pytest.fixture
def cfg13():
    return configuration_xml((FIX / "cib-configuration-debian13.xml").read_text())


@pytest.mark.parametrize("line", LINES)
def test_every_lab_line_is_ok_on_the_debian_13_lab(line, cfg13, inv):
    # the lab's ms entered as `clone ms-drbd0 drbd0 meta promotable=true …`, Master stored as Promoted
    r = check_line(normalise(line, inv), cfg13, inv)
    assert r.verdict is Verdict.OK, r.observed


def test_debian_13_stores_the_lab_s_multi_state_resource_as_a_promotable_clone(cfg13):
    assert cfg13.find(".//master") is None
    ms = cfg13.find(".//clone[@id='ms-drbd0']")
    meta = {nv.get("name"): nv.get("value") for nv in ms.findall("meta_attributes/nvpair")}
    assert meta["promotable"] == "true" and meta["promoted-max"] == "1"


def test_the_mysql_clone_made_promotable_by_crmsh_is_said_not_judged(cfg13, inv):
    line = next(ln for ln in LINES if ln.startswith("clone "))
    r = check_line(normalise(line, inv), cfg13, inv)
    assert r.verdict is Verdict.OK
    assert "promotable=true : crmsh (4.5 et suivants) l'ajoute de lui-même" in r.observed


# --- every line can fail: one parameter of each line changed in the captured configuration --------


def _set(xpath: str, attr: str, value: str):
    def change(c):
        for el in c.findall(xpath):
            el.set(attr, value)

    return change


def _nv(owner: str, name: str, value: str):
    return _set(f".//{owner}//nvpair[@name='{name}']", "value", value)


# (the line's first words, what is changed, what the KO must name)
MUTATIONS = [
    ("node 169221774", _nv("node[@uname='intralab01']", "standby", "on"), "standby=on au lieu de off"),
    ("node 169221777", _set("nodes/node[@uname='hdintralab01']", "uname", "autre"), "nœud hdintralab01 absent"),
    ("primitive IPFailover", _nv("primitive[@id='IPFailover']", "cidr_netmask", "24"), "cidr_netmask=24 au lieu de 16"),
    ("primitive IPFailover", _nv("primitive[@id='IPFailover']", "iflabel", "X"), "iflabel=X au lieu de VIP"),
    (
        "primitive IPFailover",
        _set(".//primitive[@id='IPFailover']//op[@name='monitor']", "timeout", "60s"),
        "op monitor de IPFailover : timeout=60s au lieu de 20s",
    ),
    (
        "primitive drbd0",
        _set(".//primitive[@id='drbd0']//op[@role='Master']", "interval", "30s"),
        "op monitor role=Master de drbd0 : interval=30s au lieu de 60s",
    ),
    ("primitive fs0", _nv("primitive[@id='fs0']", "fstype", "xfs"), "fstype=xfs au lieu de ext4"),
    (
        "primitive serviceFTP",
        _set(".//primitive[@id='serviceFTP']//op[@name='monitor']", "interval", "30s"),
        "op monitor de serviceFTP : interval=30s au lieu de 10s",
    ),
    ("primitive serviceMySQL", _nv("primitive[@id='serviceMySQL']", "socket", "/tmp/s"), "socket=/tmp/s au lieu de"),
    (
        "primitive serviceWeb",
        _set(".//primitive[@id='serviceWeb']//op[@name='stop']", "timeout", "20s"),
        "op stop de serviceWeb : timeout=20s au lieu de 60s",
    ),
    (
        "group servIntralab",
        _nv("group[@id='servIntralab']/meta_attributes", "migration-threshold", "3"),
        "migration-threshold=3 au lieu de 5",
    ),
    ("ms ms-drbd0", _nv("master[@id='ms-drbd0']", "notify", "false"), "notify=false au lieu de true"),
    ("clone cServiceMySQL", _set(".//clone[@id='cServiceMySQL']/primitive", "type", "apache"), "ne clone pas"),
    (
        "location cli-prefer-IPFailover",
        _set(".//rsc_location[@id='cli-prefer-IPFailover']", "score", "100"),
        "a le score 100 au lieu de inf",
    ),
    ("colocation fs0-on-ms-drbd0", _set(".//rsc_colocation[@rsc='fs0']", "score", "100"), "aucune colocation"),
    ("order ms-drbd0-before-fs0", _set(".//rsc_order[@then='fs0']", "first-action", "start"), "aucun ordre"),
    (
        "location ms-drbd0-master",
        _set(".//rsc_location[@rsc='ms-drbd0']//expression", "value", "hdintralab01"),
        "aucune préférence",
    ),
    ("order serviceFTP-after-fs0", _set(".//rsc_order[@then='serviceFTP']", "kind", "Optional"), "aucun ordre"),
    (
        "colocation serviceFTP-on-ms-drbd0",
        _set(".//rsc_colocation[@rsc='serviceFTP']", "with-rsc-role", "Slave"),
        "aucune colocation",
    ),
    (
        "property cib-bootstrap-options",
        _nv("cluster_property_set", "stonith-enabled", "true"),
        "stonith-enabled=true au lieu de false",
    ),
    (
        "property cib-bootstrap-options",
        _nv("cluster_property_set", "no-quorum-policy", "stop"),
        "no-quorum-policy=stop au lieu de ignore",
    ),
]


@pytest.mark.parametrize("line_start, change, words", MUTATIONS, ids=[f"{m[0]}-{m[2][:20]}" for m in MUTATIONS])
def test_one_parameter_changed_turns_its_line_ko(cfg, inv, line_start, change, words):
    line = next(ln for ln in LINES if ln.startswith(line_start))
    assert check_line(normalise(line, inv), cfg, inv).verdict is Verdict.OK
    broken = copy.deepcopy(cfg)
    change(broken)
    r = check_line(normalise(line, inv), broken, inv)
    assert r.verdict is Verdict.KO and words in r.observed, r.observed


def test_every_line_has_a_mutation_that_turns_it_ko():
    assert {ln.split()[0] + " " + ln.split()[1] for ln in LINES} <= {
        " ".join(next(ln for ln in LINES if ln.startswith(m[0])).split()[:2]) for m in MUTATIONS
    }


def test_the_vip_s_parameters_other_than_its_address_are_judged(cfg, inv):
    """Seen on a breakage no issue named: the VIP's parameters differed from the lab's final text and
    conformance was OK (it read IPFailover by its ip= only)."""
    broken = copy.deepcopy(cfg)
    _nv("primitive[@id='IPFailover']", "nic", "eth0")(broken)
    line = next(ln for ln in LINES if ln.startswith("primitive IPFailover"))
    r = check_line(normalise(line, inv), broken, inv)
    assert r.verdict is Verdict.KO and "nic=eth0 au lieu de eth1" in r.observed


def test_another_site_s_vip_brings_its_own_netmask_and_pacemaker_s_own_properties_are_only_read(cfg, inv):

    other = replace(inv, vip="192.168.50.10")
    site = copy.deepcopy(cfg)
    _nv("primitive[@id='IPFailover']", "ip", "192.168.50.10")(site)
    _nv("primitive[@id='IPFailover']", "cidr_netmask", "24")(site)
    line = next(ln for ln in LINES if ln.startswith("primitive IPFailover"))
    r = check_line(normalise(line, other), site, other)
    assert r.verdict is Verdict.OK and "cidr_netmask non comparé" in r.observed, r.observed
    _nv("cluster_property_set", "cluster-name", "moncluster")(site)
    prop = next(ln for ln in LINES if ln.startswith("property"))
    r = check_line(normalise(prop, other), site, other)
    assert r.verdict is Verdict.OK and "cluster-name=moncluster" in r.observed
