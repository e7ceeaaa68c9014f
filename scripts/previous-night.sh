#!/usr/bin/env bash
# Downloads the merged results of the latest earlier nightly run into DIR
# (the `nightly-merged` artifact); leaves DIR absent when there is none.
# Needs the GitHub CLI and GH_TOKEN; outside GitHub Actions it does nothing.
set -uo pipefail
dir=${1:?usage: previous-night.sh DIR}
if [ -z "${GITHUB_ACTIONS:-}" ] || ! command -v gh >/dev/null; then
  echo "previous-night: not on GitHub Actions (or no gh): no previous night"
  exit 0
fi
for id in $(gh run list --workflow nightly.yml --limit 20 --json databaseId --jq '.[].databaseId'); do
  [ "$id" = "${GITHUB_RUN_ID:-}" ] && continue
  if gh run download "$id" --name nightly-merged --dir "$dir" 2>/dev/null; then
    echo "previous-night: results of run $id in $dir"
    exit 0
  fi
  rm -rf "$dir"
done
echo "previous-night: no earlier nightly-merged artifact"
