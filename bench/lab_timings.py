#!/usr/bin/env python3
"""Times the embedded lab: `--cold` removes the VMs and the cached box first (a bare lab, the host
packages aside); without it, times `up` on the lab as it is (on a lab at baseline: the warm path).
For each phase it also prints the host's load and each VM's share of a CPU (libvirt's cpu.time),
sampled every second: a phase that is slow because the host is busy says so.

    .venv/bin/python bench/lab_timings.py --cold      # box build, boot, DRBD sync, baseline
    .venv/bin/python bench/lab_timings.py             # up on a lab already at its baseline
    .venv/bin/python bench/lab_timings.py --cached    # down (the VMs kept with their baseline
                                                      # snapshot), then up: the cached path
    .venv/bin/python bench/lab_timings.py --debian 13 # the Debian 13 lab
"""

import subprocess
import sys
import threading
import time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
from bascule.errors import BasculeError  # noqa: E402
from bascule.lab.embedded import EmbeddedLab  # noqa: E402


class Sampler:
    """Every second: (monotonic time, host load over 1 min, {domain: cpu seconds})."""

    def __init__(self):
        self.samples: list[tuple[float, float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(1.0):
            load = float(Path("/proc/loadavg").read_text().split()[0])
            cpu = {}
            res = subprocess.run(
                ["virsh", "-c", "qemu:///system", "domstats", "--cpu-total"], capture_output=True, text=True, timeout=20
            )
            dom = None
            for line in res.stdout.splitlines():
                line = line.strip()
                if line.startswith("Domain:"):
                    dom = line.split("'")[1].removeprefix("bascule-")
                elif line.startswith("cpu.time=") and dom:
                    cpu[dom] = int(line.split("=")[1]) / 1e9
            self.samples.append((time.monotonic(), load, cpu))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)

    def during(self, start: float, end: float) -> str:
        inside = [s for s in self.samples if start <= s[0] <= end]
        if not inside:
            return ""
        load = sum(s[1] for s in inside) / len(inside)
        first, last = inside[0], inside[-1]
        shares = []
        for dom in sorted(last[2]):
            if dom in first[2] and last[0] > first[0]:
                shares.append(f"{dom} {100 * (last[2][dom] - first[2][dom]) / (last[0] - first[0]):3.0f} %")
        return f"host load {load:4.2f}" + (f"; VM CPU {', '.join(shares)}" if shares else "")


t = time.monotonic()
subprocess.run(["bash", str(root / "infra" / "install-host.sh")], check=True)
host = time.monotonic() - t
lab = EmbeddedLab(debian=sys.argv[sys.argv.index("--debian") + 1] if "--debian" in sys.argv else None)
with Sampler() as sampler:
    try:
        if "--cold" in sys.argv:
            lab.down(destroy_box=True)
            print("lab and cached box removed")
        elif "--cached" in sys.argv:
            t = time.monotonic()
            kept = lab.down()
            print(
                f"lab down in {time.monotonic() - t:.1f} s; "
                + ("VMs kept with their baseline snapshot" if kept else "no baseline snapshot: the VMs were removed")
            )
        inv = lab.up()
    except BasculeError as exc:
        sys.exit(f"bascule: {exc}")
print(f"{'host packages (install-host.sh)':<34} {host:7.1f} s")
for phase, start, end in lab.spans:
    print(f"{phase:<34} {end - start:7.1f} s   {sampler.during(start, end)}")
print(f"{'total':<34} {lab.timings['total']:7.1f} s")
print(
    "goal: lab up (not cached at baseline) is part of bare machine -> report <= 20 min; "
    "on a cached lab (--cached), <= 90 s (issue 22)"
)
