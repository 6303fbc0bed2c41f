#!/usr/bin/env bash
# The project's own tests (no VMs, about a minute): the library against a local FTP server
# (pyftpdlib on 127.0.0.1) and crm_mon/DRBD output captured from the real lab.
set -uo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh || exit 2
exec .venv/bin/pytest tests/ -p no:cacheprovider "$@"
