#!/usr/bin/env bash
# Two-user security, staging finding 7 (docs/security.md): B opens every file and directory B can open in
# root's node-local cache and holds an exclusive flock on each. A's next job must still get
# the cached copy promptly: no wait for B's locks, no fallback to the shared store.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup lock_squat
security_store_setup

bound_seconds=10
create_dataset "$user_a" apub "alice's bytes" --public
run_job "$user_a" first "--datastore=apub" 'echo "$HPSWEEP_DATASTORE_APUB"'
[[ "$job_state" == "COMPLETED " ]] || hardening_fail "A's first job ended $job_state: $(cat "$job_err")"
cached_path="$(cat "$job_out")"

scenario "finding 7: B's flocks on root's cache files cannot stall or divert A's step"
# B's squatter, a job of B's on the same node: everything B can open under root's cache,
# each flocked LOCK_EX, held until the test ends (the cleanup cancels B's jobs).
cat >"$work/squat.py" <<'PY'
import fcntl, os, sys, time
held = []
for top, dirs, files in os.walk(sys.argv[1]):
    for name in dirs + files:
        path = os.path.join(top, name)
        for flags in (os.O_RDWR, os.O_RDONLY):
            try:
                fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held.append(path)
            except OSError:
                os.close(fd)
            break
with open(sys.argv[2] + ".tmp", "w") as out:
    out.write("".join(p + "\n" for p in held))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
time.sleep(600)
PY
chmod 0644 "$work/squat.py"
as_b sbatch --parsable -w n1 -t 5 -o /dev/null -e "$work/home-b/squat.err" \
    --wrap "/usr/bin/python3 $work/squat.py $plugin_cache $work/home-b/held.txt" >/dev/null ||
    hardening_fail "B's squatter job was refused"
for _ in $(seq 1 150); do [[ -e "$work/home-b/held.txt" ]] && break; sleep 0.1; done
[[ -e "$work/home-b/held.txt" ]] || hardening_fail "B's squatter did not start: $(cat "$work/home-b/squat.err" 2>/dev/null)"
held="$(grep -c . "$work/home-b/held.txt" || true)"
start=$SECONDS
run_job "$user_a" second "--datastore=apub" 'echo "$HPSWEEP_DATASTORE_APUB"; cat "$HPSWEEP_DATASTORE_APUB/which.txt"'
took=$((SECONDS - start))
[[ "$job_state" == "COMPLETED " ]] || hardening_fail "A's job ended $job_state: $(cat "$job_err")"
((took <= bound_seconds)) ||
    hardening_fail "A's job took ${took} s with B holding flocks on $held files of root's cache ($(head -3 "$work/home-b/held.txt" | tr '\n' ' '))"
[[ "$(sed -n 2p "$job_out")" == "alice's bytes" ]] || hardening_fail "A's job read '$(sed -n 2p "$job_out")'"
[[ "$(head -1 "$job_out")" != "$store"* ]] ||
    hardening_fail "A's job fell back to the store ($(head -1 "$job_out")) while B held flocks on $held files of root's cache"
hardening_pass "B held LOCK_EX on the $held files/dirs of root's cache B could open; A's next job got the cached copy in ${took} s (first: $cached_path)"
echo "PASS: security_lock_squat"
