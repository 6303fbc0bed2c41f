#!/usr/bin/env bash
# Installs what bascule needs on a fresh Debian 12 machine, idempotently, and nothing more:
#   scripts/setup.sh            Python venv with bascule and its pinned packages (the project's tests,
#                               the bascule command)
#   scripts/setup.sh --allure   the above, plus Allure's command line (npm; nodejs and npm from Debian if
#                               missing): what testing an existing cluster through an inventory needs
#   scripts/setup.sh --lab      the above, plus the embedded lab's Debian packages (qemu, libvirt,
#                               vagrant) and libvirt's configuration: only for the embedded lab
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
if [[ $mode == --lab ]]; then
  bash infra/install-host.sh
fi
if [[ $mode == --lab || $mode == --allure ]]; then
  if ! command -v npm >/dev/null 2>&1; then  # node/npm may come from outside Debian: any working npm will do
    echo "bascule: installation de nodejs et npm (paquets Debian) pour le rapport Allure"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  if [[ ! -x node_modules/.bin/allure ]]; then
    echo "bascule: installation de la ligne de commande Allure (npm, sans Java)"
    # the tables do not need Allure: a failed install is said in one line, and the run goes on
    if ! log=$(npm install --no-audit --no-fund --loglevel=error 2>&1); then
      echo "bascule: Allure n'a pas pu être installé, les tableaux de tests seront écrits sans le rapport Allure :" \
           "$(grep -m1 -E 'ERR!|error' <<<"$log" | sed 's/^npm ERR! //')"
    fi
  fi
fi
if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
fi
if [[ ! -x .venv/bin/pytest ]] || [[ pyproject.toml -nt .venv/.bascule-installed ]]; then
  echo "bascule: installation des paquets Python dans .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[test]'
  touch .venv/.bascule-installed
fi
