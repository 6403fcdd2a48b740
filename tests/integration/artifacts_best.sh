#!/usr/bin/env bash
# Scenario: each trial writes a model file into $HPSWEEP_ARTIFACTS_DIR; `hpsweep artifacts
# EXP --best --to DIR` copies the best trial's (smallest loss), byte for byte, and
# `hpsweep artifacts EXP TRIAL` lists a trial's. Copying over existing files is refused.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_user_work_dir artifacts_best
cat >train.py <<'PY'
import hashlib, json, os, sys
lr = float(sys.argv[sys.argv.index("--lr") + 1])
loss = abs(lr - 0.2)
model = hashlib.sha256(f"weights for lr={lr}".encode()).digest() * 4096  # 128 KiB
out = os.environ["HPSWEEP_ARTIFACTS_DIR"]
with open(os.path.join(out, "model.bin"), "wb") as f:
    f.write(model)
os.makedirs(os.path.join(out, "plots"), exist_ok=True)
with open(os.path.join(out, "plots", "loss.txt"), "w") as f:
    f.write(f"{loss:.2f}\n")
print("HPSWEEP_METRIC " + json.dumps({"step": 1, "loss": loss}))
PY
hpsweep run --wait --name arts train.py --lr "[0.05, 0.2, 0.6]" >/dev/null ||
    fail "the sweep failed: $(cat "$HPSWEEP_HOME"/arts-*/trials/*/stderr.log 2>/dev/null)"
exp="$(ls -d "$HPSWEEP_HOME"/arts-*)"

copied="$(hpsweep artifacts arts --best --to "$work/best")" || fail "artifacts --best exited $?: $copied"
expect_contains "$copied" "copied 2 file(s)" "artifacts --best --to output"
cmp "$work/best/model.bin" "$exp/trials/1/artifacts/model.bin" || fail "best model differs from trial 1's"
/usr/bin/python3 - "$work/best/model.bin" <<'PY' || fail "the copied model is not the lr=0.2 model"
import hashlib, sys
expected = hashlib.sha256(b"weights for lr=0.2").digest() * 4096
sys.exit(0 if open(sys.argv[1], "rb").read() == expected else 1)
PY
[[ "$(cat "$work/best/plots/loss.txt")" == "0.00" ]] || fail "plots/loss.txt not copied"

listed="$(hpsweep artifacts arts 2 --json)" || fail "artifacts arts 2 exited $?"
/usr/bin/python3 - "$listed" <<'PY' || exit 1
import json, sys
j = json.loads(sys.argv[1])
paths = [(f["path"], f["bytes"]) for f in j["files"]]
if j["trial"] != 2 or paths != [("model.bin", 131072), ("plots/loss.txt", 5)]:
    print("FAIL: listing of trial 2:", j, file=sys.stderr); sys.exit(1)
PY
rc=0
again="$(hpsweep artifacts arts --best --to "$work/best" 2>&1)" || rc=$?
[[ "$rc" -ne 0 ]] || fail "copying over existing artifacts succeeded"
expect_contains "$again" "exists; nothing was copied" "the refusal to overwrite"
echo "PASS: the best trial's artifacts copied byte for byte; listing and overwrite refusal work"
