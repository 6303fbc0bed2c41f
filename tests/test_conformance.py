"""The lab's configuration lines checked against the CIB captured from the embedded lab, and
against copies of it broken in the ways a student's configuration can be."""
import copy
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bascule.checks import Verdict
from bascule.conformance import check_line, config_differences, configuration_xml, normalise
from bascule.inventory import FTPSpec, Inventory, NodeSpec, Secret, SSHSpec

FIX = Path(__file__).parent / "fixtures"
LINES = [l.strip().strip("|").strip() for l in
         (Path(__file__).parent.parent / "features" / "03_conformite.feature").read_text(encoding="utf-8").splitlines()
         if l.strip().startswith("| ") and "élément" not in l]


@pytest.fixture
def inv():
    nodes = tuple(NodeSpec(n, SSHSpec(host="127.0.0.1", password=Secret("x"))) for n in ("intralab01", "hdintralab01"))
    return Inventory(nodes=nodes, preferred_master="intralab01", vip="10.22.100.220", ftp=FTPSpec(password=Secret("y")))


@pytest.fixture
def cfg():
    return configuration_xml((FIX / "cib-configuration-lab.xml").read_text())


def test_the_feature_lists_thirteen_lab_lines():
    assert len(LINES) == 13


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


@pytest.mark.parametrize("xpath, line_start, words", [
    (".//rsc_colocation[@rsc='serviceFTP']", "colocation serviceFTP", "aucune colocation"),
    (".//rsc_order[@then='fs0']", "order ms-drbd0-before-fs0", "aucun ordre"),
    (".//rsc_location[@rsc='ms-drbd0']", "location ms-drbd0", "aucune préférence"),
    (".//primitive[@id='serviceFTP']/operations", "primitive serviceFTP", "pas surveillé"),
    (".//clone[@id='cServiceMySQL']", "clone cServiceMySQL", "absent"),
])
def test_a_missing_item_is_ko_in_words(cfg, inv, xpath, line_start, words):
    broken = _drop(cfg, xpath)
    line = next(l for l in LINES if l.startswith(line_start))
    r = check_line(normalise(line, inv), broken, inv)
    assert r.verdict is Verdict.KO and words in r.observed


def test_wrong_fs_device_and_group_order(cfg, inv):
    broken = copy.deepcopy(cfg)
    broken.find(".//primitive[@id='fs0']//nvpair[@name='device']").set("value", "/dev/vdb")
    g = broken.find(".//group[@id='servIntralab']")
    ftp = g.find("primitive[@id='serviceFTP']")
    g.remove(ftp)
    r = check_line("primitive fs0 ocf:heartbeat:Filesystem params fstype=ext4 directory=/home device=/dev/drbd0", broken, inv)
    assert r.verdict is Verdict.KO and "device=/dev/vdb" in r.observed
    r = check_line("group servIntralab IPFailover serviceWeb serviceFTP", broken, inv)
    assert r.verdict is Verdict.KO and "IPFailover serviceWeb au lieu de" in r.observed


def test_same_configuration_has_no_differences(cfg):
    assert config_differences(cfg, copy.deepcopy(cfg)) == []


def test_restore_differences_are_named(cfg):
    restored = _drop(cfg, ".//rsc_colocation[@rsc='serviceFTP']")
    restored.find(".//primitive[@id='fs0']//nvpair[@name='fstype']").set("value", "xfs")
    diffs = config_differences(cfg, restored)
    assert "rsc_colocation serviceFTP-on-ms-drbd0 manquant après restauration" in diffs
    assert any(d.startswith("primitive fs0 différent") for d in diffs)
