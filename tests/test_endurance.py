"""The endurance run's checker on hand-made histories (a clean run, a loss, a split-brain discard, a
partial upload, an unrecovered fault, an interrupted run), its schedule (the same seed, the same
faults), and its report."""

import json
from datetime import datetime

import pytest
from test_endurance_diagnosis import lab_inventory

from bascule.cli import main
from bascule.endurance.run import night_folder
from bascule.endurance.schedule import (
    MASTER,
    PEER,
    duration_words,
    parse_duration,
    parse_kinds,
    replay_command,
    schedule,
)
from bascule.inventory import public
from bascule.judging.endurance import (
    CORRUPTED,
    DISCARDED,
    EXIT_CODES,
    IN_CACHE,
    INTACT,
    LOST,
    NOT_REPLICATED,
    STALE,
    UNDECIDED,
    judge_endurance,
)
from bascule.record.endurance import (
    CURL_UPLOADER,
    ENDURANCE,
    FTP_UPLOADER,
    PLANNED,
    READ_BACK,
    RECOVERED,
    REPLICA,
    SPLIT_BRAIN,
    START,
    STOP,
    UPLOAD,
    VERIFY,
)
from bascule.record.history import CLIENT, FAIL, FAULT, INFO, OK, RUN, WRITE, History, roundtrip_events
from bascule.reporting import trend
from bascule.reporting.endurance import trend_record, write_allure, write_report
from bascule.reporting.rejudge import rejudge


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class Run:
    """A hand-made endurance history, written as bascule.endurance.run writes one."""

    def __init__(self, writeback=None):
        self.clock = Clock()
        self.h = History(clock=self.clock)
        self.h.append(
            RUN,
            ENDURANCE,
            START,
            INFO,
            {
                "seed": 7,
                "duration_s": 600,
                "kinds": ["standby"],
                "writeback_s": writeback or {},
                "cluster": {"nodes": [{"name": "a"}, {"name": "b"}], "vip": "v"},
                "date": "2026-12-05T23:00:00",
            },
        )

    def at(self, t):
        self.clock.t = t
        return self

    def upload(self, name, ok=True, sha=None, node="a", uploader=FTP_UPLOADER, size=10, failed_at=WRITE):
        value = {"name": name, "sha256": sha or f"sha-{name}", "size": size, "served_by": node, "op": WRITE}
        if ok:
            self.h.append(CLIENT, uploader, UPLOAD, OK, value)
        else:
            self.h.append(CLIENT, uploader, UPLOAD, FAIL, {**value, "failed_at": failed_at}, error="connexion perdue")
        return self

    def fault(self, index, kind="standby", label="standby a", recovered=True):
        self.h.append(RUN, ENDURANCE, PLANNED, INFO, {"index": index, "kind": kind, "pause": 10})
        self.h.append(FAULT, label, "start", OK)
        self.clock.t += 30
        self.h.append(FAULT, label, "end", OK)
        self.h.append(
            RUN,
            ENDURANCE,
            RECOVERED,
            OK if recovered else INFO,
            {
                "index": index,
                "kind": kind,
                "label": label,
                "recovered": recovered,
                "waited": 12.0,
                "repairs": [],
                "left": [] if recovered else ["fs0 arrêté"],
            },
        )
        return self

    def verify(self, after, read, listed=None, sizes=None, unreadable=(), index=None):
        if index is None and after != "fin":
            index = 1
        self.h.append(
            RUN,
            ENDURANCE,
            VERIFY,
            INFO,
            {
                "after": after,
                "index": index,
                "read": read,
                "listed": listed or list(read),
                "sizes": sizes or {},
                "unreadable": list(unreadable),
            },
        )
        return self

    def replica(self, read, node="b", oos=0):
        """The final read on the other node's data, after a switchover to it, and DRBD's own count."""
        self.h.append(
            RUN,
            ENDURANCE,
            VERIFY,
            INFO,
            {
                "after": "réplique",
                "index": None,
                "read": read,
                "listed": list(read),
                "sizes": {},
                "unreadable": [],
                "replica": True,
                "served_by": [node],
                "took_s": 3.0,
            },
        )
        self.h.append(
            RUN,
            ENDURANCE,
            REPLICA,
            INFO,
            {"drbd": {"a": {"oos_kib": oos}, "b": {"oos_kib": 0}}, "switched": True, "served_by": node, "took_s": 60.0},
        )
        return self

    def stop(self, reason="durée atteinte", faults=1):
        self.h.append(RUN, ENDURANCE, STOP, INFO, {"reason": reason, "faults": faults})
        return self

    def judged(self):
        return judge_endurance(roundtrip_events(self.h.events))


def test_a_clean_run_is_ok():
    r = Run().at(1).upload("f1").at(2).upload("f2").at(3).fault(1).at(40).upload("f3")
    r.verify("standby a", {"f1": "sha-f1", "f2": "sha-f2"}).at(50).verify(
        "fin", {"f1": "sha-f1", "f2": "sha-f2", "f3": "sha-f3"}
    ).replica({"f1": "sha-f1", "f2": "sha-f2", "f3": "sha-f3"}).stop()
    v = r.judged()
    assert v.verdict == "OK" and v.why.startswith("3 fichiers acquittés, tous relus intacts sur les deux nœuds")
    assert v.exit_code == 0 and "tout relu sur b" in v.replica
    assert [f.fate for f in v.files] == [INTACT] * 3
    assert v.seed == 7 and v.totals[FTP_UPLOADER]["acked"] == 3
    # from the fault's start (t=3) to the cluster back at its baseline (t=33)
    assert len(v.faults) == 1 and v.faults[0].recovered and v.faults[0].recovery_s == 30.0


