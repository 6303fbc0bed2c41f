#!/usr/bin/env bash
# The acceptance suite: installs what it needs, brings the embedded lab to its baseline (unless an
# inventory names an existing cluster), runs every scenario, writes the completed test tables and
# renders the Allure report.
#   ./acceptance.sh                                   the embedded lab
#   ./acceptance.sh --bascule-inventaire lab.toml     an existing lab cluster (--inventory works too)
#   ./acceptance.sh -k q2                             any pytest option: here only the Q2 table
#   ./acceptance.sh --bascule-debian 13               the embedded lab on Debian 13 (Pacemaker 3, crmsh 5)
#   BASCULE_REPORTS=reports/debian13 ./acceptance.sh …   the tables and the Allure report go there
#     (set the directory this way, not with --bascule-rapports, so that both land in it)
# With an inventory, only the Python packages (.venv) and Allure (npm) are installed: no VM stack, and
# no system configuration is changed on a machine that only tests a cluster elsewhere.
set -uo pipefail
cd "$(dirname "$0")"
reports=${BASCULE_REPORTS:-reports}
uses_inventory() {
  local a
  for a in "$@"; do
    case $a in --bascule-inventaire|--bascule-inventaire=*|--inventory|--inventory=*) return 0 ;; esac
  done
  # the inventory set in pytest's ini file (bascule_inventaire = …), or with -o bascule_inventaire=…
  [[ " $* " == *" bascule_inventaire="* ]] && return 0
  grep -qsE '^[[:space:]]*bascule_inventaire[[:space:]]*=[[:space:]]*[^[:space:]]' pytest.ini pyproject.toml tox.ini setup.cfg
}
if uses_inventory "$@"; then
  bash scripts/setup.sh --allure || exit 2
else
  bash scripts/setup.sh --lab || exit 2
fi
.venv/bin/pytest features/ -p no:cacheprovider --bascule-rapports "$reports" --alluredir="$reports/allure-results" \
    --clean-alluredir "$@"
rc=$?
if [[ -d "$reports/allure-results" ]] && ls "$reports/allure-results"/*-result.json >/dev/null 2>&1; then
  # named after the lab and the cluster, its suites grouped by feature (Q2, Q5, extra cases…)
  cluster=$(.venv/bin/python -c 'import json, sys; print(json.load(open(sys.argv[1])).get("cluster", ""))' \
      "$reports/tableau-de-tests.json" 2>/dev/null)
  name="Haute disponibilité d'un serveur FTP${cluster:+ — $cluster}"
  npx --no-install allure awesome "$reports/allure-results" -o "$reports/allure-report" --report-name "$name" \
      --group-by feature >/dev/null 2>&1 \
    && npx --no-install allure awesome "$reports/allure-results" -o "$reports/allure-rendu" --single-file \
      --report-name "$name" --group-by feature >/dev/null 2>&1 \
    && echo "bascule: rapport Allure → $reports/allure-report/index.html ; fichier unique à rendre → $reports/allure-rendu/index.html" \
    || echo "bascule: le rapport Allure n'a pas pu être produit (les résultats sont dans $reports/allure-results)"
fi
exit $rc
