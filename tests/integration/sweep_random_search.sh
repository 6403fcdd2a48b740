#!/usr/bin/env bash
# Scenario: `--strategy random_search --num_trials 2 --batch_size "[1, 2]" --layers "[3, 5]"`
# runs 2 distinct combinations out of the 4, each trial receiving exactly its pair.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir sweep_random
export HPSWEEP_HOME="$work/runs"
cat >"$work/probe.sh" <<'SH'
#!/bin/sh
echo "$*" > "$HPSWEEP_TRIAL_DIR/args.txt"
SH
chmod +x "$work/probe.sh"
cd "$work"
hpsweep run --wait --strategy random_search --num_trials 2 --seed 5 --name rnd ./probe.sh \
    --batch_size "[1, 2]" --layers "[3, 5]" || fail "hpsweep run exited $?"
exp="$(ls -d "$HPSWEEP_HOME"/rnd-*)"
seen=()
for t in 0 1; do
    args="$(cat "$exp/trials/$t/args.txt")" || fail "trial $t did not run"
    [[ "$args" =~ ^--batch_size\ [12]\ --layers\ [35]$ ]] || fail "trial $t got '$args'"
    expected="$(sed -n "$((t + 1))p" "$exp/trials.jsonl" | /usr/bin/python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["argv"][1:]))')"
    [[ "$args" == "$expected" ]] || fail "trial $t got '$args', table says '$expected'"
    seen+=("$args")
done
[[ "${seen[0]}" != "${seen[1]}" ]] || fail "both trials ran the same combination: ${seen[0]}"
[[ ! -e "$exp/trials/2" ]] || fail "a third trial ran"
echo "PASS: random_search ran 2 distinct combinations of 4: ${seen[0]} | ${seen[1]}"
