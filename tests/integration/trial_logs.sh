#!/usr/bin/env bash
# Scenario: `hpsweep logs EXP TRIAL` shows stdout and stderr interleaved in the order the
# program wrote them (the launcher's output.timeline), `--stdout`/`--stderr` one of them, and
# the log files hold exactly what was printed. A trial that failed without printing anything
# says so (with the last lines Slurm kept) and exits non-zero; `--stdout` of a trial that
# only wrote to stderr shows the last stderr lines.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_user_work_dir trial_logs
cat >train.py <<'PY'
import sys, time
mode = sys.argv[sys.argv.index("--mode") + 1]
if mode == "chatty":
    for i in range(1, 4):
        print(f"out {i}", flush=True)
        time.sleep(0.05)
        print(f"err {i}", file=sys.stderr, flush=True)
        time.sleep(0.05)
elif mode == "silent":
    sys.exit(3)
else:  # only complains, then fails
    print("Traceback: something broke", file=sys.stderr, flush=True)
    sys.exit(4)
PY
hpsweep run --wait --name logs train.py --mode '["chatty", "silent", "grumpy"]' >/dev/null && true
exp="$(ls -d "$HPSWEEP_HOME"/logs-*)"
[[ -f "$exp/trials/0/stdout.log" ]] || fail "trial 0 did not run: $(hpsweep status logs 2>&1)"

both="$(hpsweep logs logs 0)" || fail "logs exited $?: $both"
[[ "$both" == $'out 1\nerr 1\nout 2\nerr 2\nout 3\nerr 3' ]] ||
    fail "logs did not interleave in time order: $(printf '%q' "$both")"
[[ "$(hpsweep logs logs 0 --stdout)" == $'out 1\nout 2\nout 3' ]] || fail "logs --stdout"
[[ "$(hpsweep logs logs 0 --stderr)" == $'err 1\nerr 2\nerr 3' ]] || fail "logs --stderr"
[[ "$(cat "$exp/trials/0/stdout.log")" == $'out 1\nout 2\nout 3' ]] || fail "stdout.log was changed"
[[ "$(cat "$exp/trials/0/stderr.log")" == $'err 1\nerr 2\nerr 3' ]] || fail "stderr.log was changed"
rc=0
hpsweep logs logs 0 --stdout --stderr >/dev/null 2>&1 || rc=$?
[[ "$rc" -ne 0 ]] || fail "--stdout with --stderr was accepted"

rc=0
silent="$(hpsweep logs logs 1 2>&1)" || rc=$?
[[ "$rc" -ne 0 ]] || fail "logs of a trial that failed silently exited 0: $silent"
expect_contains "$silent" "trial 1 failed (exit code 3) without printing anything" "logs of trial 1"

rc=0
grumpy="$(hpsweep logs logs 2 --stdout 2>&1)" || rc=$?
[[ "$rc" -ne 0 ]] || fail "logs --stdout of a failed trial that printed nothing there exited 0"
expect_contains "$grumpy" "without printing anything on stdout" "logs --stdout of trial 2"
expect_contains "$grumpy" "Traceback: something broke" "logs --stdout of trial 2 (last stderr lines)"

rc=0
out="$(hpsweep logs logs 7 2>&1)" || rc=$?
[[ "$rc" -ne 0 ]] || fail "logs of trial 7 (not in the experiment) exited 0"
expect_contains "$out" "trial 7 is not in" "logs of a trial that does not exist"
echo "PASS: logs interleave stdout and stderr in time order; silent failures say so"
