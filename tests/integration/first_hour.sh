#!/usr/bin/env bash
# Scenario: a new user's first hour. The usual mistakes are refused at submit with a message
# that says what would work (a misspelt datastore, a shape no node can hold, a partition or
# account that does not exist, a mistyped command) and none of them reaches Slurm. Then a
# ported Determined script that reads HPSWEEP_HPARAMS (hyperparameters_as: env) and logs
# val_loss through Python's logging (stderr) runs unchanged with its metric captured; a trial
# missing a module says why in `status`; a Determined file whose max_length is in records
# (records_per_epoch, searcher.step_unit: epochs) shows its rungs in epochs and records in the
# dry run, and its ASHA sweep stops trials at the converted rungs; the experiments are found from another directory by
# name and by Slurm job id, with HOME's ~/hpsweep-runs as the default place; `cancel EXP 1`
# reads the same in status and results, and `resubmit --failed` leaves it out until asked.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir first_hour
unset HPSWEEP_HOME
export HOME="$work/home" HPSWEEP_DATASTORE_ROOT="$work/store" HPSWEEP_CACHE_DIR="$work/cache"
mkdir -p "$HOME" "$work/project" "$work/data"
echo "0,1" >"$work/data/digits.csv"
hpsweep datastore create digits "$work/data" >/dev/null || fail "datastore create"
cd "$work/project"
tag="fh$$"  # experiment and job names of this run

expect_refused() {  # expect_refused CODE TEXT COMMAND...: exit CODE, TEXT on stderr
    local code=$1 text=$2 rc=0 err
    shift 2
    err="$("$@" 2>&1 >/dev/null)" || rc=$?
    [[ "$rc" -eq "$code" ]] || fail "'$*' exited $rc, expected $code: $err"
    expect_contains "$err" "$text" "stderr of '$*'"
    echo "ok: $* -> $(head -n1 <<<"$err")"
}

# ---- mistakes known at submit: refused, nothing written, nothing queued ----
expect_refused 2 "datastore 'digts'" hpsweep run --name "$tag" --datastore digts /bin/true --k "[1]"
expect_refused 2 "(did you mean 'digits'?)" hpsweep run --name "$tag" --datastore digts /bin/true --k "[1]"
expect_refused 2 "datastore 'digits:7'" hpsweep run --name "$tag" --datastore digits:7 /bin/true --k "[1]"
printf 'name: %s\nentrypoint: /bin/true\ndatastores: [digts]\n' "$tag" >ds.yaml
expect_refused 2 "(did you mean 'digits'?)" hpsweep submit ds.yaml
# The local nodes have 4 GPUs and 2 CPUs each (one task per GPU): 2 GPUs a node fit.
expect_refused 2 "at most 4 GPU(s), 2 CPU(s)" hpsweep run --name "$tag" --gpus 8 /bin/true --k "[1]"
expect_refused 2 "try --nodes 3 --gpus 6" hpsweep run --name "$tag" --gpus 6 --nodes 2 /bin/true --k "[1]"
expect_refused 2 "at most 4 GPU(s), 2 CPU(s)" hpsweep session --gpus 8 -- true
expect_refused 2 "partition 'gpu' does not exist" hpsweep run --name "$tag" --partition gpu /bin/true --k "[1]"
expect_refused 2 "account 'nolab' does not exist" hpsweep run --name "$tag" --account nolab /bin/true --k "[1]"
expect_refused 2 "unknown command 'reslts' (did you mean 'results'?)" hpsweep reslts
expect_refused 2 "Run 'hpsweep status --help'" hpsweep status
printf 'name: %s\nentrypoint: /bin/true\nhyperparameters:\n  lr: {type: log, minval: 0.001, maxval: 0.1, base: 10}\nsearcher: {name: random, max_trials: 2, metric: loss}\n' \
    "$tag" >logrange.yaml
