"""The embedded lab's releases are data: the one line crmsh 5 needs changed, and nothing else."""

import pytest

from bascule.errors import LabError
from bascule.lab.box import Box
from bascule.lab.embedded import INFRA, EmbeddedLab
from bascule.lab.release import DEBIAN_12, DEBIAN_13, DEFAULT, CrmAdaptation, Release, lab_commands, release

LAB_CRM = (INFRA / "provision" / "lab.crm").read_text()


def commands(rel):
    return lab_commands(LAB_CRM, rel, "10.22.100.220", "intralab01").splitlines()


def test_debian_12_enters_the_lab_s_lines_as_written():
    lines = commands(DEBIAN_12)
    assert (
        "ms ms-drbd0 drbd0 meta clone-max=2 clone-node-max=1 master-max=1 master-node-max=1 globally-unique=false "
        "notify=true" in lines
    )
    assert not any("@VIP@" in line or "@MASTER@" in line for line in lines)


def test_debian_13_changes_only_the_ms_line_into_a_promotable_clone_and_says_why():
    twelve, thirteen = commands(DEBIAN_12), commands(DEBIAN_13)
    assert not any(line.startswith("ms ") for line in thirteen)
    clone = [line for line in thirteen if line.startswith("clone ms-drbd0 ")]
    assert clone == [
        "clone ms-drbd0 drbd0 meta promotable=true clone-max=2 clone-node-max=1 promoted-max=1 "
        "promoted-node-max=1 globally-unique=false notify=true"
    ]
    at = thirteen.index(clone[0])
    assert thirteen[at - 2].startswith("# Debian 13: crmsh 5 has no `ms` command")
    assert thirteen[at - 1].startswith("# The lab's line: ms ms-drbd0 drbd0")
    # every other line is the same
    assert [line for line in twelve if not line.startswith("ms ")] == [
        line
        for line in thirteen
        if line != clone[0] and not line.startswith("# Debian 13") and not line.startswith("# The lab's line")
    ]


def test_an_adaptation_that_no_longer_matches_lab_crm_is_an_error_not_a_silent_skip():
    drifted = Release("99", "sid", "9", "9", (CrmAdaptation("ms nothing-like-this ", "x", "why"),))
    with pytest.raises(LabError, match="correspond à 0 lignes"):
        lab_commands(LAB_CRM, drifted, "10.0.0.1", "a")


def test_a_release_is_named_by_its_number():
    assert release(None) is DEFAULT is DEBIAN_12
    assert release("13") is DEBIAN_13 and release("debian13") is DEBIAN_13
    with pytest.raises(LabError, match="--debian 11 : le lab embarqué connaît Debian 12 et 13"):
        release("11")


def test_each_release_has_its_own_box_and_cache(tmp_path):

    twelve, thirteen = (Box(rel, tmp_path, dict, None, print) for rel in (DEBIAN_12, DEBIAN_13))
    assert twelve.name.startswith("bascule-debian12-") and thirteen.name.startswith("bascule-debian13-")
    assert twelve.recipe_hash() != thirteen.recipe_hash()  # the suite is part of the recipe
    assert twelve.dir.parent == thirteen.dir.parent == tmp_path / "boxes" and twelve.dir != thirteen.dir


def test_a_lab_command_without_debian_acts_on_the_running_lab_s_release(tmp_path):

    assert EmbeddedLab(state=tmp_path, out=print).release is DEFAULT
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "release").write_text("13\n")
    assert EmbeddedLab(state=tmp_path, out=print).release is DEBIAN_13  # status, break, heal, down
    assert EmbeddedLab(state=tmp_path, out=print, debian="12").release is DEBIAN_12  # up refuses it while 13 runs


def test_lab_up_for_another_release_than_the_existing_one_says_to_take_it_down_first(tmp_path, monkeypatch):

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "release").write_text("12\n")
    lab = EmbeddedLab(state=tmp_path, out=print, debian="13")
    monkeypatch.setattr(lab.hypervisor, "check_tools", lambda: None)
    with pytest.raises(
        LabError,
        match=r"un lab Debian 12 existe \(démarré ou arrêté\), et Debian 13 est demandé — l'enlever "
        r"d'abord \(`bascule lab down`\), puis `bascule lab up --debian 13`",
    ):
        lab.up()


def test_an_unknown_release_in_the_state_is_said_and_read_as_the_default_so_that_down_still_works(tmp_path):

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "release").write_text("15\n")
    said = []
    assert EmbeddedLab(state=tmp_path, out=said.append).release is DEFAULT
    assert said and "version inconnue « 15 »" in said[0]
