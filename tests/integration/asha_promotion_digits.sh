#!/usr/bin/env bash
# Scenario: ASHA's promotion form (searcher.stop_once: false) on the digits example, 12
# trials, rungs at 1/4/16 epochs, divisor 4, on the local cluster. A trial outside its rung's
# best pauses (status paused, paused_at_rung) instead of stopping for good. Replaying each
# rung's slot files through the rule as stated gives exactly the promotions: a promoted
# paused trial has a record asha/rung<K>/promoted/<id> naming the trial whose arrival promoted
# it, resumed from its checkpoint in that trial's Slurm task (its result.json names the task,
# its log says it resumed, its HDF5 steps run on without a gap or a repeat), and went on to
# the next rung. Every rung, once it has all its results, promotes its best ceil(n / 4), so
# one trial completes the 16 epochs. `hpsweep status` counts paused trials and the sweep succeeds.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir asha_promotion_digits
export HPSWEEP_HOME="$work/runs" HPSWEEP_STOP_GRACE_SECONDS=5
cd "${HPSWEEP_SOURCE_DIR:?}"
hpsweep submit examples/digits/asha-promotion.yaml --wait || fail "hpsweep submit --wait exited $?"
exp="$(ls -d "$HPSWEEP_HOME"/digits-asha-promotion-*)"
status_text="$(hpsweep status "$exp")" || fail "hpsweep status exited $?"
echo "$status_text"
grep -q "1 completed, 11 paused" <<<"$status_text" ||
    fail "hpsweep status does not count 1 completed and 11 paused trials"
results="$(hpsweep results "$exp" --json)" || fail "hpsweep results exited $?"

/usr/bin/python3 - "$exp" "$results" <<'PY'
import json, math, pathlib, sys
import h5py
exp, results = pathlib.Path(sys.argv[1]), json.loads(sys.argv[2])
def fail(msg):
    print("FAIL:", msg, file=sys.stderr); sys.exit(1)
rungs, divisor, trials = [1, 4, 16], 4, 12
result, steps = {}, {}
for trial_dir in sorted((exp / "trials").iterdir(), key=lambda p: int(p.name)):
    tid = int(trial_dir.name)
    result[tid] = json.loads((trial_dir / "result.json").read_text())
    with h5py.File(trial_dir / "metrics.h5", "r") as f:
        steps[tid] = [int(s) for s in f["metrics/val_loss"]["step"]]
status = {t: r["status"] for t, r in result.items()}
print("status:", status)
if len(status) != trials: fail(f"expected {trials} trials, found {len(status)}")
if sorted(status.values()) != ["completed"] + ["paused"] * (trials - 1):
    fail(f"expected 1 completed and {trials - 1} paused trials: {status}")
for t, r in result.items():
    if steps[t] != list(range(1, len(steps[t]) + 1)):
        fail(f"trial {t}: steps {steps[t]} are not 1, 2, ... without a gap or a repeat")
    if r["status"] == "paused":
        k = r.get("paused_at_rung")
        if k is None: fail(f"trial {t} is paused without paused_at_rung: {r}")
        # The pause takes a moment: the program gets the preemption notice (SIGUSR2) and
        # checkpoints at the end of the epoch it is in, which may be the next one; it never
        # reaches the next rung.
        if not rungs[k] <= steps[t][-1] < rungs[k + 1]:
            fail(f"trial {t} paused at rung {k} ({rungs[k]} epochs) after {steps[t][-1]}")
    elif steps[t][-1] != rungs[-1]:
        fail(f"completed trial {t} did not train {rungs[-1]} epochs: {steps[t][-1]}")

