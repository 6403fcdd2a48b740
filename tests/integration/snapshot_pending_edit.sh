#!/usr/bin/env bash
# Scenario: a sweep is submitted from a git work tree with an uncommitted change, then its
# training script (and a module it imports, and a data file it reads relative to the submit
# directory) are edited and committed while the trials still wait in the queue. Every trial
# runs the submitted code, from a read-only per-node copy of the snapshot, and reports its
# metric; experiment.json records the commit, the branch and the uncommitted diff, and each
# trial's metrics.h5 the submitted commit. A second submit of the same code stores no new
# bytes.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir snapshot_pending_edit
cache_name="snapshot-pending-cache-$$"
on_exit 'remove_node_caches "$cache_name"'
export HPSWEEP_HOME="$work/runs"
export HPSWEEP_DATASTORE_ROOT="$work/store"
export HPSWEEP_CACHE_DIR="$HPSWEEP_NODE_LOCAL_DIR/$cache_name"
export HOME="$work/home"
mkdir -p "$HOME" "$work/proj/conf"
cd "$work/proj"
git init -q -b main .
git config user.email test@example.com
git config user.name test
echo "/outputs/" >.gitignore
cat >train.py <<'PY'
import json, os, sys
import helper
here = open("conf/setting.txt").read().strip()
lr = float(sys.argv[sys.argv.index("--lr") + 1])
print("HPSWEEP_METRIC " + json.dumps({"step": 1, "code_version": helper.VERSION, "lr": lr}))
with open(os.path.join(os.environ["HPSWEEP_TRIAL_DIR"], "seen.txt"), "w") as f:
    f.write(f"{helper.VERSION} {here} {os.getcwd()} {os.path.abspath(__file__)}\n")
PY
echo "VERSION = 1" >helper.py
echo "submitted" >conf/setting.txt
git add .
git commit -qm "version 1"
commit="$(git rev-parse HEAD)"
echo "# an uncommitted note" >>helper.py
mkdir -p outputs && head -c 1000 /dev/zero >outputs/ignored.bin

# Trials pend behind a one-at-a-time throttle while the code changes under them.
out="$(hpsweep run --json --name pend --max-concurrent 1 train.py --lr "[0.1, 0.2, 0.3]")" ||
    fail "hpsweep run exited $?: $out"
exp="$(ls -d "$HPSWEEP_HOME"/pend-*)"
job="$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["arrays"][0]["job_id"])' <<<"$out")"
pending="$(squeue -h -j "$job" -t PENDING -r -o %i | wc -l)"
echo "VERSION = 2" >helper.py
sed -i 's/HPSWEEP_METRIC/HPSWEEP_METRIC_EDITED/' train.py
echo "edited" >conf/setting.txt
git commit -qam "version 2"
echo "edited the code with $pending of 3 trials pending"
((pending >= 1)) || fail "no trial was pending when the code was edited"
states="$(wait_job "$job")"
[[ "$states" == "COMPLETED " ]] || fail "trials ended $states: $(cat "$exp"/trials/*/stderr.log 2>/dev/null)"

for t in 0 1 2; do
    read -r version setting cwd script <"$exp/trials/$t/seen.txt" || fail "trial $t wrote nothing"
    [[ "$version $setting" == "1 submitted" ]] || fail "trial $t ran '$version $setting', not the submitted code"
    [[ "$cwd" == "$HPSWEEP_CACHE_DIR"/* ]] || fail "trial $t ran in $cwd, not in its node's copy"
    [[ "$script" == "$cwd/train.py" ]] || fail "trial $t ran $script"
done
results="$(hpsweep results pend --json)" || fail "results exited $?"
/usr/bin/python3 - "$exp" "$commit" "$results" <<'PY' || exit 1
import json, pathlib, sys
exp, commit, results = pathlib.Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
def fail(msg):
    print("FAIL:", msg, file=sys.stderr); sys.exit(1)
snap = json.loads((exp / "experiment.json").read_text())["snapshot"]
if not snap["enabled"] or snap["git"]["commit"] != commit or snap["git"]["branch"] != "main":
    fail(f"snapshot record {snap}")
diff = (exp / snap["git"]["diff"]).read_text()
if "+# an uncommitted note" not in diff:
    fail(f"the recorded diff lacks the uncommitted change: {diff}")
if snap["files"] != 4:
    fail(f"snapshot holds {snap['files']} files, expected .gitignore, train.py, helper.py, conf/setting.txt")
import h5py
for t in range(3):
    with h5py.File(exp / "trials" / str(t) / "metrics.h5", "r") as f:
        recorded = f.attrs["git_commit"]
    if recorded != commit:
        fail(f"trial {t}'s metrics.h5 records commit {recorded!r}, not the submitted {commit}")
text = json.dumps(results)
if "code_version" not in text:
    fail(f"results do not show the submitted code's metric: {text}")
print("PASS-part: commit", commit[:12], "and diff recorded;", snap["files"], "files,", snap["bytes"], "bytes")
PY

# The same code again: the existing snapshot version, no new bytes.
git checkout -q "$commit" -- helper.py train.py conf/setting.txt
echo "# an uncommitted note" >>helper.py
sleep 1.2
first="$(hpsweep run --json --dry-run --name again train.py --lr "[0.1]")" || fail "dry run exited $?"
expect_contains "$first" '"files": 4' "dry run snapshot plan"
again="$(hpsweep run --json --name again train.py --lr "[0.1]")" || fail "second submit exited $?"
exp2="$(ls -d "$HPSWEEP_HOME"/again-*)"
new_bytes="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot"]["new_bytes"])' "$exp2/experiment.json")"
[[ "$new_bytes" == 0 ]] || fail "resubmitting the submitted code stored $new_bytes new bytes"
job2="$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["arrays"][0]["job_id"])' <<<"$again")"
[[ "$(wait_job "$job2")" == "COMPLETED " ]] || fail "the second sweep failed"
echo "PASS: 3 pending trials ran the submitted code after it was edited; commit and diff recorded; resubmit stored 0 new bytes"
