#!/usr/bin/env python3
"""Times the embedded lab: `--cold` removes the VMs and the cached box first (a bare lab, the host
packages aside); without it, times `up` on the lab as it is (on a lab at baseline: the warm path).

    .venv/bin/python bench/lab_timings.py --cold      # box build, boot, DRBD sync, baseline
    .venv/bin/python bench/lab_timings.py             # up on a lab already at its baseline
"""
import subprocess
import sys
import time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
from bascule.errors import BasculeError  # noqa: E402
from bascule.lab import EmbeddedLab  # noqa: E402

t = time.monotonic()
subprocess.run(["bash", str(root / "infra" / "install-host.sh")], check=True)
host = time.monotonic() - t
lab = EmbeddedLab()
try:
    if "--cold" in sys.argv:
        lab.down(destroy_box=True)
        print("lab and cached box removed")
    inv = lab.up()
except BasculeError as exc:
    sys.exit(f"bascule: {exc}")
print(f"{'host packages (install-host.sh)':<34} {host:7.1f} s")
for phase, secs in lab.timings.items():
    print(f"{phase:<34} {secs:7.1f} s")
