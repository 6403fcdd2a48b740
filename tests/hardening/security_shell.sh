#!/usr/bin/env bash
# Two-user security, shells: option values never reach a shell. Sweep values with
# $(...), backticks, ';', '|', '&', '>' and quotes arrive literally in the training
# program's argv (hpsweep-launch execs it directly) and in the plugin's HPSWEEP_HP_<NAME>
# and HPSWEEP_TRIAL_ARGS (also through `eval`, the documented way for any value); such
# experiment and datastore names are refused; the product code starts no shell.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup shell
pwned="/tmp/sec-pwned-$$"
security_cleanup_extra='rm -f "$pwned"-*; rm -rf "$HPSWEEP_CLUSTER_DIR"/nodes/*/sec-shell-cache-$$'
enable_plugin "cache_dir=$HPSWEEP_NODE_LOCAL_DIR/sec-shell-cache-$$"

cat >"$work/bin/echo_args.py" <<'PY'
import json, os, sys
with open(os.path.join(os.environ["HPSWEEP_TRIAL_DIR"], "argv.json"), "w") as f:
    json.dump(sys.argv[1:], f)
PY
chmod 0755 "$work/bin/echo_args.py"
# Each value would create a $pwned-N file if any shell evaluated it.
values_expr='["$(touch '"$pwned"'-1)", "; touch '"$pwned"'-2", "`touch '"$pwned"'-3`", "a b|touch '"$pwned"'-4 & x>'"$pwned"'-5", "it'"'"'s \"q\" $HOME"]'
no_pwned() { ! compgen -G "$pwned-*" >/dev/null; }

scenario "sweep values reach the training program literally"
RUNS="$work/home-a/runs" as_a hpsweep run --no-snapshot --name shell --python /usr/bin/python3 "$work/bin/echo_args.py" \
    --x "$values_expr" >/dev/null || hardening_fail "hpsweep run refused the values"
exp=("$work/home-a/runs"/shell-*)
exp="${exp[0]}"
expected="$(/usr/bin/python3 -c 'import json,sys; [print(json.dumps(json.loads(l)["hyperparameters"]["x"])) for l in open(sys.argv[1])]' "$exp/trials.jsonl")"
[[ "$(wc -l <<<"$expected")" == 5 ]] || hardening_fail "expected 5 trials: $expected"
grep -qF '$(touch' <<<"$expected" || hardening_fail "the trial table lost the literal text: $expected"
all_argv() { for i in 0 1 2 3 4; do [[ -f "$exp/trials/$i/argv.json" ]] || return 1; done; }
for _ in $(seq 1 300); do all_argv && break; sleep 0.2; done
all_argv || hardening_fail "not every trial wrote argv.json within 60 s"
for i in 0 1 2 3 4; do
    want="$(sed -n "$((i + 1))p" <<<"$expected")"
    got="$(/usr/bin/python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert a[0]=="--x" and len(a)==2, a; print(json.dumps(a[1]))' "$exp/trials/$i/argv.json")" ||
        hardening_fail "trial $i argv: $(cat "$exp/trials/$i/argv.json")"
    [[ "$got" == "$want" ]] || hardening_fail "trial $i got $got, expected $want"
done
no_pwned || hardening_fail "a value was run by a shell: $(ls "$pwned"-*)"
hardening_pass "5 values with \$(), ;, backticks, | & >, quotes and \$HOME: each trial's argv is exactly [--x, value]; no $pwned-* file"

scenario "plugin trial variables carry values literally"
job="$(as_a sbatch --parsable -w n1 --array=0-4 --hpsweep-trial="$exp" -o "$work/home-a/hp-%a.out" \
    --wrap 'printf "%s\n" "$HPSWEEP_HP_X"; eval "set -- $HPSWEEP_TRIAL_ARGS"; printf "%s\n" "$2"')"
state="$(wait_job "$job")"
[[ "$state" == "COMPLETED " ]] || hardening_fail "the --hpsweep-trial array ended $state"
for i in 0 1 2 3 4; do
    want="$(sed -n "$((i + 1))p" <<<"$expected" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin))')"
    [[ "$(sed -n 1p "$work/home-a/hp-$i.out")" == "$want" ]] || hardening_fail "HPSWEEP_HP_X of trial $i: $(cat "$work/home-a/hp-$i.out")"
    [[ "$(sed -n 2p "$work/home-a/hp-$i.out")" == "$want" ]] || hardening_fail "eval of HPSWEEP_TRIAL_ARGS of trial $i: $(cat "$work/home-a/hp-$i.out")"
done
no_pwned || hardening_fail "a value was run by a shell: $(ls "$pwned"-*)"
hardening_pass "array of 5 with --hpsweep-trial: HPSWEEP_HP_X and eval \"set -- \$HPSWEEP_TRIAL_ARGS\" give each value exactly; no $pwned-* file"

scenario "names with shell syntax are refused"
for name in "\$(touch $pwned-6)" "a;touch $pwned-7" "\`touch $pwned-8\`"; do
    expect_refused "experiment name $name" as_a hpsweep run --name "$name" --dry-run true
    expect_refused "datastore name $name" as_a hpsweep datastore create "$name" "$work/bin"
    expect_refused "--datastore=$name" as_a sbatch -o /dev/null --datastore="$name" --wrap true
done
no_pwned || hardening_fail "a name was run by a shell: $(ls "$pwned"-*)"
hardening_pass "experiment names, datastore names and --datastore values with \$(), ; and backticks refused; no $pwned-* file"

scenario "the product code starts no shell"
# Every child process is started with an argv (fork/exec); the only shell is the generated
# submit.sh, whose inserted values are shell-quoted (searcher/src/array_plan.cpp).
hits="$(grep -rEn '\b(system|popen|wordexp|execl|execlp)\s*\(|"/bin/sh"|"sh",\s*"-c"|"bash",\s*"-c"' \
    --include='*.cpp' --include='*.hpp' --include='*.h' \
    "$HPSWEEP_SOURCE_DIR"/{common,datastore,launcher,metrics,plugins,searcher} | grep -v '/tests/' || true)"
[[ -z "$hits" ]] || hardening_fail "shell or system() in product code: $hits"
hardening_pass "no system/popen/wordexp/execl/sh -c in common, datastore, launcher, metrics, plugins, searcher"
echo "PASS: security_shell"