def replay(arrived):
    """The promotion rule as stated: after the n-th arrival the best floor(n/4) are promoted;
    ties go to the earlier one. Returns the trial each arrival newly promoted (or None), and
    the promoted set once the rung has closed (the best ceil(n/4) are promoted then)."""
    promoted, added = set(), []
    order = lambda n: sorted(range(n), key=lambda i: (arrived[i]["value"], i))
    for n in range(1, len(arrived) + 1):
        new = [arrived[i]["trial"] for i in order(n)[:n // divisor]
               if arrived[i]["trial"] not in promoted]
        if len(new) > 1: fail(f"arrival {n} promoted {new}: more than one")
        promoted.update(new)
        added.append(new[0] if new else None)
    n = len(arrived)
    closing = [arrived[i]["trial"] for i in order(n)[:math.ceil(n / divisor)]
               if arrived[i]["trial"] not in promoted]
    if len(closing) > 1: fail(f"closing promoted {closing}: more than one")
    return added, closing[0] if closing else None

expected, hosted, last_host = trials, 0, {}
for k in range(len(rungs) - 1):
    rung_dir = exp / "asha" / f"rung{k}"
    slots = sorted((p for p in rung_dir.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    arrived = [json.loads(p.read_text()) for p in slots]
    # Every trial reports rung 0; every trial promoted out of a rung reports the next.
    if len(arrived) != expected:
        fail(f"rung {k} got {len(arrived)} results, expected {expected}")
    promoted_dir = rung_dir / "promoted"
    records = {int(p.name): json.loads(p.read_text())
               for p in promoted_dir.glob("[0-9]*")} if promoted_dir.exists() else {}
    added, closing = replay(arrived)
    went_on = set()
    for record, new in zip(arrived, added):
        reporter = record["trial"]
        if new is None:
            continue
        went_on.add(new)
        if new == reporter:
            continue
        promotion = records.pop(new, None)
        if promotion is None or promotion["by"] != reporter or promotion["by_rung"] != k:
            fail(f"rung {k}: trial {reporter}'s arrival promoted paused trial {new}, "
                 f"but its record is {promotion}")
        last_host[new] = (reporter, k, k)
        hosted += 1
    if closing is not None:
        # The rung closed: its best ceil(n/4) go on. A trial whose result found it closed
        # resumes the one floor(n/4) had left paused (or it was the closing trial itself).
        went_on.add(closing)
        promotion = records.pop(closing, None)
        if promotion is None: fail(f"rung {k} closed, promoting {closing}, but has no record")
        if promotion["by"] != closing:
            last_host[closing] = (promotion["by"], promotion["by_rung"], k)
            hosted += 1
    if records: fail(f"rung {k}: promotion records the rule does not give: {records}")
    for t in went_on:
        if steps[t][-1] < rungs[k + 1]: fail(f"trial {t} was promoted at rung {k} but stopped "
                                              f"after {steps[t][-1]} epochs")
    for t in set(last_host) & went_on:
        log = (exp / "trials" / str(t) / "stdout.log").read_text()
        if "resumed from" not in log:
            fail(f"trial {t} did not resume from its checkpoint:\n{log[-2000:]}")
    expected = len(went_on)
# A resumed trial ran last in the task where the trial that promoted it last paused: the
# task whose Slurm output has that launcher's line (a chain: the promoter may itself have
# been resumed in another trial's task), and the batch script's line after it.
outputs = {p.name.split("_")[1].split(".")[0]: p.read_text()
           for p in (exp / "slurm").glob("*_*.out")}
for t, (by, by_rung, k) in last_host.items():
    said = (f"trial {by} paused at rung {by_rung} " if by_rung + 1 < len(rungs)
            else f"trial {by} reached the last rung")
    resumes = f"this task resumes paused trial {t} next (promoted at rung {k})"
    tasks = [task for task, text in outputs.items()
             if any(said in line and resumes in line for line in text.splitlines())]
    if len(tasks) != 1:
        fail(f"trial {t}'s promotion by trial {by}: its line is in tasks {tasks}, not in one")
    if result[t]["array_task_id"] != tasks[0]:
        fail(f"trial {t} ran last in task {result[t]['array_task_id']}, not in task "
             f"{tasks[0]}, where trial {by} promoted it")
    if f"this task resumes promoted trial {t}" not in outputs[tasks[0]]:
        fail(f"the batch script of task {tasks[0]} does not say it resumes trial {t}")
if hosted == 0:
    fail("no paused trial was promoted: the arrival order promoted only reporting trials")
best = results.get("best_trial")
if best is None or status[int(best)] != "completed":
    fail(f"the best trial should be the completed one: {best}")
print(f"ok: {hosted} paused trial(s) resumed in the task of the trial that promoted them; "
      f"best {best}")
PY
