"""Document 3's keeper after a split brain: one rule for the suite (its probe reads which node serves
it, its uploads do not) and the endurance run (each upload names its node)."""

from __future__ import annotations

from test_checks_report import inventory

from bascule.facts.keeper import split_brain_keeper
from bascule.record.endurance import FTP_UPLOADER, UPLOAD
from bascule.record.history import CLIENT, FAIL, OK, READ, WRITE, History


def _history(*ops):
    h = History(clock=iter(range(1000)).__next__)
    for t, process, op, outcome, value in ops:
        h.append(CLIENT, process, op, outcome, value, t=t, end=t + 0.5)
    return h


def test_the_node_that_acknowledged_most_uploads_is_kept():
    h = _history(
        (11, FTP_UPLOADER, UPLOAD, OK, {"served_by": "hdintralab01"}),
        (12, FTP_UPLOADER, UPLOAD, OK, {"served_by": "hdintralab01"}),
        (13, FTP_UPLOADER, UPLOAD, OK, {"served_by": "intralab01.lab.local"}),
        (30, FTP_UPLOADER, UPLOAD, OK, {"served_by": "intralab01"}),  # after the cut: not counted
    )
    keeper = split_brain_keeper(h.events, 10, 20, inventory(), "intralab01")
    assert (keeper.node, keeper.acks) == ("hdintralab01", {"intralab01": 1, "hdintralab01": 2})


def test_with_no_upload_naming_its_node_the_last_server_of_the_probe_is_kept():
    h = _history(
        (11, "sonde-ftp", READ, OK, {"op": READ, "served_by": "intralab01"}),
        (12, "sonde-ftp", WRITE, OK, {"op": WRITE, "path": "p"}),  # the probe's uploads name no node
        (13, "sonde-ftp", READ, OK, {"op": READ, "served_by": "hdintralab01"}),
    )
    assert split_brain_keeper(h.events, 10, 20, inventory(), "intralab01").node == "hdintralab01"


def test_a_refused_upload_does_not_make_its_node_the_keeper():
    h = _history((11, FTP_UPLOADER, UPLOAD, FAIL, {"served_by": "hdintralab01", "failed_at": WRITE}))
    keeper = split_brain_keeper(h.events, 10, 20, inventory(), "intralab01")
    assert keeper.node == "intralab01" and "maître préféré" in keeper.why


def test_a_server_that_is_none_of_the_nodes_leaves_the_preferred_master():
    h = _history((11, "sonde-ftp", READ, OK, {"op": READ, "served_by": "srv-ftp"}))
    assert split_brain_keeper(h.events, 10, 20, inventory(), "intralab01").node == "intralab01"
