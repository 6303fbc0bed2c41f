#!/usr/bin/env bash
# Installs what bascule needs on a fresh Debian 12 machine, idempotently:
#   scripts/setup.sh            Python venv with bascule and its pinned packages (the project's tests)
#   scripts/setup.sh --lab      the above, plus the embedded lab's Debian packages and Allure (npm)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == --lab ]]; then
  bash infra/install-host.sh
  if [[ ! -x node_modules/.bin/allure ]]; then
    echo "bascule: installing the Allure command line (npm, no Java needed)"
    npm install --no-audit --no-fund --silent >/dev/null
  fi
fi
if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
fi
if [[ ! -x .venv/bin/pytest ]] || [[ pyproject.toml -nt .venv/.bascule-installed ]]; then
  echo "bascule: installing the Python packages into .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[test]'
  touch .venv/.bascule-installed
fi
