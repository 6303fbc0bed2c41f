#!/usr/bin/env bash
# The acceptance suite: installs what it needs, brings the embedded lab to its baseline (unless
# --inventory names an existing cluster), runs every scenario, writes the completed test tables and
# renders the Allure report.
#   ./acceptance.sh                          the embedded lab
#   ./acceptance.sh --inventory lab.toml     an existing lab cluster
#   ./acceptance.sh -k q2                    any pytest option: here only the Q2 table
#   ./acceptance.sh --debian 13              the embedded lab on Debian 13 (Pacemaker 3, crmsh 5)
#   BASCULE_REPORTS=reports/debian13 ./acceptance.sh …   the tables and the Allure report go there
#     (set the directory this way, not with --bascule-reports, so that both land in it)
set -uo pipefail
cd "$(dirname "$0")"
reports=${BASCULE_REPORTS:-reports}
bash scripts/setup.sh --lab || exit 2
.venv/bin/pytest features/ -p no:cacheprovider --bascule-reports "$reports" --alluredir="$reports/allure-results" \
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
    || echo "bascule: the Allure report could not be rendered (results are in $reports/allure-results)"
fi
exit $rc
