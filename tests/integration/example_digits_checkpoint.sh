#!/usr/bin/env bash
# examples/digits/train.py's checkpointing, in Slurm steps on the local cluster through
# hpsweep-launch: it checkpoints every epoch into $HPSWEEP_CHECKPOINT_DIR/last.pt, a new
# run resumes after the last checkpointed epoch (reports only the epochs after it), and
# SIGUSR2 (the preemption notice, sent with `scancel --signal=USR2` and forwarded by
# hpsweep-launch) makes it checkpoint at the end of the epoch and exit 0. Also the
# tutorial's --fail_once_lr: exit 3 on the first attempt, training on the second.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir example_digits_checkpoint
job_name="h3-digits-checkpoint-$$"
on_exit 'scancel -n "$job_name" 2>/dev/null || true'
train="${HPSWEEP_SOURCE_DIR:?}/examples/digits/train.py"
export HPSWEEP_CHECKPOINT_DIR="$work/checkpoints" HPSWEEP_TRIAL_DIR="$work"
mkdir -p "$HPSWEEP_CHECKPOINT_DIR"
# Through hpsweep-launch, as in a trial (it forwards SIGUSR2), or straight under srun
# (train.py then prints its HPSWEEP_METRIC lines on stdout: no launcher pipe).
step() { srun -J "$job_name" -N1 -n1 hpsweep-launch -- /usr/bin/python3 "$train" "$@"; }
plain_step() { srun -J "$job_name" -N1 -n1 /usr/bin/python3 "$train" "$@"; }
steps_reported() { sed -n 's/^HPSWEEP_METRIC {"step": *\([0-9]*\),.*/\1/p' | tr '\n' ' '; }

out="$(plain_step --epochs 3)" || fail "first run exited $?: $out"
[[ -f "$HPSWEEP_CHECKPOINT_DIR/last.pt" ]] || fail "no checkpoint after 3 epochs: $out"
out="$(plain_step --epochs 5)" || fail "second run exited $?: $out"
grep -q "resumed from $HPSWEEP_CHECKPOINT_DIR/last.pt after epoch 3" <<<"$out" || fail "did not resume: $out"
[[ "$(steps_reported <<<"$out")" == "4 5 " ]] || fail "resumed run reported steps '$(steps_reported <<<"$out")', expected 4 5"

# Preemption notice: a long run, signalled once it has checkpointed at least one epoch.
rm -f "$HPSWEEP_CHECKPOINT_DIR/last.pt"
step --epochs 100000 >"$work/long.out" 2>&1 &
long=$!
for _ in $(seq 1 300); do
    [[ -f "$HPSWEEP_CHECKPOINT_DIR/last.pt" ]] && break
    sleep 0.2
done
[[ -f "$HPSWEEP_CHECKPOINT_DIR/last.pt" ]] || fail "the long run never checkpointed: $(cat "$work/long.out")"
scancel --signal=USR2 -n "$job_name"
rc=0
wait "$long" || rc=$?
out="$(cat "$work/long.out")"
[[ "$rc" -eq 0 ]] || fail "after SIGUSR2 the run exited $rc, expected 0: $out"
grep -q "preemption notice (SIGUSR2): checkpointed after epoch" <<<"$out" || fail "no preemption message: $out"
last_epoch="$(sed -n 's/^preemption notice (SIGUSR2): checkpointed after epoch \([0-9]*\),.*/\1/p' <<<"$out")"
saved_epoch="$(/usr/bin/python3 -c 'import sys, torch; print(torch.load(sys.argv[1])["epoch"] + 1)' "$HPSWEEP_CHECKPOINT_DIR/last.pt")"
[[ "$last_epoch" == "$saved_epoch" ]] || fail "checkpoint holds epoch $saved_epoch, the program said $last_epoch"

# --fail_once_lr: the first attempt fails (exit 3) and leaves its marker, the next trains.
rm -f "$HPSWEEP_CHECKPOINT_DIR/last.pt"
rc=0
step --epochs 1 --lr 0.5 --fail_once_lr 0.5 >"$work/flaky.out" 2>&1 || rc=$?
[[ "$rc" -eq 3 && -f "$work/failed-once.marker" ]] || fail "first flaky attempt exited $rc: $(cat "$work/flaky.out")"
step --epochs 1 --lr 0.5 --fail_once_lr 0.5 >"$work/flaky.out" 2>&1 || fail "second flaky attempt: $(cat "$work/flaky.out")"
echo "PASS: resume after epoch 3, SIGUSR2 checkpoint at epoch $saved_epoch and exit 0, fail-once"
