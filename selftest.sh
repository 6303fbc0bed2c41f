#!/usr/bin/env bash
# The project's own tests (no VMs, about a minute): the library against a local FTP server
# (pyftpdlib on 127.0.0.1) and crm_mon/DRBD output captured from the real lab.
set -uo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh || exit 2
# the code's habits first (pyproject.toml [tool.ruff]: lint, then the format it keeps), in a few seconds
.venv/bin/ruff check --quiet . || exit 1
.venv/bin/ruff format --check --quiet . || { echo "selftest: ruff format . reformaterait ces fichiers" >&2; exit 1; }
exec .venv/bin/pytest tests/ -p no:cacheprovider "$@"
