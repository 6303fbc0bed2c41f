"""The endurance run's clients against a real FTP server (pyftpdlib on 127.0.0.1): the FTP uploader
and curl record each acknowledged upload, the server's outage shows as failed uploads, and the
read-back finds a file deleted or changed on the server; the checker then says so."""

from __future__ import annotations

import shutil
import time

import pytest
from test_ftp import ServerThread, client_for

from bascule.cluster.uploads import CurlUploader, FtpUploader, contents, read_back_all
from bascule.judging.endurance import judge_endurance
from bascule.record.endurance import CURL_UPLOADER, ENDURANCE, FTP_UPLOADER, START, STOP, UPLOAD, VERIFY
from bascule.record.history import CLIENT, INFO, OK, RUN, History, roundtrip_events
from bascule.waits import wait_until


def _acked(history, process):
    return [
        e.value["name"]
        for e in history.events
        if e.source == CLIENT and e.process == process and e.op == UPLOAD and e.outcome == OK
    ]


def test_uploads_are_acknowledged_then_a_lost_and_a_changed_file_are_found(ftpd, tmp_path):
    history = History()
    history.append(RUN, ENDURANCE, START, INFO, {"seed": 1, "duration_s": 5})
    # the server's /etc/hostname, as the account reads it on a lab node: each client names its node
    (ftpd.home / "etc").mkdir()
    (ftpd.home / "etc" / "hostname").write_text("noeud-essai\n")
    client = client_for(ftpd.port)
    uploaders = [FtpUploader(client, history, "Documents/e/ftp", period=0.1, size=512)]
    if shutil.which("curl"):
        uploaders.append(CurlUploader(client, history, "Documents/e/curl", period=0.2, size=512))
    for u in uploaders:
        u.start()
    wait_until(lambda: len(_acked(history, FTP_UPLOADER)), lambda n: n >= 6, "six envois", deadline=20, interval=0.1)
    if len(uploaders) == 2:
        wait_until(
            lambda: len(_acked(history, CURL_UPLOADER)), lambda n: n >= 2, "deux envois curl", deadline=20, interval=0.1
        )
    for u in uploaders:
        u.stop()
    for u in uploaders:
        u.join(timeout=20)
    names = _acked(history, FTP_UPLOADER)
    # what a server that loses data does: one file gone, one rewritten
    (ftpd.home / names[1]).unlink()
    (ftpd.home / names[2]).write_bytes(b"x" * 512)  # same size, other bytes
    acked = [(e.value["name"], e.value["sha256"]) for e in history.events if e.op == UPLOAD and e.outcome == OK]
    value = read_back_all(client, acked, ["Documents/e/ftp", "Documents/e/curl"], deadline=20)
    assert value["read"][names[1]] is None and value["read"][names[0]] is not None
    history.append(RUN, ENDURANCE, VERIFY, INFO, {"after": "fin", **value})
    history.append(RUN, ENDURANCE, STOP, INFO, {"reason": "durée atteinte", "faults": 0})
    verdict = judge_endurance(roundtrip_events(history.events))
    assert verdict.verdict == "KO"
    assert sorted((f.name, f.seen[:7]) for f in verdict.lost()) == [(names[1], "absent"), (names[2], "contenu")]
    assert (ftpd.home / names[0]).read_bytes() == contents(names[0], 512)
    if len(uploaders) == 2:
        assert verdict.totals[CURL_UPLOADER]["acked"] >= 2 and verdict.totals[CURL_UPLOADER]["lost"] == 0
        # curl read the node's name and uploaded on the same connection: it names its node too
        curl_acks = [e for e in history.events if e.process == CURL_UPLOADER and e.op == UPLOAD and e.outcome == OK]
        assert {e.value["served_by"] for e in curl_acks} == {"noeud-essai"}
    assert value["served_by"] == ["noeud-essai"]


def test_an_outage_shows_as_failed_uploads_and_the_uploader_comes_back(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    srv = ServerThread(home)
    port = srv.port
    history = History()
    up = FtpUploader(client_for(port), history, "Documents/e/ftp", period=0.1, size=256)
    up.start()
    try:
        wait_until(
            lambda: len(_acked(history, FTP_UPLOADER)), lambda n: n >= 2, "deux envois", deadline=20, interval=0.1
        )
        srv.stop()
        down_at = time.monotonic()
        wait_until(
            lambda: [e for e in history.events if e.op == UPLOAD and e.outcome != OK],
            bool,
            "un envoi échoué",
            deadline=20,
            interval=0.1,
        )
        srv = ServerThread(home, port=port)
        before = len(_acked(history, FTP_UPLOADER))
        wait_until(
            lambda: len(_acked(history, FTP_UPLOADER)),
            lambda n: n > before,
            "un envoi après le retour",
            deadline=20,
            interval=0.1,
        )
        assert time.monotonic() - down_at < 20
    finally:
        up.stop()
        up.join(timeout=20)
        srv.stop()
    failed = [e for e in history.events if e.op == UPLOAD and e.outcome != OK]
    assert failed and all(
        e.value["failed_at"] in ("connexion", "identification", "lecture", "écriture") for e in failed
    )


def test_the_curl_password_never_reaches_its_command_line(ftpd):
    if not shutil.which("curl"):
        pytest.skip("curl absent")
    history = History()
    up = CurlUploader(client_for(ftpd.port), history, "Documents/e/curl", period=0.2, size=64)
    netrc = up._netrc
    assert oct(netrc.stat().st_mode & 0o777) == "0o600"
    up.start()
    wait_until(
        lambda: len(_acked(history, CURL_UPLOADER)), lambda n: n >= 1, "un envoi curl", deadline=20, interval=0.1
    )
    up.stop()
    up.join(timeout=20)
    assert not netrc.exists()  # removed with its directory when the uploader stops
    assert "S3cr3t" not in repr([e for e in history.events])
