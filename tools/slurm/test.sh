#!/usr/bin/env bash
# `mcmr slurm` against a real one-node Slurm (issue 21): the smoke runs of SPEC go out as a job
# array with a dependent gather job, and the gathered reports and every run's results must equal
# a sequential `mcmr reproduce` of the same runs, byte for byte.
#
#   bash tools/slurm/test.sh MCMR [SPEC [EXPERIMENT ...]]
#
# Starts the cluster with tools/slurm/one-node.sh (installing Slurm as root when missing) and
# stops it at the end. Every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/../.."

mcmr="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
spec="${2:-papers/baselines/baselines.mcmr}"
shift $(( $# < 2 ? $# : 2 ))
select=()
for e in "$@"; do select+=(--experiment "$e"); done
paper="$(basename "$spec" .mcmr)"

work="$(mktemp -d)"
cluster="$work/cluster"
eval "$(bash tools/slurm/one-node.sh start "$cluster")"
trap 'bash tools/slurm/one-node.sh stop "$cluster"' EXIT

echo "== the plan"
"$mcmr" reproduce "$spec" "${select[@]}" --out "$work/array" --plan >"$work/plan.json"
runs=$(grep -c '"task":' "$work/plan.json")
echo "$runs run(s)"

echo "== submitted as a job array and a gather job"
read -r array gather < <("$mcmr" slurm "$spec" "${select[@]}" --out "$work/array" --submit | tail -n 1)
echo "array job $array, gather job $gather"

echo "== the same runs, sequentially"
"$mcmr" reproduce "$spec" "${select[@]}" --out "$work/seq" --quiet >/dev/null

# The array has had the machine alongside the sequential runs; give it at most 20 minutes more.
deadline=$(( $(date +%s) + 1200 ))
while squeue -h -j "$array,$gather" 2>/dev/null | grep -q .; do
  if [ "$(date +%s)" -gt "$deadline" ]; then
    echo "error: the Slurm jobs did not finish in time" >&2
    squeue >&2 || true
    scancel "$array" "$gather" || true
    exit 1
  fi
  sleep 2
done
for log in "$work"/array/slurm/*.log; do
  echo "---- $log"
  cat "$log"
done

echo "== gathered reports equal the sequential ones"
status=0
for f in smoke-summary.md smoke-summary.tex smoke-published.md smoke-comparison.md; do
  if [ -e "$work/seq/$paper/$f" ] || [ -e "$work/array/$paper/$f" ]; then
    cmp "$work/seq/$paper/$f" "$work/array/$paper/$f" && echo "same: $f" || status=1
  fi
done
for seq in "$work/seq/$paper"/figures/*.png; do
  [ -e "$seq" ] || continue
  cmp "$seq" "$work/array/$paper/figures/$(basename "$seq")" && echo "same: figures/$(basename "$seq")" || status=1
done
test -s "$work/array/$paper/smoke-summary.md" || { echo "error: no gathered summary" >&2; status=1; }
n=0
for seq in "$work"/seq/"$paper"/*/smoke/*/results.json; do
  arr="$work/array/${seq#"$work/seq/"}"
  cmp "$seq" "$arr" || status=1
  n=$((n + 1))
done
echo "$n run result(s) compared"
[ "$n" -eq "$runs" ] || { echo "error: $n sequential results for $runs planned runs" >&2; status=1; }

echo "== mcmr check reads the gathered runs"
if [ -d reference_results/"$paper" ] && [ ${#select[@]} -eq 0 ]; then
  "$mcmr" check --paper "$paper" --out "$work/check" --runs "$work/array" || status=1
fi
if [ "$status" -ne 0 ]; then
  echo "error: the Slurm reproduction differs from the sequential one (work folder $work)" >&2
  exit 1
fi
rm -rf "$work/array" "$work/seq" "$work/check"
echo "the Slurm reproduction equals the sequential one"