out="$(hpsweep submit --dry-run logrange.yaml 2>&1)" || fail "dry run of logrange.yaml: $out"
expect_contains "$out" "type log takes exponents" "the log-range dry run"
expect_contains "$out" "write minval: -3 and maxval: -1" "the log-range dry run"
seed="$(sed -n 's/^Dry run with seed \([0-9]*\):.*/\1/p' <<<"$out")"
[[ -n "$seed" ]] || fail "the dry run does not say its seed: $out"
expect_contains "$out" "\`--seed $seed\` submits exactly these trials" "the dry run"
# max_length in records for a trial that reports epochs, but no records_per_epoch to size one.
printf 'name: %s\nentrypoint: /bin/true\nhyperparameters: {lr: 0.1}\nsearcher: {name: adaptive_asha, metric: loss, max_trials: 2,\n  max_length: {records: 5400}, step_unit: epochs}\n' \
    "$tag" >rpe.yaml
expect_refused 3 "rpe.yaml:5:15: converting 'searcher.max_length' (5400 records) into epochs (searcher.step_unit: epochs at rpe.yaml:5:43) needs 'records_per_epoch'" \
    hpsweep submit rpe.yaml
[[ ! -e "$HOME/hpsweep-runs" || -z "$(ls -A "$HOME/hpsweep-runs")" ]] ||
    fail "refused submissions left $(ls -A "$HOME/hpsweep-runs")"
[[ -z "$(squeue -h -n "$tag" -o %i)" && -z "$(sacct -n -X -P -S now-3600 --name "$tag" -o JobID)" ]] ||
    fail "a refused submission reached Slurm: $(sacct -n -X -S now-3600 --name "$tag")"
echo "ok: no refused submission reached Slurm"

# ---- a ported Determined script: hyper-parameters from HPSWEEP_HPARAMS, metric on stderr ----
cat >det_train.py <<'PY'
import argparse, json, logging, os
parser = argparse.ArgumentParser()  # as ported: only the training budget is a flag
parser.add_argument("--epochs", type=int, required=True)
args = parser.parse_args()
hparams = json.load(open(os.environ["HPSWEEP_HPARAMS"]))  # was context.get_hparams()
assert os.environ["HPSWEEP_HP_OPTIMIZER_LR"] == str(hparams["optimizer"]["lr"])
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")  # to stderr
for epoch in range(1, args.epochs + 1):
    logging.info("epoch %d val_loss=%.6f", epoch,
                 hparams["optimizer"]["lr"] * 64 / hparams["global_batch_size"] / epoch)
PY
cat >det.yaml <<EOF2
name: $tag-det
entrypoint: /usr/bin/python3 det_train.py
hyperparameters_as: env
budget_flag: epochs
hyperparameters:
  global_batch_size: 64
  optimizer:
    lr: {type: categorical, vals: [0.1, 0.01]}
searcher: {name: grid, metric: val_loss, smaller_is_better: true, max_length: {epochs: 3}}
metrics:
  regex:
    val_loss: 'epoch (?P<step>\d+) val_loss=(?P<value>[0-9.]+)'
EOF2
out="$(hpsweep submit --wait det.yaml 2>&1)" ||
    fail "the Determined sweep failed: $out $(cat "$HOME"/hpsweep-runs/"$tag"-det-*/trials/*/stderr.log)"
exp="$(ls -d "$HOME/hpsweep-runs/$tag"-det-*)" || fail "the experiment is not under ~/hpsweep-runs"
id="$(basename "$exp")"
results="$(hpsweep results --json "$id")" || fail "results exited $?: $results"
/usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["metric"] == "val_loss", r["metric"]
t = {x["trial"]: x for x in r["trials"]}
assert t[0]["metrics"]["val_loss"]["last_step"] == 3, t[0]
assert abs(t[1]["metrics"]["val_loss"]["best"] - 0.01 / 3) < 1e-6, t[1]
assert r["best_trial"] == 1, r["best_trial"]' <<<"$results" || fail "results: $results"
grep -q '"optimizer"' "$exp/trials/0/hparams.json" || fail "hparams.json: $(cat "$exp/trials/0/hparams.json")"
echo "ok: the Determined script ran unchanged; val_loss from logging on stderr was captured"