def test_an_acknowledged_file_missing_after_a_fault_is_a_loss_attributed_to_it():
    r = Run().at(1).upload("f1").at(2).upload("f2").at(3).fault(1, label="redémarrage a")
    r.verify("redémarrage a", {"f1": "sha-f1", "f2": None}).at(60).verify("fin", {"f1": "sha-f1", "f2": None}).stop()
    v = r.judged()
    assert v.verdict == "KO" and "1 fichier(s) acquitté(s) perdu(s)" in v.why
    lost = v.lost()
    assert [(f.name, f.seen, f.found_after) for f in lost] == [("f2", "absent", "redémarrage a")]
    assert v.faults[0].lost == 1


def test_a_file_changed_is_a_loss_too():
    r = Run().at(1).upload("f1").verify("fin", {"f1": "autre-sha"}).stop()
    v = r.judged()
    assert v.verdict == "KO" and v.lost()[0].seen.startswith("contenu différent")


def test_a_file_acknowledged_by_the_discarded_node_during_a_cut_is_reported_apart():
    r = Run().at(1).upload("avant", node="a")
    r.h.append(RUN, ENDURANCE, PLANNED, INFO, {"index": 1, "kind": "cable", "pause": 10})
    r.at(10).h.append(FAULT, "câble débranché a", "start", OK)
    r.at(20).upload("pendant-b", node="b").at(21).upload("pendant-a", node="a")
    r.at(80).h.append(FAULT, "câble débranché a", "end", OK)
    r.at(90).h.append(RUN, ENDURANCE, SPLIT_BRAIN, INFO, {"kept": "a", "discarded": "b", "cut_at": 10})
    r.h.append(
        RUN,
        ENDURANCE,
        RECOVERED,
        OK,
        {
            "index": 1,
            "kind": "cable",
            "label": "câble débranché a",
            "recovered": True,
            "waited": 40.0,
            "repairs": [],
            "left": [],
        },
    )
    r.at(100).verify("câble débranché a", {"avant": "sha-avant", "pendant-b": None, "pendant-a": "sha-pendant-a"})
    r.verify("fin", {"avant": "sha-avant", "pendant-b": None, "pendant-a": "sha-pendant-a"}).replica(
        {"avant": "sha-avant", "pendant-b": None, "pendant-a": "sha-pendant-a"}
    ).stop()
    v = r.judged()
    # a loss with an explanation is still a loss: never OK, its own verdict and exit code
    assert v.verdict == "pertes expliquées" and v.exit_code == 3
    assert "1 fichier(s) acquitté(s) perdu par la résolution du split brain, attendu sans STONITH" in v.why
    assert "STONITH et deux liens réseau" in v.explanations[0]
    fates = {f.name: f.fate for f in v.files}
    assert fates == {"avant": INTACT, "pendant-b": DISCARDED, "pendant-a": INTACT}
    assert v.faults[0].discarded == 1 and v.faults[0].lost == 0


def test_a_file_of_the_kept_node_missing_after_a_split_brain_is_still_a_loss():
    r = Run()
    r.at(10).h.append(FAULT, "câble débranché a", "start", OK)
    r.at(20).upload("pendant-a", node="a")
    r.at(90).h.append(RUN, ENDURANCE, SPLIT_BRAIN, INFO, {"kept": "a", "discarded": "b", "cut_at": 10})
    r.at(100).verify("fin", {"pendant-a": None}).stop()
    assert r.judged().verdict == "KO"


def test_a_failed_upload_that_left_a_file_is_reported_not_lost():
    r = Run().at(1).upload("ok1").at(2).upload("casse", ok=False, size=10)
    r.at(3).verify("fin", {"ok1": "sha-ok1"}, listed=["ok1", "casse"], sizes={"ok1": 10, "casse": 4}).replica(
        {"ok1": "sha-ok1"}
    ).stop()
    v = r.judged()
    assert v.verdict == "OK"
    assert v.totals[FTP_UPLOADER]["refused"] == 1 and v.totals[FTP_UPLOADER]["timed_out"] == 0
    assert [(f.name, f.left) for f in v.failed_uploads] == [("casse", "fichier partiel (4 octets sur 10)")]


def test_a_fault_the_cluster_did_not_recover_from_is_ko():
    r = Run().at(1).upload("f1").at(2).fault(1, recovered=False).verify("fin", {"f1": "sha-f1"}).stop()
    v = r.judged()
    assert v.verdict == "KO" and "n'est pas revenu à son état de référence après la panne 1" in v.why


def test_an_interrupted_run_without_final_verification_is_unknown():
    v = Run().at(1).upload("f1").judged()
    assert v.verdict == "inconnu"
    v = Run().at(1).upload("f1").verify("fin", {"f1": None}, listed=[], unreadable=["f1"]).stop().judged()
    assert v.verdict == "inconnu" and "n'ont pas pu être relus" in v.why


