#!/usr/bin/env bash
# `hpsweep session` on the local cluster, in its scriptable form (`-- CMD`: no terminal in
# tests). Checks: the start message (job id, how to reconnect and end); CMD runs on every
# rank of a 2-node allocation with the DDP variables (WORLD_SIZE=2, distinct RANK and
# nodes, one MASTER_ADDR), the datastore staged on each node and HPSWEEP_SESSION_ID; the
# allocation is released afterwards; CMD's exit code is hpsweep's; `--keep`, `session
# list` (text and JSON) and `session end`; clear errors for no terminal, a bad datastore
# reference and ending a session that is not running.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir session_command
cache_name="h3-session-cache-$$"
on_exit 'remove_node_caches "$cache_name"'
on_exit 'scancel -n hpsweep-session -u "$(id -un)" 2>/dev/null || true'
export HPSWEEP_DATASTORE_ROOT="$work/store" HPSWEEP_CACHE_DIR="$HPSWEEP_NODE_LOCAL_DIR/$cache_name"
mkdir -p "$work/data"
echo "hello from the datastore" >"$work/data/hello.txt"
hpsweep datastore create session-data "$work/data" --public >/dev/null || fail "datastore create"

# 1. A command on every rank of 2 nodes.
out="$(hpsweep session --nodes 2 --time 5 --datastore session-data -- bash -c \
    'echo "RANKLINE rank=$RANK world=$WORLD_SIZE node=$(hostname) master=$MASTER_ADDR session=$HPSWEEP_SESSION_ID data=$(cat $HPSWEEP_DATASTORE_SESSION_DATA/hello.txt) list=$HPSWEEP_DATASTORES"' 2>&1)" ||
    fail "session -- CMD exited $?: $out"
job="$(sed -n 's/^hpsweep: session \([0-9]*\) is running on .*/\1/p' <<<"$out")"
[[ -n "$job" ]] || fail "no 'session ID is running on' line: $out"
expect_contains "$out" "reconnect: srun --jobid=$job --overlap --pty bash" "start message"
expect_contains "$out" "end it:    hpsweep session end $job" "start message"
expect_contains "$out" "session $job ended (command exit code 0)" "end message"
lines="$(grep '^RANKLINE' <<<"$out" | sort)"
[[ "$(wc -l <<<"$lines")" -eq 2 ]] || fail "expected 2 ranks: $out"
grep -q "rank=0 world=2 " <<<"$lines" && grep -q "rank=1 world=2 " <<<"$lines" || fail "ranks: $lines"
[[ "$(sed -n 's/.* node=\([^ ]*\) .*/\1/p' <<<"$lines" | sort -u | wc -l)" -eq 2 ]] || fail "not 2 nodes: $lines"
[[ "$(sed -n 's/.* master=\([^ ]*\) .*/\1/p' <<<"$lines" | sort -u | wc -l)" -eq 1 ]] || fail "masters differ: $lines"
[[ "$(grep -c "session=$job data=hello from the datastore list=session-data$" <<<"$lines")" -eq 2 ]] ||
    fail "datastore or session id missing on a rank: $lines"
[[ -z "$(squeue -h -j "$job" 2>/dev/null)" ]] || fail "allocation $job still queued after the command"
# The allocation's name in Slurm's accounting (which may lag a moment, naming it
# 'allocation' until its record is complete).
for _ in $(seq 1 50); do
    name="$(sacct -n -X -P -j "$job" -o JobName 2>/dev/null | head -1)"
    [[ "$name" == hpsweep-session ]] && break
    sleep 0.2
done
[[ "$name" == hpsweep-session ]] || fail "job $job is named '$name', not hpsweep-session"

# 2. CMD's exit code is hpsweep's.
rc=0
hpsweep session -- sh -c 'exit 7' >/dev/null 2>&1 || rc=$?
[[ "$rc" -eq 7 ]] || fail "session -- sh -c 'exit 7' exited $rc"

# 3. --keep, list, end.
out="$(hpsweep session --keep -- true 2>&1)" || fail "session --keep exited $?: $out"
kept="$(sed -n 's/^hpsweep: session \([0-9]*\) is running on .*/\1/p' <<<"$out")"
expect_contains "$out" "session $kept is still running" "--keep message"
listing="$(hpsweep session list)"
grep -q "^$kept  *RUNNING " <<<"$listing" || fail "session list does not show $kept running: $listing"
[[ "$(hpsweep session list --json | /usr/bin/python3 -c 'import json,sys; print([s["id"] for s in json.load(sys.stdin)])')" == *"'$kept'"* ]] ||
    fail "session list --json lacks $kept"
out="$(hpsweep session end "$kept")" || fail "session end exited $?"
expect_contains "$out" "Ended session $kept" "session end"
for _ in $(seq 1 50); do [[ -z "$(squeue -h -j "$kept" 2>/dev/null)" ]] && break; sleep 0.2; done
[[ -z "$(squeue -h -j "$kept" 2>/dev/null)" ]] || fail "session $kept still queued after end"

# 4. Errors: one clear line and the documented exit code, nothing allocated.
rc=0; out="$(hpsweep session end "$kept" 2>&1)" || rc=$?
[[ "$rc" -eq 8 ]] || fail "ending an ended session exited $rc: $out"
expect_contains "$out" "no session $kept of yours is running" "error"
rc=0; out="$(hpsweep session </dev/null 2>&1)" || rc=$?
[[ "$rc" -eq 2 ]] || fail "an interactive session without a terminal exited $rc: $out"
expect_contains "$out" "needs a terminal" "error"
rc=0; out="$(hpsweep session lst 2>&1)" || rc=$?
[[ "$rc" -eq 2 ]] || fail "a mistyped session subcommand exited $rc: $out"
expect_contains "$out" "did you mean 'hpsweep session list'" "error"
expect_contains "$out" "hpsweep session -- lst" "error"
rc=0; out="$(hpsweep session --datastore 'bad name!' -- true 2>&1)" || rc=$?
[[ "$rc" -eq 2 ]] || fail "a bad datastore reference exited $rc: $out"
rc=0; out="$(hpsweep session --gpus 3 --nodes 2 -- true 2>&1)" || rc=$?
[[ "$rc" -eq 2 ]] || fail "--gpus 3 --nodes 2 exited $rc: $out"
expect_contains "$out" "not a multiple of --nodes" "error"
# A session that ended may still be completing (CG) while Slurm tears down its cgroups.
[[ -z "$(squeue -h -n hpsweep-session -u "$(id -un)" -t PENDING,RUNNING,SUSPENDED)" ]] ||
    fail "sessions left: $(squeue -n hpsweep-session)"
echo "PASS: session on 2 nodes (job $job), exit code, --keep/list/end, errors"
