#!/usr/bin/env bash
# Two-user security, staging finding 10 (docs/security.md): after root staged A's private dataset for A's
# job, B reads everything B can under root's node-local cache (file names at every level,
# the content of every file B may open: metadata, fills.log, ...) from a job on that node.
# None of it may name A's private dataset, its id, or A's uid as the one it was filled for.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup private_meta
security_store_setup

secret_name="alicehiddenproject"
create_dataset "$user_a" "$secret_name" "alice's secret bytes" --private
secret_id="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' \
    "$store/datasets/$secret_name/dataset.json")"
run_job "$user_a" use "--datastore=$secret_name" 'cat "$HPSWEEP_DATASTORE_ALICEHIDDENPROJECT/which.txt"'
[[ "$job_state" == "COMPLETED " ]] || hardening_fail "A's job ended $job_state: $(cat "$job_err")"

scenario "finding 10: B reads nothing of A's private dataset in root's cache"
cat >"$work/snoop.py" <<'PY'
import os, sys
print("walked:", sys.argv[1])
for top, dirs, files in os.walk(sys.argv[1]):
    for name in dirs + files:
        path = os.path.join(top, name)
        print("name:", path)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            with os.fdopen(fd, "rb") as f:
                print("content:", f.read(1 << 20).decode(errors="replace"))
        except (IsADirectoryError, OSError):
            pass
PY
chmod 0644 "$work/snoop.py"
run_job "$user_b" snoop "" "/usr/bin/python3 $work/snoop.py $plugin_cache"
[[ "$job_state" == "COMPLETED " ]] || hardening_fail "B's snooping job ended $job_state: $(cat "$job_err")"
grep -q "^walked: " "$job_out" || hardening_fail "B's snooping job did not run: $(cat "$job_err")"
found="$(grep -oE "$secret_name|$secret_id|uid[\"=: ]+$uid_a\b|u${uid_a}g" "$job_out" | sort -u | tr '\n' ' ' || true)"
[[ -z "$found" ]] || hardening_fail "B read A's private dataset in root's cache: $found (e.g. $(grep -m2 -E "$secret_name|$secret_id" "$job_out" | cut -c1-200 | tr '\n' ' '))"
hardening_pass "B's job walked root's cache ($(grep -c '^name: ' "$job_out") names, $(grep -c '^content: ' "$job_out") files read): no '$secret_name', no id, no uid $uid_a filled-for"
echo "PASS: security_private_meta"