def test_each_client_is_counted_apart_and_outages_are_per_fault():
    r = Run().at(1).upload("f1").upload("c1", uploader=CURL_UPLOADER)
    r.h.append(RUN, ENDURANCE, PLANNED, INFO, {"index": 1, "kind": "standby", "pause": 10})
    r.at(10).h.append(FAULT, "standby a", "start", OK)
    r.at(12).upload("f2", ok=False, failed_at="connexion").at(20).upload("f3", node="b")
    r.at(13).upload("c2", ok=False, uploader=CURL_UPLOADER, failed_at="connexion").at(25).upload(
        "c3", uploader=CURL_UPLOADER, node=None
    )
    r.at(40).h.append(FAULT, "standby a", "end", OK)
    r.h.append(
        RUN,
        ENDURANCE,
        RECOVERED,
        OK,
        {
            "index": 1,
            "kind": "standby",
            "label": "standby a",
            "recovered": True,
            "waited": 30.0,
            "repairs": [],
            "left": [],
        },
    )
    r.at(50).verify("fin", {"f1": "sha-f1", "f3": "sha-f3", "c1": "sha-c1", "c3": "sha-c3"}).stop()
    v = r.judged()
    line = v.faults[0]
    assert line.acked == {FTP_UPLOADER: 1, CURL_UPLOADER: 1} and line.failed == {FTP_UPLOADER: 1, CURL_UPLOADER: 1}
    assert line.outage_s == {FTP_UPLOADER: 19.0, CURL_UPLOADER: 24.0}
    assert {
        k: v.totals[CURL_UPLOADER][k]
        for k in ("acked", "failed", "lost", "discarded", "in_cache", "not_checked", "refused", "timed_out")
    } == {
        "acked": 2,
        "failed": 1,
        "lost": 0,
        "discarded": 0,
        "in_cache": 0,
        "not_checked": 0,
        "refused": 1,
        "timed_out": 0,
    }


def test_the_report_says_the_seed_the_faults_and_the_losses(tmp_path):
    r = Run().at(1).upload("f1").at(2).upload("f2").at(3).fault(1, label="redémarrage a")
    r.verify("redémarrage a", {"f1": "sha-f1", "f2": None}).verify("fin", {"f1": "sha-f1", "f2": None}).stop()
    events = roundtrip_events(r.h.events)
    paths = write_report(judge_endurance(events), events, tmp_path)
    md = paths["md"].read_text()
    assert (
        "Graine : 7" in md and "**Verdict : KO**" in md and "| 1 | standby |  | redémarrage a | +3 s (23:00:03) |" in md
    )
    assert "- f2 (envois-ftp, acquitté à +2 s (23:00:02) par a) : absent, constaté à redémarrage a" in md
    assert (tmp_path / "chronologie-endurance.png").is_file()
    assert json.loads(paths["json"].read_text())["losses"][0]["name"] == "f2"
    assert "Verdict : KO" in paths["html"].read_text()


def test_the_same_seed_replays_the_same_schedule_and_another_does_not():
    kinds = parse_kinds("standby,kill,cable")
    assert schedule(42, kinds) == schedule(42, kinds)
    assert schedule(42, kinds) != schedule(43, kinds)
    assert {p.kind for p in schedule(42, kinds)} == set(kinds)
    assert all(15 <= p.pause <= 45 for p in schedule(42, kinds))


def test_durations_and_kinds_are_read_or_refused_in_one_line():
    assert parse_duration("1h") == 3600 and parse_duration("30m") == 1800 and parse_duration("1h30m") == 5400
    assert parse_duration("90s") == 90 and parse_duration("45") == 2700
    with pytest.raises(ValueError, match="durée illisible"):
        parse_duration("demain")
    with pytest.raises(ValueError, match="panne inconnue : meteore"):
        parse_kinds("standby,meteore")
    assert parse_kinds(None) == ("standby", "kill", "kill-empeche", "redemarrage", "courant", "cable")


def test_the_run_is_written_as_allure_results_one_per_fault_and_a_summary(tmp_path):

    r = Run().at(1).upload("f1").at(2).upload("f2").at(3).fault(1, label="redémarrage a")
    r.verify("redémarrage a", {"f1": "sha-f1", "f2": None}).verify("fin", {"f1": "sha-f1", "f2": None}).stop()
    events = roundtrip_events(r.h.events)
    verdict = judge_endurance(events)
    write_report(verdict, events, tmp_path)
    results = [
        json.loads(p.read_text())
        for p in (write_allure(verdict, events, tmp_path / "allure-results", 0.0)).glob("*-result.json")
    ]
    by_name = {r["name"]: r for r in results}
    assert by_name["Panne 1 : redémarrage a"]["status"] == "failed"
    summary = by_name["Bilan de la série"]
    assert summary["status"] == "failed" and {a["name"] for a in summary["attachments"]} == {"chronologie", "tableau"}
    assert all({"name": "feature", "value": "Endurance"} in r["labels"] for r in results)


def test_losses_are_attributed_to_the_fault_by_its_number_not_its_label():
    r = Run().at(1).upload("f1").at(2).fault(1, label="standby a").verify("standby a", {"f1": "sha-f1"}, index=1)
    r.at(40).upload("f2").at(41).fault(2, label="standby a").verify("standby a", {"f1": "sha-f1", "f2": None}, index=2)
    r.verify("fin", {"f1": "sha-f1", "f2": None}).stop(faults=2)
    v = r.judged()
    assert [(f.index, f.lost) for f in v.faults] == [(1, 0), (2, 1)]


def test_a_file_absent_for_a_while_then_read_intact_is_a_stale_read_and_ko():
    r = Run().at(1).upload("f1").at(2).fault(1, recovered=True).verify("standby a", {"f1": None})
    r.at(80).verify("fin", {"f1": "sha-f1"}).replica({"f1": "sha-f1"}).stop()
    v = r.judged()
    assert v.verdict == "KO" and v.files[0].fate == STALE and "relu intact ensuite" in v.files[0].note
    assert "1 lecture(s) périmée(s)" in v.why and v.totals[FTP_UPLOADER]["stale"] == 1