# ---- Determined's records_per_epoch: max_length in records, the trial reports epochs ----
cat >det_asha.py <<'PY'
import argparse, logging, os, time
parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, required=True)
args = parser.parse_args()
# The budget arrives in the trial's unit: 5400 records at 600 a epoch are 9 epochs.
budget = (args.epochs, os.environ["HPSWEEP_MAX_LENGTH"], os.environ["HPSWEEP_MAX_LENGTH_UNIT"])
assert budget == (9, "9", "epochs"), budget
trial = int(os.environ["HPSWEEP_TRIAL_ID"])
logging.basicConfig(level=logging.INFO, format="%(message)s")
for epoch in range(1, args.epochs + 1):  # each later trial is worse: ASHA stops it at epoch 1
    logging.info("epoch %d val_loss=%.6f", epoch, (trial + 1) / epoch)
    time.sleep(0.5)
PY
cat >det_asha.yaml <<EOF2
name: $tag-rpe
entrypoint: /usr/bin/python3 det_asha.py
hyperparameters_as: env
budget_flag: epochs
records_per_epoch: 600
hyperparameters:
  global_batch_size: 64
  lr: {type: double, minval: 0.001, maxval: 0.1}
searcher:
  name: adaptive_asha
  metric: val_loss
  max_trials: 4
  max_length: {records: 5400}
  step_unit: epochs
  divisor: 3
  max_rungs: 3
  mode: aggressive
resources: {max_concurrent: 1}
metrics:
  regex:
    val_loss: 'epoch (?P<step>\d+) val_loss=(?P<value>[0-9.]+)'
EOF2
out="$(hpsweep submit --dry-run det_asha.yaml 2>&1)" || fail "dry run of det_asha.yaml: $out"
expect_contains "$out" "Rungs (adaptive_asha): trials are judged on val_loss at epochs 1, 3, 9 (max_length 5400 records = 9 epochs at records_per_epoch 600)" \
    "the records_per_epoch dry run"
expect_contains "$out" "Rungs in records (max_length's unit as written): 600, 1800, 5400" \
    "the records_per_epoch dry run"
echo "ok: the dry run shows the rungs in epochs and in records"
out="$(HPSWEEP_STOP_GRACE_SECONDS=5 hpsweep submit --wait det_asha.yaml 2>&1)" ||
    fail "the records_per_epoch sweep failed: $out $(cat "$HOME"/hpsweep-runs/"$tag"-rpe-*/trials/*/stderr.log)"
exp="$(ls -d "$HOME/hpsweep-runs/$tag"-rpe-*)" || fail "no records_per_epoch experiment"
/usr/bin/python3 - "$exp" <<'PY' || fail "the records_per_epoch sweep: $(hpsweep status "$exp" 2>&1)"
import json, pathlib, sys
import h5py
exp = pathlib.Path(sys.argv[1])
s = json.loads((exp / "experiment.json").read_text())["searcher"]
assert s["max_length"] == {"unit": "epochs", "value": 9}, s
assert s["step_unit"] == "epochs", s
assert s["as_written"] == {"max_length": {"unit": "records", "value": 5400},
                           "records_per_epoch": 600}, s
status, last = {}, {}
for d in (exp / "trials").iterdir():
    status[int(d.name)] = json.loads((d / "result.json").read_text())["status"]
    with h5py.File(d / "metrics.h5", "r") as f:
        last[int(d.name)] = int(f["metrics/val_loss"]["step"][-1])
print("status:", status, "last epoch:", last)
# One at a time, each trial worse than the last: only trial 0 goes past rung 0 (epoch 1).
assert status == {0: "completed", 1: "stopped_early", 2: "stopped_early", 3: "stopped_early"}, status
assert last[0] == 9 and all(last[t] < 3 for t in (1, 2, 3)), last
rungs = {}
for k in range(3):
    rungs[k] = {r["trial"]: r["value"] for r in
                (json.loads(p.read_text()) for p in (exp / "asha" / f"rung{k}").iterdir())}
