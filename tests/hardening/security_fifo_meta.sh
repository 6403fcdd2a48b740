#!/usr/bin/env bash
# Two-user security, staging finding 5 (docs/security.md): B's dataset.json, manifest.json or tag file is
# a FIFO, or a link to /dev/zero. Root (the plugin in slurmstepd) reads them while staging
# B's jobs: each job must end in bounded time, slurmstepd's memory must stay bounded, and
# the fill lock must not stay held (A's later job staging the repaired dataset works).
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup fifo_meta
security_store_setup

bound_seconds=20
rss_limit_kib=$((512 * 1024))
version_dir() { echo "$store/datasets/$1/versions/1"; }
# B swaps FILE (inside B's dataset) for a FIFO or a link; read-only version dirs are B's to
# make writable again.
replace_as_b() {
    local file=$1 kind=$2
    as_b bash -c 'chmod u+w "$(dirname "$1")" && mv "$1" "$1.real" &&
        if [[ $2 == fifo ]]; then mkfifo "$1"; else ln -s /dev/zero "$1"; fi' replace "$file" "$kind" ||
        hardening_fail "B could not replace $file"
}
# When the test ends, however: the slurmstepd of every attack job still there is killed
# (one reading /dev/zero grows by gigabytes a second and does not answer scancel), a reader
# stuck in a FIFO's open is released (a writer opens and closes it), and nodes drained by
# a killed slurmstepd are resumed for the next test.
attack_pattern=""
release_readers() {
    local pid
    if [[ -n "$attack_pattern" ]]; then
        for pid in $(pgrep -f "^slurmstepd: \[($attack_pattern)\." || true); do kill -KILL "$pid"; done
    fi
    find "$store" -type p -exec timeout 1 bash -c 'exec 3>"$1"' w {} \; 2>/dev/null
    sinfo -h -N -t drain,drng -o %N 2>/dev/null | sort -u |
        xargs -r -I{} scontrol update nodename={} state=resume 2>/dev/null
}
security_cleanup_extra+="; release_readers"

create_dataset "$user_b" fifojson "b1" --public
create_dataset "$user_b" fifomanifest "b2" --public
create_dataset "$user_b" fifotag "b3" --public --tag t1
create_dataset "$user_b" zerojson "b4" --public
create_dataset "$user_b" zeromanifest "b5" --public
replace_as_b "$store/datasets/fifojson/dataset.json" fifo
replace_as_b "$(version_dir fifomanifest)/manifest.json" fifo
replace_as_b "$store/datasets/fifotag/tags/t1" fifo
replace_as_b "$store/datasets/zerojson/dataset.json" zero
replace_as_b "$(version_dir zeromanifest)/manifest.json" zero

scenario "finding 5: FIFOs and /dev/zero as B's metadata neither hang nor bloat root's staging"
jobs=()
node=(n2 n2 n3 n3 n1)
i=0
for ref in fifojson fifomanifest fifotag:t1 zerojson zeromanifest; do
    jobs+=("$(as_b sbatch --parsable -w "${node[$i]}" -t 2 -o /dev/null -e /dev/null \
        --datastore="$ref" --wrap true)") || hardening_fail "B's sbatch --datastore=$ref refused"
    i=$((i + 1))
done
job_list="$(IFS=,; echo "${jobs[*]}")"
attack_pattern="$(IFS='|'; echo "${jobs[*]}")"
deadline=$((SECONDS + bound_seconds))
peak=0
while [[ -n "$(squeue -h -j "$job_list" 2>/dev/null)" ]]; do
    for pid in $(pgrep -f "^slurmstepd: \[($attack_pattern)\." || true); do
        rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)"
        ((rss > peak)) && peak=$rss
        if ((rss > rss_limit_kib)); then
            kill -KILL "$pid" 2>/dev/null || true
            hardening_fail "slurmstepd $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)) grew to $((rss / 1024)) MiB staging B's /dev/zero metadata (killed)"
        fi
    done
    ((SECONDS < deadline)) ||
        hardening_fail "B's jobs still there after ${bound_seconds} s (staging hangs on a FIFO): $(squeue -h -j "$job_list" -o '%i %T %R' | tr '\n' ';')"
    sleep 0.1
done
[[ -z "$(nodes_not_idle)" ]] || hardening_fail "nodes not idle after B's jobs: $(nodes_not_idle)"

# B repairs the manifest; the fill lock of the FIFO attempt must be free for A's job.
as_b mv -f "$(version_dir fifomanifest)/manifest.json.real" "$(version_dir fifomanifest)/manifest.json"
as_b chmod a-w "$(version_dir fifomanifest)"
start=$SECONDS
run_job "$user_a" later "--datastore=fifomanifest" 'cat "$HPSWEEP_DATASTORE_FIFOMANIFEST/which.txt"'
[[ "$job_state" == "COMPLETED " && "$(cat "$job_out")" == "b2" ]] ||
    hardening_fail "A's later job on the repaired dataset: $job_state '$(cat "$job_out")' $(cat "$job_err")"
((SECONDS - start <= bound_seconds)) || hardening_fail "A's later job took $((SECONDS - start)) s (the fill lock was held)"
hardening_pass "B's jobs with a FIFO dataset.json, manifest.json and tag, and /dev/zero dataset.json and manifest.json: all left the queue within ${bound_seconds} s, slurmstepd peak RSS $((peak / 1024)) MiB (limit $((rss_limit_kib / 1024))); A's later job on the repaired dataset read it in $((SECONDS - start)) s"
echo "PASS: security_fifo_meta"