def test_a_curl_file_missing_after_a_split_brain_is_undecided_never_excused():

    r = Run()
    r.at(10).h.append(FAULT, "câble débranché a", "start", OK)
    r.at(20).upload("ftp-b", node="b").at(21).upload("curl-1", node=None, uploader=CURL_UPLOADER)
    r.at(40).upload("curl-2", node=None, uploader=CURL_UPLOADER)  # no FTP upload within 5 s of it
    r.at(90).h.append(RUN, ENDURANCE, SPLIT_BRAIN, INFO, {"kept": "a", "discarded": "b", "cut_at": 10})
    r.at(100).verify("fin", {"ftp-b": None, "curl-1": None, "curl-2": None}).stop()
    v = r.judged()
    fates = {f.name: (f.fate, f.note) for f in v.files}
    assert fates["ftp-b"][0] == DISCARDED
    # while split, both nodes may carry the VIP: the FTP client's node says nothing of curl's
    assert fates["curl-1"][0] == UNDECIDED and "que curl ne dit pas" in fates["curl-1"][1]
    assert fates["curl-2"][0] == UNDECIDED
    # absent, and nothing says which node acknowledged them: losses nothing explains (never « inconnu »)
    assert v.verdict == "KO" and "2 fichier(s) acquitté(s) absent(s) après un split brain" in v.why
    assert "1 fichier(s) acquitté(s) perdu par la résolution du split brain" in v.why


def test_the_cut_window_counts_the_moment_of_the_226_not_the_start_of_the_upload():
    r = Run()
    r.at(9).h.append(
        CLIENT,
        FTP_UPLOADER,
        UPLOAD,
        OK,
        {"name": "lent", "sha256": "sha-lent", "served_by": "b", "op": WRITE},
        t=9,
        end=12,
    )
    r.at(90).h.append(RUN, ENDURANCE, SPLIT_BRAIN, INFO, {"kept": "a", "discarded": "b", "cut_at": 10})
    r.at(100).verify("fin", {"lent": None}).stop()
    assert r.judged().files[0].fate == DISCARDED


def test_an_interruption_that_left_the_cluster_broken_is_ko_and_says_so():
    r = Run().at(1).upload("f1")
    r.h.append(RUN, ENDURANCE, PLANNED, INFO, {"index": 1, "kind": "standby", "pause": 10})
    r.at(12).h.append(FAULT, "standby a", "start", OK)
    r.at(20).h.append(
        RUN,
        ENDURANCE,
        RECOVERED,
        INFO,
        {"index": 1, "kind": "standby", "label": "interruption (Ctrl-C)", "recovered": False, "left": ["a en standby"]},
    )
    r.verify("fin", {"f1": "sha-f1"}).stop(reason="interrompue (Ctrl-C) pendant la panne 1 (standby)", faults=0)
    v = r.judged()
    assert v.verdict == "KO" and "interrompue (Ctrl-C)" in v.why and "n'est pas revenu" in v.why


def test_a_fault_not_played_is_said_so_and_is_no_failure():
    r = Run().at(1).upload("f1")
    r.h.append(RUN, ENDURANCE, PLANNED, INFO, {"index": 1, "kind": "courant", "pause": 10})
    r.at(11).h.append(
        RUN,
        ENDURANCE,
        RECOVERED,
        OK,
        {"index": 1, "kind": "courant", "label": "courant", "recovered": True, "status": "non jouée : impossible ici"},
    )
    r.at(20).verify("fin", {"f1": "sha-f1"}).replica({"f1": "sha-f1"}).stop(faults=0)
    v = r.judged()
    assert v.verdict == "OK" and not v.faults[0].played and v.faults[0].status == "non jouée : impossible ici"
    assert v.faults[0].outage_s == {}


# --- histories captured on the embedded lab (tests/fixtures/README.md) --------------------------------

CAPTURED = __import__("pathlib").Path(__file__).parent / "fixtures" / "runs"


# Each captured run re-judged under today's verdicts: what changed and why. The healthy night never
# read the replica (bascule then read only through the VIP): it can no longer be OK. The two nights on
# a /home outside DRBD keep their losses, and now also count the stale reads they hid (acknowledged
# files answered 550 while the service ran) and, where the run read it, the storage finding.
REJUDGED = {
    "endurance-saine-graine-11": (
        "inconnu",
        "310 fichiers acquittés relus intacts sur le nœud qui servait, mais réplique "
        "non relue (série sans lecture de la réplique)",
    ),
    "endurance-home-sur-disque-local-curl": (
        "KO",
        "11 fichier(s) acquitté(s) perdu(s) sans explication ; 5 lecture(s) "
        "périmée(s) : fichier acquitté absent ou vide à une relecture, "
        "service en marche",
    ),
    "endurance-home-sur-disque-local-cause": (
        "KO",
        "39 fichier(s) acquitté(s) perdu(s) sans explication ; 5 lecture(s) "
        "périmée(s) : fichier acquitté absent ou vide à une relecture, "
        "service en marche ; le stockage ne garde pas chaque envoi acquitté "
        "sur les deux nœuds (lu sur le cluster)",
    ),
}


