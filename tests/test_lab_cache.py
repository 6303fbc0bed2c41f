"""The lab's baseline snapshot (bascule/lab/cache.py) against a hypervisor that records its virsh
calls (hand-written: the real path is timed by bench/lab_timings.py --cached)."""

import subprocess
import threading

from bascule.lab.cache import SNAPSHOT, BaselineCache, build_key


class FakeHypervisor:
    def __init__(self, state, failing: set[str] = frozenset()):
        self.state = state
        self.node_names = ("intralab01", "hdintralab01")
        self.calls: list[tuple[str, ...]] = []
        self.failing = failing
        self.lock = threading.Lock()

    def domain(self, node):
        return f"bascule-{node}"

    def networks(self):
        return ("bascule-lab", "bascule-mgmt")

    def virsh(self, *args, check=True, timeout=60):
        with self.lock:
            self.calls.append(args)
        rc = 1 if args[0] in self.failing else 0
        return subprocess.CompletedProcess(["virsh", *args], rc, "", "erreur simulée" if rc else "")

    def verbs(self):
        return [c[0] for c in self.calls]


def test_key_follows_every_input(tmp_path):
    f = tmp_path / "node.sh"
    f.write_text("a")
    first = build_key(["box-1", "pw"], [f])
    assert build_key(["box-1", "pw"], [f]) == first
    assert build_key(["box-2", "pw"], [f]) != first
    f.write_text("b")
    assert build_key(["box-1", "pw"], [f]) != first


def test_take_pauses_both_then_snapshots_then_resumes_and_writes_the_key(tmp_path):
    hv = FakeHypervisor(tmp_path)
    cache = BaselineCache(hv, "k1", print)
    cache.take()
    verbs = hv.verbs()
    assert verbs[-6:] == ["suspend", "suspend", "snapshot-create-as", "snapshot-create-as", "resume", "resume"]
    assert ("snapshot-create-as", "bascule-intralab01", "--name", SNAPSHOT, "--atomic") in hv.calls
    assert cache.present()
    assert not BaselineCache(hv, "k2", print).present()  # built from something else: not used


def test_failed_snapshot_resumes_the_vms_and_keeps_no_key(tmp_path):
    hv = FakeHypervisor(tmp_path, failing={"snapshot-create-as"})
    said = []
    cache = BaselineCache(hv, "k1", said.append)
    cache.take()
    assert hv.verbs()[-2:] == ["resume", "resume"]
    assert not cache.file.exists() and "non pris" in said[0]


def test_restore_reverts_paused_then_resumes_both(tmp_path):
    hv = FakeHypervisor(tmp_path)
    assert BaselineCache(hv, "k1", print).restore() == ""
    verbs = hv.verbs()
    assert verbs == ["net-start", "net-start", "snapshot-revert", "snapshot-revert", "resume", "resume"]
    assert all("--paused" in c for c in hv.calls if c[0] == "snapshot-revert")


def test_restore_says_why_it_could_not(tmp_path):
    hv = FakeHypervisor(tmp_path, failing={"snapshot-revert"})
    why = BaselineCache(hv, "k1", print).restore()
    assert why.startswith("retour à l'instantané impossible") and "resume" not in hv.verbs()
