#!/usr/bin/env bash
# Benchmark: wall time of many short trials, unpacked (one array task per trial) against
# packed (`--pack auto`, docs/packing.md), for trials of `sleep 1` and of 0 s (`true`).
# Reports each against the ideal, trials x duration / slots, where slots is how many trials
# the cluster runs at once: unpacked, one per CPU Slurm can allocate (each task takes one);
# packed, that many tasks times --trials-per-gpu K slots each (the trials here use no GPU:
# K is the slots of a CPU-only packed task).
# The unpacked runs are measured on a sample (default 300 trials) and extrapolated linearly
# to TRIALS, as the output says: 10,000 unpacked one-second trials take over an hour. The
# packed runs run all TRIALS. Needs the local cluster (`hpsweep cluster up`) and a build with
# hpsweep + hpsweep-launch (HPSWEEP_BUILD_DIR, default ./build; a build without sanitizers
# measures the launcher, not ASan). Prints ratios, asserts nothing. By hand, not in CI:
#
#   HPSWEEP_BUILD_DIR=build-bench bench/throughput.sh [TRIALS [SAMPLE [K]]]
set -euo pipefail
trials="${1:-10000}"
sample="${2:-300}"
per_task="${3:-8}"
build="${HPSWEEP_BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build}"
export PATH="$build/bin:$PATH"
eval "$(hpsweep cluster env)"
work="$(mktemp -d "${TMPDIR:-/tmp}/hpsweep-bench-throughput.XXXXXX")"
export HPSWEEP_HOME="$work/runs"
# --pack auto sizes a task to last min_job_seconds when its trials run to their time limit
# (--time 2, two minutes: a limit under the preemption notice's 60 s would send the notice at
# once): 30 rounds of its slots here, so a sweep of 10,000 spreads over every slot.
printf 'min_job_seconds = 3600\n' >"$work/hpsweep.conf"
export HPSWEEP_SITE_CONFIG="$work/hpsweep.conf"
cat >"$work/trial.sh" <<'SH'
#!/bin/sh
# trial.sh --duration D --i N: sleeps D seconds (nothing for 0).
[ "$2" = 0 ] || exec /bin/sleep "$2"
SH
chmod +x "$work/trial.sh"
names=()
cleanup() {
    for name in "${names[@]}"; do hpsweep cancel "$name" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
py() { /usr/bin/python3 -c "$1"; }

cpus="$(sinfo -h -o %C | awk -F/ '{print $4}')"
echo "cluster: $cpus CPUs Slurm allocates ($(sinfo -h -N -o %N | sort -u | wc -l) nodes);" \
     "unpacked slots $cpus, packed slots $cpus x $per_task = $((cpus * per_task))"

run_sweep() {
    # run_sweep NAME COUNT DURATION [hpsweep run options...]: prints the wall time in seconds.
    local name=$1 count=$2 duration=$3 start end
    shift 3
    names+=("$name")
    start=$(now)
    # A failed trial does not stop the benchmark; the output says how many there were.
    hpsweep run --wait --force --name "$name" --time 2 "$@" "$work/trial.sh" \
        --duration "$duration" --i "range($count)" >/dev/null 2>"$work/$name.err" || true
    end=$(now)
    hpsweep status "$name" 2>/dev/null | tail -n +4 | awk '$2 != "completed" {print "  " $0}' \
        >"$work/$name.unsuccessful" || true
    [[ -s "$work/$name.unsuccessful" ]] &&
        echo "$name: $(wc -l <"$work/$name.unsuccessful") trial(s) did not complete:" \
            "$(head -n 3 "$work/$name.unsuccessful")" >&2
    py "print(f'{$end - $start:.1f}')"
}

for duration in 1 0; do
    unpacked_sample=$(run_sweep "unpacked-$duration" "$sample" "$duration")
    unpacked=$(py "print(f'{$unpacked_sample * $trials / $sample:.1f}')")
    packed=$(run_sweep "packed-$duration" "$trials" "$duration" --pack auto --trials-per-gpu "$per_task")
    echo "sleep $duration x $trials trials:"
    echo "  unpacked: $unpacked_sample s for $sample trials, extrapolated linearly to $trials: $unpacked s" \
         "($(py "print(f'{$trials / $unpacked:.1f}')") trials/s)"
    echo "  packed (--pack auto, K=$per_task): $packed s ($(py "print(f'{$trials / $packed:.1f}')") trials/s)"
    if [[ $duration != 0 ]]; then
        ideal_unpacked=$(py "print(f'{$trials * $duration / $cpus:.1f}')")
        ideal_packed=$(py "print(f'{$trials * $duration / ($cpus * $per_task):.1f}')")
        echo "  ideal: unpacked $ideal_unpacked s ($cpus slots), packed $ideal_packed s" \
             "($((cpus * per_task)) slots)"
        echo "  ratio packed / ideal: $(py "print(f'{$packed / $ideal_packed:.2f}')") (goal <= 1.2);" \
             "unpacked / ideal: $(py "print(f'{$unpacked / $ideal_unpacked:.2f}')")"
    fi
    echo "  speed-up packed vs unpacked: $(py "print(f'{$unpacked / $packed:.1f}')")x" \
         "$([[ $duration != 0 ]] && echo '(goal >= 10x)')"
done