@pytest.mark.parametrize("run", sorted(REJUDGED))
def test_a_captured_run_is_judged_again_under_todays_verdicts(run, tmp_path):

    saved = json.loads((CAPTURED / run / "endurance.json").read_text())
    paths = rejudge(CAPTURED / run, tmp_path)
    again = json.loads(paths["json"].read_text())
    assert (again["verdict"], again["why"]) == REJUDGED[run]
    # the counts the run wrote stay the same (a later checker counts more per client)
    totals = {up: {k: again["totals"][up][k] for k in counts} for up, counts in saved["totals"].items()}
    # the same files lost, seen the same (a loss is now placed after the read from which it never came back:
    # one file of the -cause night, absent after fault 1, was read intact once before fault 2)
    assert totals == saved["totals"] and [(f["name"], f["fate"], f["seen"]) for f in again["losses"]] == [
        (f["name"], f["fate"], f["seen"]) for f in saved["losses"]
    ]
    # each fault's line as the run judged it (the table's layout may have changed since)
    kept = ("index", "kind", "label", "start", "played", "recovered", "outage_s", "acked", "failed", "discarded")
    assert [{k: f[k] for k in kept} for f in again["faults"]] == [{k: f[k] for k in kept} for f in saved["faults"]]
    assert sum(f["lost"] for f in again["faults"]) == sum(f["lost"] for f in saved["faults"])


def test_a_file_acknowledged_just_before_its_nodes_power_cut_is_reported_apart_with_the_nodes_window():

    r = Run(writeback={"a": 35.0, "b": 35.0})
    r.at(1).upload("ancien", node="a").at(70).upload("recent", node="a").at(71).upload(
        "curl", node=None, uploader=CURL_UPLOADER
    )
    r.h.append(RUN, ENDURANCE, PLANNED, INFO, {"index": 1, "kind": "courant", "pause": 10})
    r.at(80).h.append(FAULT, "coupure de courant a", "start", OK)
    r.at(200).verify("coupure de courant a", {"ancien": None, "recent": None, "curl": None}, index=1)
    r.verify("fin", {"ancien": None, "recent": None, "curl": None}).stop()
    v = r.judged()
    fates = {f.name: f.fate for f in v.files}
    # 79 s before the cut: the kernel had written it out (35 s): a loss; 10 s before: in the cache
    assert fates == {"ancien": LOST, "recent": IN_CACHE, "curl": IN_CACHE}
    assert v.verdict == "KO" and "1 fichier(s) acquitté(s) perdu(s)" in v.why
    note = next(f.note for f in v.files if f.name == "curl")
    assert "35 s" in note and "nœud déduit du client FTP" in note


def test_a_file_acknowledged_by_the_discarded_node_just_before_the_cut_was_never_replicated():
    """Seen on the lab: acknowledged by the master in the seconds before its cable went, the file's
    name was replicated (the journal commits every 5 s) but its bytes were still in the master's
    cache; the slave served it empty, and document 3 discarded the master's side."""
    r = Run(writeback={"a": 40.0, "b": 40.0})
    r.at(70).upload("juste-avant", node="a").at(75).upload("bien-avant", node="a", sha="sha-x")
    r.at(100).h.append(RUN, ENDURANCE, SPLIT_BRAIN, INFO, {"kept": "b", "discarded": "a", "cut_at": 80})
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    r.at(110).verify("fin", {"juste-avant": empty, "bien-avant": "autre"}).stop()
    v = r.judged()
    fates = {f.name: (f.fate, f.seen, f.note) for f in v.files}
    assert fates["juste-avant"][0] == DISCARDED and fates["juste-avant"][1] == "vide (0 octet)"
    assert "acquitté 10.0 s avant la coupure du câble par le nœud écarté" in fates["juste-avant"][2]
    assert fates["bien-avant"][0] == CORRUPTED  # other bytes: nothing explains that


# --- Jepsen's classes, one hand-made history each ------------------------------------------------


def _read_back(r, name, sha=None, refused=None):
    value = {"name": name, "sha256": sha, "served_by": "a", "op": "lecture"}
    if refused:
        value["refused"] = refused
    r.h.append(CLIENT, FTP_UPLOADER, READ_BACK, OK, value)
    return r


def test_other_bytes_at_any_read_are_a_corruption_even_if_a_later_read_is_intact():
    r = Run().at(1).upload("f1").at(2).fault(1).verify("standby a", {"f1": "autres-octets"})
    r.at(80).verify("fin", {"f1": "sha-f1"}).replica({"f1": "sha-f1"}).stop()
    v = r.judged()
    assert v.verdict == "KO" and v.files[0].fate == CORRUPTED and "relu intact ensuite" in v.files[0].note
    assert "1 fichier(s) acquitté(s) corrompu(s)" in v.why and v.totals[FTP_UPLOADER]["corrupted"] == 1


def test_a_read_back_answered_no_such_file_while_the_service_runs_is_a_stale_read():
    r = Run().at(1).upload("f1").at(5)
    _read_back(r, "f1", refused="550 f1: No such file or directory")
    _read_back(r.at(6), "f1", refused="550 f1: Permission denied")  # says nothing of the file
    r.at(20).verify("fin", {"f1": "sha-f1"}).replica({"f1": "sha-f1"}).stop(faults=0)
    v = r.judged()
    assert v.verdict == "KO" and v.files[0].fate == STALE
    assert v.files[0].anomalies == ("absent (relecture pendant la série (+5 s))",)


