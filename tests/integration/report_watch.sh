#!/usr/bin/env bash
# Scenario: `hpsweep report EXP --watch` while trials run: the page is rewritten every
# --interval seconds, each version reloads itself (meta refresh) and is whole (written by
# rename); when the experiment is done, a last page without the refresh is written and the
# command exits 0. Ctrl-C (SIGINT) ends a watch early, also leaving a page that does not
# reload.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_user_work_dir report_watch
cat >train.py <<'PY'
import json, sys, time
lr = float(sys.argv[sys.argv.index("--lr") + 1])
for step in range(1, 9):
    print("HPSWEEP_METRIC " + json.dumps({"step": step, "loss": lr / step}), flush=True)
    time.sleep(1)
PY
hpsweep run --name watch train.py --lr "[0.1, 0.01]" >/dev/null || fail "submit failed"
exp="$(ls -d "$HPSWEEP_HOME"/watch-*)"

hpsweep report watch --watch --interval 1 -o "$work/live.html" >"$work/live.out" 2>&1 &
live=$!
hpsweep report watch --watch --interval 1 -o "$work/stopped.html" >"$work/stopped.out" 2>&1 &
stopped=$!
on_exit 'kill $live $stopped 2>/dev/null || true'

reloads() { grep -q 'http-equiv="refresh" content="1"' "$1"; }
wait_until 60 reloads "$work/live.html" || fail "no self-reloading page while trials run"
wait_until 30 reloads "$work/stopped.html" || fail "the second watch wrote no page"
kill -INT "$stopped"
rc=0
wait "$stopped" || rc=$?
[[ "$rc" -eq 0 ]] || fail "report --watch exited $rc on SIGINT: $(cat "$work/stopped.out")"
! reloads "$work/stopped.html" || fail "the page left by an interrupted watch still reloads"

# Every version read while the trials run is a whole page.
seen_versions=0
while kill -0 "$live" 2>/dev/null && ((seen_versions < 20)); do
    page="$(cat "$work/live.html")"
    [[ "$page" == *"</html>"* ]] || fail "a half-written report: $(tail -c 200 <<<"$page")"
    seen_versions=$((seen_versions + 1))
    sleep 0.5
done
deadline=$((SECONDS + 120))
while kill -0 "$live" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "report --watch still running 120 s after the trials"
    sleep 0.5
done
rc=0
wait "$live" || rc=$?
[[ "$rc" -eq 0 ]] || fail "report --watch exited $rc: $(cat "$work/live.out")"
! reloads "$work/live.html" || fail "the final report still reloads itself"
final="$(cat "$work/live.html")"
expect_contains "$final" "2 trials, 2 completed" "the final report"
expect_contains "$(cat "$work/live.out")" "wrote $work/live.html" "report --watch output"
echo "PASS: report --watch rewrote a self-reloading page while trials ran and stopped when done"