print("rungs:", rungs)
# The value at each rung is the one the trial logged at epoch 1, 3 and 9 (val_loss = 1/epoch
# for trial 0), not at record counts 600, 1800, 5400.
assert rungs[0] == {0: 1.0, 1: 2.0, 2: 3.0, 3: 4.0}, rungs[0]
assert rungs[1] == {0: 0.333333} and rungs[2] == {0: 0.111111}, rungs
PY
echo "ok: records_per_epoch converted; ASHA judged the trials at epochs 1, 3 and 9"

# ---- a trial that fails says why; found from another directory by name and by job id ----
printf 'import not_a_module\n' >broken.py
rc=0
hpsweep run --wait --name "$tag-broken" --python /usr/bin/python3 broken.py --k "[1]" >/dev/null 2>&1 || rc=$?
[[ "$rc" -eq 1 ]] || fail "the broken sweep exited $rc, expected 1"
job="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["arrays"][0]["job_id"])' \
    "$(ls -d "$HOME/hpsweep-runs/$tag"-broken-*)/experiment.json")"
cd /tmp
for exp_arg in "$tag-broken" "$job" "${job}_0"; do
    rc=0
    status="$(hpsweep status "$exp_arg" 2>&1)" || rc=$?
    [[ "$rc" -eq 1 ]] || fail "status $exp_arg from /tmp exited $rc: $status"
    expect_contains "$status" "stderr: ModuleNotFoundError: No module named 'not_a_module'" "status $exp_arg"
    expect_contains "$status" "hint: '/usr/bin/python3'" "status $exp_arg"
done
echo "ok: status from /tmp by name, job id and job_task names the cause"
list="$(hpsweep list)" || fail "list exited $?: $list"
expect_contains "$list" "$id" "list"
grep -q "^$id .* completed *2/2 *val_loss=0.003333 (trial 1)" <<<"$list" || fail "list row: $list"
cd "$work/project"

# ---- cancel one trial on purpose: status and results agree; resubmit leaves it out ----
cat >slow.sh <<'SH'
#!/bin/sh
[ "$2" = 0 ] || sleep 30
SH
chmod +x slow.sh
hpsweep run --name "$tag-cancel" --max-concurrent 1 ./slow.sh --k "[0, 1]" >/dev/null || fail "submit slow.sh"
hpsweep cancel "$tag-cancel" 1 >/dev/null || fail "cancel trial 1"
wait_until 60 bash -c "hpsweep status --json $tag-cancel | grep -q '\"completed\": 1'" ||
    fail "trial 0 did not complete: $(hpsweep status "$tag-cancel" 2>&1)"
wait_until 30 bash -c "hpsweep status --json $tag-cancel | grep -q '\"cancelled\": 1'" ||
    fail "trial 1 is not cancelled: $(hpsweep status "$tag-cancel" 2>&1)"
rc=0; results="$(hpsweep results --json "$tag-cancel")" || rc=$?
[[ "$rc" -eq 1 ]] || fail "results with a cancelled trial exited $rc, as status does (1)"
/usr/bin/python3 -c '
import json, sys
t = {x["trial"]: x["status"] for x in json.load(sys.stdin)["trials"]}
assert t == {0: "completed", 1: "cancelled"}, t' <<<"$results" || fail "results: $results"
out="$(hpsweep resubmit "$tag-cancel" --failed)" || fail "resubmit --failed: $out"
expect_contains "$out" "Nothing to resubmit" "resubmit --failed after a deliberate cancel"
sed -i 's/sleep 30/true/' slow.sh
out="$(hpsweep resubmit --wait "$tag-cancel" 1)" || fail "resubmit --wait EXP 1 exited $?: $out"
expect_contains "$out" "completed" "resubmit --wait"
[[ "$(hpsweep results --json "$tag-cancel" | grep -c '"status": "completed"')" -eq 2 ]] ||
    fail "after resubmit: $(hpsweep results "$tag-cancel")"
echo "PASS: first-hour mistakes refused at submit; Determined port, stderr metrics, status from anywhere"