def test_a_stale_read_while_a_cut_cable_let_both_nodes_serve_is_explained_not_ok():
    r = Run().at(1).upload("f1")
    r.h.append(RUN, ENDURANCE, PLANNED, INFO, {"index": 1, "kind": "cable", "pause": 10})
    r.at(10).h.append(FAULT, "câble débranché a", "start", OK)
    _read_back(r.at(20), "f1", refused="550 f1: No such file or directory")
    r.at(70).h.append(FAULT, "câble débranché a", "end", OK)
    r.at(90).h.append(
        RUN,
        ENDURANCE,
        RECOVERED,
        OK,
        {"index": 1, "kind": "cable", "label": "câble débranché a", "recovered": True, "repairs": [], "left": []},
    )
    r.at(100).verify("fin", {"f1": "sha-f1"}).replica({"f1": "sha-f1"}).stop()
    v = r.judged()
    assert v.verdict == "pertes expliquées" and v.files[0].fate == STALE and v.files[0].explained
    assert "pendant une coupure de câble" in v.why


def test_a_repair_made_by_bascule_is_ko_with_what_was_repaired():
    r = Run().at(1).upload("f1")
    r.h.append(RUN, ENDURANCE, PLANNED, INFO, {"index": 1, "kind": "standby", "pause": 10})
    r.at(10).h.append(FAULT, "standby a", "start", OK)
    r.at(40).h.append(
        RUN,
        ENDURANCE,
        RECOVERED,
        INFO,
        {
            "index": 1,
            "kind": "standby",
            "label": "standby a",
            "recovered": True,
            "repairs": ["crm resource cleanup fs0"],
            "left": [],
        },
    )
    r.at(50).verify("fin", {"f1": "sha-f1"}).replica({"f1": "sha-f1"}).stop()
    v = r.judged()
    assert v.verdict == "KO" and "bascule a dû réparer le cluster" in v.why
    assert "bascule a dû réparer : crm resource cleanup fs0" in v.cause


def test_a_power_cut_loss_alone_is_explained_never_ok():
    r = Run(writeback={"a": 35.0, "b": 35.0}).at(70).upload("recent", node="a")
    r.h.append(RUN, ENDURANCE, PLANNED, INFO, {"index": 1, "kind": "courant", "pause": 10})
    r.at(80).h.append(FAULT, "coupure de courant a", "start", OK)
    r.at(200).verify("fin", {"recent": EMPTY}).replica({"recent": EMPTY}).stop()
    v = r.judged()
    assert v.verdict == "pertes expliquées" and v.exit_code == 3 and v.files[0].fate == "perdu à la coupure de courant"
    assert "options=sync" in v.explanations[0] and v.totals[FTP_UPLOADER]["in_cache"] == 1


def test_a_known_loss_then_an_unreadable_end_stays_ko_not_unknown():
    r = Run().at(1).upload("f1").at(2).fault(1).verify("standby a", {"f1": None})
    r.at(80).verify("fin", {"f1": None}, unreadable=["f1"]).stop()
    v = r.judged()
    assert v.verdict == "KO" and v.files[0].fate == LOST


def test_a_file_no_client_sent_is_unexpected():
    r = Run().at(1).upload("d/f1").at(20).verify("fin", {"d/f1": "sha-d/f1"}, listed=["d/f1", "d/intrus"])
    v = r.replica({"d/f1": "sha-d/f1"}).stop(faults=0).judged()
    assert v.verdict == "KO" and v.unexpected == ("d/intrus",) and "1 fichier(s) inattendu(s)" in v.why


def test_a_file_intact_on_the_serving_node_but_absent_on_the_replica_is_not_replicated():
    r = Run().at(1).upload("f1").at(2).upload("f2").at(20).verify("fin", {"f1": "sha-f1", "f2": "sha-f2"})
    v = r.replica({"f1": "sha-f1", "f2": None}).stop(faults=0).judged()
    assert v.verdict == "KO" and {f.name: f.fate for f in v.files} == {"f1": INTACT, "f2": NOT_REPLICATED}
    assert "1 fichier(s) acquitté(s) absent(s) ou différent(s) sur la réplique" in v.why


def test_drbd_out_of_sync_at_the_end_is_ko_with_its_count():
    r = Run().at(1).upload("f1").at(20).verify("fin", {"f1": "sha-f1"})
    v = r.replica({"f1": "sha-f1"}, oos=4096).stop(faults=0).judged()
    assert v.verdict == "KO" and "DRBD hors synchronisation à la fin : a 4096 Kio" in v.why
    assert "oos 4096 Kio" in v.cause and "drbdadm verify" in v.fix


def test_a_storage_finding_is_ko_even_when_nothing_was_lost():

    r = Run()
    r.h.events[0].value["cluster"] = public(lab_inventory())
    r.h.append(
        RUN,
        ENDURANCE,
        "stockage",
        INFO,
        {
            "resource": "fs0",
            "params": {"device": "/srv/home", "directory": "/home", "fstype": "none", "options": "bind"},
            "nodes": {},
        },
    )
    r.at(1).upload("f1").at(20).verify("fin", {"f1": "sha-f1"})
    v = r.replica({"f1": "sha-f1"}).stop(faults=0).judged()
    assert v.verdict == "KO" and "le stockage ne garde pas" in v.why
    assert "pas /dev/drbd0" in v.cause and "crm configure edit fs0" in v.fix


def test_a_failed_upload_that_landed_whole_is_recovered_not_a_failure():
    r = Run().at(1).upload("ok1").at(2).upload("casse", ok=False, size=10)
    r.at(3).verify("fin", {"ok1": "sha-ok1"}, listed=["ok1", "casse"], sizes={"ok1": 10, "casse": 10})
    v = r.replica({"ok1": "sha-ok1"}).stop().judged()
    assert v.verdict == "OK" and v.totals[FTP_UPLOADER]["recovered"] == 1


