"""A move's row ends where the client is served again after the cluster finished the move.

The run in tests/fixtures/runs/redemarrage-propre/ is captured (a clean reboot of the master on the
embedded lab, through --inventory). The variants below are derived from it by hand, each one field:
- `failback_seen_late`: what CI lived on a loaded host (2026-12-06): the move's wait read crm_mon late
  (104.1 s, the journal said the move ended at 56.9 s), by which time the rebooted master was back and
  the failback had stopped proftpd on the slave: the client's « Connection reset by peer » from 85 s on,
  up to the row's verdict. The row used to say « FTP toujours indisponible à la fin de la mesure », KO.
  The hdintralab01 journal the row holds gets the failback's first operation, « Requesting local
  execution of stop operation for serviceFTP on hdintralab01 » at 85.5 s, in its own format.
- the same client failures without that journal line: the service came back once, then was lost
  again with nothing in the journal to explain it: KO, as before.
- after the move, every read says the old master served it (an FTP server outside the cluster's
  control): still KO.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bascule.reporting.rejudge import rejudge

RUN = Path(__file__).parent / "fixtures" / "runs" / "redemarrage-propre"
FAULT_START = 13.796  # the reboot's « start » event
MOVE_VERDICT = 442  # the index of the move row's verdict


def derived(tmp_path: Path, change, journal_line_at: float | None = None) -> Path:
    target = tmp_path / "run"
    shutil.copytree(RUN, target)
    lines = []
    for line in (RUN / "historique.jsonl").read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event.get("source") == "client" and event.get("index", MOVE_VERDICT) < MOVE_VERDICT:
            change(event)
        if journal_line_at is not None and event.get("index") == MOVE_VERDICT:
            for journal in event["value"]["observation"]["value"]["journals"]:
                if journal["node"] == "hdintralab01":  # on the node's clock: history time + t0 + its offset
                    at = journal["t0"] + FAULT_START + journal_line_at + journal["offset"]
                    journal["text"] += (
                        f"{at:.6f} hdintralab01 pacemaker-controld[909]:  notice: Requesting local "
                        "execution of stop operation for serviceFTP on hdintralab01\n"
                    )
        lines.append(json.dumps(event, ensure_ascii=False))
    (target / "historique.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def reboot_row(directory: Path, tmp_path: Path) -> dict:
    rows = json.loads(rejudge(directory, tmp_path / "rejuge")["json"].read_text(encoding="utf-8"))["rows"]
    return next(r for r in rows if r["action"] == "le serveur maître est redémarré")


def test_the_captured_reboot_is_ok(tmp_path):
    row = reboot_row(RUN, tmp_path)
    assert row["status"] == "OK"
    assert "servi par intralab01 (à 0,5 s) puis hdintralab01" in row["observed"]
    assert "nouvelle perte" not in row["observed"]


def reset_from_85_s(event):
    if event["t"] >= FAULT_START + 85:
        event.update(
            outcome="fail",
            value={"failed_at": "connexion", "served_by": None},
            error="Connection reset by peer",
            end=event["t"] + 0.002,
        )


def test_a_failback_seen_before_the_move_is_not_counted_in_the_move(tmp_path):
    row = reboot_row(derived(tmp_path, reset_from_85_s, journal_line_at=85.5), tmp_path)
    assert row["status"] == "OK", row["observed"]
    assert "toujours indisponible" not in row["observed"].split(" ; puis le cluster")[0]
    said = row["observed"].split(" ; puis le cluster")[1]
    assert said.startswith(" a commencé à retirer les ressources de hdintralab01 (stop serviceFTP à 85,5 s")
    assert "servi pour la dernière fois à 8" in said and "toujours à la fin de la mesure : pas de connexion" in said


def test_a_service_lost_again_with_nothing_in_the_journal_stays_ko(tmp_path):
    row = reboot_row(derived(tmp_path, reset_from_85_s), tmp_path)
    assert row["status"] == "KO"
    assert "FTP toujours indisponible à la fin de la mesure" in row["observed"]


def test_a_client_served_by_the_old_master_after_the_move_stays_ko(tmp_path):
    def old_master(event):
        value = event.get("value")
        if event["t"] >= FAULT_START + 50 and isinstance(value, dict) and value.get("served_by") == "hdintralab01":
            value["served_by"] = "intralab01"

    row = reboot_row(derived(tmp_path, old_master), tmp_path)
    assert row["status"] == "KO"
    assert "toujours servi par intralab01" in row["observed"]
