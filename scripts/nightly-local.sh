#!/usr/bin/env bash
# The nightly workflow on one machine, shard after shard, with the same
# commands the GitHub jobs run:
#   bash scripts/nightly-local.sh [PREVIOUS_MERGED_DIR] [--shard-minutes N]
# Writes plan.json, results/<shard>/<run>/, merged/ and, given a previous
# night's merged directory, merged/diff/. Exits with the highest code of a
# shard, the merge and the diff (1: checks or budgets failed; 3: something
# errored; see `node bin/edgeproof.js --help`).
set -uo pipefail
cd "$(dirname "$0")/.."
previous=${1:-}
shift || true
status=0
worst() { if [ "$1" -gt "$status" ]; then status=$1; fi; }
node bin/edgeproof.js matrix plan --file fixtures/matrix/nightly.yaml "$@" > plan.json || exit $?
shards=$(node -e 'for (const s of JSON.parse(require("fs").readFileSync("plan.json","utf8")).include) console.log(s.shard)')
for shard in $shards; do
  echo "== $shard"
  node -e 'const p = JSON.parse(require("fs").readFileSync("plan.json","utf8")); process.stdout.write(p.include.find((s) => s.shard === process.argv[1]).script)' "$shard" | bash || worst $?
done
node bin/edgeproof.js merge $(for s in $shards; do echo "results/$s"; done) --plan plan.json --out merged || worst $?
if [ -n "$previous" ]; then
  node bin/edgeproof.js diff "$previous" merged --out merged/diff || worst $?
fi
exit $status