def test_without_the_replicas_read_a_clean_night_is_unknown():
    r = Run().at(1).upload("f1").at(20).verify("fin", {"f1": "sha-f1"}).stop(faults=0)
    v = r.judged()
    assert v.verdict == "inconnu" and v.exit_code == 4 and "réplique non relue" in v.why


def test_the_report_says_every_class_the_replay_and_how_the_time_went(tmp_path):
    r = Run().at(1).upload("f1").at(2).upload("f2").at(3).fault(1).verify("standby a", {"f1": None, "f2": "sha-f2"})
    r.h.events[0].value["replay"] = "bascule endurance --duree 10m --graine 7 --pannes standby   (bascule 0.1.0)"
    r.at(80).verify("fin", {"f1": "sha-f1", "f2": "sha-f2"}).replica({"f1": "sha-f1", "f2": None}).stop()
    events = roundtrip_events(r.h.events)
    verdict = judge_endurance(events)
    paths = write_report(verdict, events, tmp_path)
    md = paths["md"].read_text()
    assert (
        "pour rejouer ce tirage : `bascule endurance --duree 10m --graine 7 --pannes standby   (bascule 0.1.0)`" in md
    )
    assert "## Lectures périmées (absent ou vide à une relecture, intact ensuite) : 1" in md
    assert "## Fichiers acquittés absents ou différents sur la réplique : 1" in md
    assert "Le temps de la nuit :" in md and "servi " in md
    saved = json.loads(paths["json"].read_text())
    assert saved["exit_code"] == 1 and set(saved["anomalies"]) == {STALE, NOT_REPLICATED}
    assert "lectures périmées" in paths["html"].read_text()


EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


# --- the schedule and its replay --------------------------------------------------------------------


def test_the_schedule_depends_on_the_seed_and_the_set_of_kinds_not_their_order():

    a, b = schedule(30, ("standby", "kill", "cable")), schedule(30, ("cable", "standby", "kill"))
    assert a == b
    assert {p.target for p in a} == {MASTER, PEER}
    assert all(p.target == MASTER for p in a if p.kind == "kill")  # proftpd runs on the serving node only
    cables = {p.cable_s for p in a if p.kind == "cable"}
    assert len(cables) > 5 and all(30 <= c <= 120 for c in cables)
    assert any(p.overlaps for p in a) and not a[0].overlaps
    # a chain is two faults at most: never two overlapping faults in a row
    assert not any(p.overlaps and q.overlaps for p, q in zip(a, a[1:]))


def test_the_replay_command_holds_everything_that_draws_the_schedule():

    cmd = replay_command(30, ("cable", "standby"), 1800, True, "lab.toml", "0.1.0")
    assert cmd == (
        "bascule endurance --inventaire lab.toml --duree 30m --graine 30 --pannes standby,cable "
        "--composees   (bascule 0.1.0)"
    )
    for seconds in (90, 1800, 5400, 3725):
        assert parse_duration(duration_words(seconds)) == seconds


def test_each_night_gets_its_own_folder(tmp_path):

    now = datetime(2026, 12, 7, 23, 0, 0)
    first = night_folder(tmp_path, now)
    first.mkdir()
    assert first.name == "20261207-230000" and night_folder(tmp_path, now).name == "20261207-230000-2"


def test_the_trend_of_the_nights_is_plotted_by_the_endurance_command_itself(tmp_path, capsys):

    r = Run().at(1).upload("f1").at(2).fault(1).at(50).verify("fin", {"f1": "sha-f1"}).replica({"f1": "sha-f1"}).stop()
    events = roundtrip_events(r.h.events)
    record = trend_record(judge_endurance(events), events)
    assert record.counts["OK"] == 1 and record.counts["absents de la réplique"] == 0
    path = tmp_path / "tendance.jsonl"
    trend.append(path, record)
    trend.append(path, record)
    assert main(["endurance", "--tendance", str(path), "--sortie", str(tmp_path / "nuits")]) == 0
    drawn = list((tmp_path / "nuits" / "tendance").glob("*.png"))
    assert drawn and "tendance de 2 nuit(s)" in capsys.readouterr().out


