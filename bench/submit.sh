#!/usr/bin/env bash
# Benchmark: time to submit a sweep of 1,000 and 10,000 trials with ONE `hpsweep run`
# (a few job arrays, split at MaxArraySize) vs. the naive loop of one `sbatch` per trial.
# The loop is measured on a sample (default 1,000 sbatch calls, all held so nothing runs:
# the 1,000-trial loop is measured in full) and extrapolated linearly to 10,000 trials (a
# real loop only gets slower per call as the queue grows, so this favours the baseline);
# each hpsweep submission is timed 3 times and the median is used. Everything submitted
# is cancelled at the end. Needs the local cluster (`hpsweep cluster up`) and a build with
# hpsweep + hpsweep-launch on PATH (or HPSWEEP_BUILD_DIR). Prints ratios, asserts nothing.
#
#   bench/submit.sh [SAMPLE]
set -euo pipefail
sample="${1:-1000}"
repeats=3
build="${HPSWEEP_BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build}"
export PATH="$build/bin:$PATH"
eval "$(hpsweep cluster env)"
work="$(mktemp -d "${TMPDIR:-/tmp}/hpsweep-bench-submit.XXXXXX")"
export HPSWEEP_HOME="$work/runs"
loop_jobs=()
sweep_names=()
cleanup() {
    ((${#loop_jobs[@]})) && scancel "${loop_jobs[@]}" 2>/dev/null || true
    for name in "${sweep_names[@]}"; do hpsweep cancel "$name" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
elapsed() { /usr/bin/python3 -c "print(f'{$2 - $1:.3f}')"; }

echo "MaxArraySize=$(scontrol show config | awk '$1 == "MaxArraySize" {print $3}')" \
     "MaxJobCount=$(scontrol show config | awk '$1 == "MaxJobCount" {print $3}')"

# Baseline: one sbatch per trial, as a shell loop would do it (held: nothing runs).
start=$(now)
for i in $(seq 1 "$sample"); do
    loop_jobs+=("$(sbatch --parsable --hold --job-name=bench-loop --output=/dev/null \
        --wrap "true --trial $i")")
done
end=$(now)
loop_total=$(elapsed "$start" "$end")
scancel "${loop_jobs[@]}"
loop_jobs=()
per_call=$(/usr/bin/python3 -c "print($loop_total / $sample)")
echo "baseline: $sample sbatch calls took ${loop_total} s ($(/usr/bin/python3 -c "print(f'{$per_call * 1000:.1f}')") ms per trial)"

for n in 1000 10000; do
    side=$(/usr/bin/python3 -c "import math; print(math.isqrt($n))")
    times=()
    for r in $(seq 1 "$repeats"); do
        name="bench-$n-$r"
        start=$(now)
        if ! out="$(hpsweep run --json --max-concurrent 1 --name "$name" true \
                     --a "range($side)" --b "range($((n / side)))" 2>&1)"; then
            echo "hpsweep run of $n trials failed: $out"
            continue 2
        fi
        end=$(now)
        sweep_names+=("$name")
        times+=("$(elapsed "$start" "$end")")
        hpsweep cancel "$name" >/dev/null
    done
    took=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((repeats + 1) / 2))p")
    arrays=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["arrays"]))' <<<"$out")
    loop_estimate=$(/usr/bin/python3 -c "print(f'{$per_call * $n:.1f}')")
    ratio=$(/usr/bin/python3 -c "print(f'{$per_call * $n / $took:.0f}')")
    echo "$n trials: hpsweep run ${took} s (median of ${times[*]}; $arrays sbatch arrays) vs sbatch loop ${loop_estimate} s" \
         "($( ((n <= sample)) && echo "measured: first $n of $sample calls" || echo "extrapolated linearly from $sample calls")) -> ${ratio}x faster"
done