def test_the_help_says_each_verdict_s_exit_code(capsys):

    with pytest.raises(SystemExit):
        main(["endurance", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert EXIT_CODES == {"OK": 0, "KO": 1, "pertes expliquées": 3, "inconnu": 4}
    for words in ("0 OK", "1 KO", "2 entrée invalide", "3 pertes expliquées", "4 inconnu"):
        assert words in said


# --- what a review of the checker found (each probed on a hand-made history first) -----------------


def test_a_file_the_replica_read_could_not_reach_is_never_ok():
    r = Run().at(1).upload("f1").at(20).verify("fin", {"f1": "sha-f1"})
    r.h.append(
        RUN,
        ENDURANCE,
        VERIFY,
        INFO,
        {
            "after": "réplique",
            "index": None,
            "read": {"f1": None},
            "listed": [],
            "sizes": {},
            "unreadable": ["f1"],
            "replica": True,
            "served_by": ["b"],
        },
    )
    r.h.append(RUN, ENDURANCE, REPLICA, INFO, {"drbd": {}, "switched": True, "served_by": "b"})
    v = r.stop(faults=0).judged()
    assert v.verdict == "inconnu" and v.files[0].fate == "non vérifié" and "réplique" in v.files[0].seen


def test_a_replica_read_served_by_the_wrong_node_is_no_proof():
    r = Run().at(1).upload("f1").at(20).verify("fin", {"f1": "sha-f1"}).replica({"f1": "sha-f1"}, node="a")
    r.h.events[-1].value["error"] = "la relecture a été servie par a, pas seulement par b"
    v = r.stop(faults=0).judged()
    assert v.verdict == "inconnu" and "pas seulement par b" in v.replica


def test_a_loss_read_intact_after_the_power_cut_is_not_the_power_cut_s():
    r = Run(writeback={"a": 35.0, "b": 35.0}).at(70).upload("f1", node="a")
    r.h.append(RUN, ENDURANCE, PLANNED, INFO, {"index": 1, "kind": "courant", "pause": 10})
    r.at(80).h.append(FAULT, "coupure de courant a", "start", OK)
    r.at(150).verify("coupure de courant a", {"f1": "sha-f1"}, index=1)  # survived the cut
    r.at(200).verify("fin", {"f1": None}).replica({"f1": None}).stop()
    v = r.judged()
    assert v.verdict == "KO" and v.files[0].fate == LOST


def test_a_hostname_with_its_domain_is_the_inventory_s_node():
    r = Run(writeback={"a": 35.0, "b": 35.0}).at(70).upload("f1", node="a.lab.example")
    r.h.append(RUN, ENDURANCE, PLANNED, INFO, {"index": 1, "kind": "courant", "pause": 10})
    r.at(80).h.append(FAULT, "coupure de courant a", "start", OK)
    r.at(200).verify("fin", {"f1": None}).replica({"f1": None}).stop()
    assert r.judged().files[0].fate == "perdu à la coupure de courant"


# --- nights captured on the embedded lab through an inventory, 2026-12-07 (tests/fixtures/README.md) ---


def _judged_again(run, tmp_path):

    return json.loads(rejudge(CAPTURED / run, tmp_path)["json"].read_text())


def test_a_captured_split_brain_night_is_explained_losses_never_ok(tmp_path):
    """--pannes standby,kill,cable --composees --graine 5, 12 min: the master's cable out 118 s, a split
    brain, document 3 kept hdintralab01; 39 acknowledged files discarded (the master's, 7 during the cut
    and 32 still in its page cache when it went), each client naming its node, curl included."""
    j = _judged_again("endurance-cable-split-brain-graine-5", tmp_path)
    assert (j["verdict"], j["exit_code"]) == ("pertes expliquées", 3)
    assert j["totals"]["envois-ftp"]["discarded"] == 26 and j["totals"]["envois-curl"]["discarded"] == 13
    assert all(f["served_by"] for f in j["anomalies"]["écarté par le split brain"])  # curl named its node
    assert "STONITH" in j["explanations"][0] and j["replica"].startswith("tout relu sur hdintralab01")


def test_a_captured_kill_only_night_on_a_home_outside_drbd_is_ko_found_on_the_replica(tmp_path):
    """home-sur-disque-local, --pannes kill, 8 min: the service restarts in place, every read through
    the VIP is intact; the read on the replica after a switchover finds none of the 101 files."""
    j = _judged_again("endurance-home-sur-disque-local-kill-replique", tmp_path)
    assert (j["verdict"], j["exit_code"]) == ("KO", 1)
    assert j["why"].startswith("101 fichier(s) acquitté(s) absent(s) ou différent(s) sur la réplique")
    assert j["totals"]["envois-ftp"]["not_replicated"] == 68 and j["totals"]["envois-ftp"]["intact"] == 0
    assert "/var/local/bascule-home" in j["cause"] and j["fix"].startswith("crm configure edit fs0")


def test_a_captured_power_cut_night_is_explained_losses_each_counted_on_its_cut(tmp_path):
    """--pannes courant --graine 3, 12 min: two power cuts of the master; 73 acknowledged files were
    still in its page cache (empty or absent afterwards, on both nodes). Never OK: « pertes expliquées »,
    with what would make uploads durable; each loss on the line of the cut that explains it."""
    j = _judged_again("endurance-coupures-de-courant-graine-3", tmp_path)
    assert (j["verdict"], j["exit_code"]) == ("pertes expliquées", 3)
    assert j["totals"]["envois-ftp"]["in_cache"] + j["totals"]["envois-curl"]["in_cache"] == 73
    assert [f["in_cache"] for f in j["faults"]] == [54, 19] and "options=sync" in j["explanations"][0]
    assert j["totals"]["envois-ftp"]["lost"] == 0 and j["replica"].startswith("tout relu sur hdintralab01")


def test_a_compound_chain_s_time_is_counted_once_in_how_the_night_went():
    r = Run().at(1).upload("f1")
    r.h.append(RUN, ENDURANCE, PLANNED, INFO, {"index": 1, "kind": "redemarrage", "pause": 10})
    r.at(10).h.append(FAULT, "redémarrage b", "start", OK)
    r.h.append(RUN, ENDURANCE, PLANNED, INFO, {"index": 2, "kind": "standby", "pause": 0})
    r.at(40).h.append(FAULT, "standby a", "start", OK)
    r.at(100).h.append(
        RUN,
        ENDURANCE,
        RECOVERED,
        OK,
        {
            "index": 2,
            "kind": "standby",
            "label": "standby a",
            "recovered": True,
            "repairs": [],
            "left": [],
            "chain": [1, 2],
        },
    )
    v = r.at(110).verify("fin", {"f1": "sha-f1"}).replica({"f1": "sha-f1"}).stop().judged()
    assert v.time_spent["faults"] == 90.0  # from the first fault's start to the chain's audit, once
