#!/usr/bin/env bash
# Two-user security, staging finding 9 (docs/security.md): B's manifest declares four 2-byte files, but B
# grew the objects behind them to 64 MiB each. Root's fill for B's job must never write more
# than cache_max into the cache (the cache sampled while the job stages, and the bytes B's
# slurmstepd wrote), and leaves nothing behind.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup cache_max
cache_max_mib=8
security_store_setup "cache_max=${cache_max_mib}M"

as_b mkdir -p "$work/home-b/big"
as_b bash -c 'for f in a b c d; do echo $f >"$1/$f.txt"; done' fill "$work/home-b/big"
as_b hpsweep datastore create bbig "$work/home-b/big" --public >/dev/null || hardening_fail "B could not create bbig"
as_b find "$store/datasets/bbig/objects" -type f -exec chmod u+w {} + -exec truncate -s 64M {} + ||
    hardening_fail "B could not grow the objects of bbig"
[[ "$(find "$store/datasets/bbig/objects" -type f -size +60M | wc -l)" == 4 ]] ||
    hardening_fail "bbig's objects are not 4 x 64 MiB: $(find "$store/datasets/bbig/objects" -type f -printf '%s ')"

# B's second dataset has a FIFO for its dataset.json (finding 5): a root that blocks on it
# keeps B's slurmstepd alive after the fill, so its write count can be read.
create_dataset "$user_b" bhold "hold" --public
as_b bash -c 'rm "$1" && mkfifo "$1"' hold "$store/datasets/bhold/dataset.json"
release_fifo() { timeout 1 bash -c 'exec 3>"$1"' w "$store/datasets/bhold/dataset.json" 2>/dev/null || true; }
security_cleanup_extra+="; release_fifo"

scenario "finding 9: a manifest that understates sizes cannot fill the cache past cache_max"
cache="$(node_cache n1)"
mkdir -p "$cache"
# Two witnesses: the bytes in root's cache (apparent sizes, sampled as often as it can),
# and the bytes B's slurmstepd passed to write() (its /proc io wchar, which only grows).
/usr/bin/python3 - "$cache" "$work/peak" "$work/stop-sampling" <<'PY' &
import os, sys
cache, peak_file, stop = sys.argv[1:]
peak = 0
parent = os.getppid()  # and stops with the test, however it ends
while not os.path.exists(stop) and os.getppid() == parent:
    total = 0
    for top, dirs, files in os.walk(cache):
        for name in files:
            try:
                total += os.lstat(os.path.join(top, name)).st_size
            except OSError:
                pass
    peak = max(peak, total)
with open(peak_file, "w") as f:
    f.write(str(peak))
PY
sampler=$!
job_id="$(as_b sbatch --parsable -w n1 -t 2 -o "$work/home-b/big.out" -e "$work/home-b/big.err" \
    --datastore=bbig,bhold --wrap true)" || hardening_fail "B's sbatch was refused"
wchar=0
stable=0
for _ in $(seq 1 100); do  # up to 10 s, until the step is gone or its count rests for 1 s
    pid="$(pgrep -f "^slurmstepd: \[$job_id\.batch\]" | head -1 || true)"
    now="$(awk '/^wchar:/ {print $2}' "/proc/${pid:-0}/io" 2>/dev/null || true)"
    if [[ -n "$now" ]]; then
        if ((now > wchar)); then wchar=$now stable=0; else stable=$((stable + 1)); fi
        ((stable >= 10)) && break
    elif [[ -z "$(squeue -h -j "$job_id" 2>/dev/null)" ]]; then
        break
    fi
    sleep 0.1
done
release_fifo
job_state="$(wait_job "$job_id")"
touch "$work/stop-sampling"
wait "$sampler" || hardening_fail "the cache sampler failed"
peak="$(cat "$work/peak")"
limit=$(( (cache_max_mib + 4) << 20 ))  # cache_max, plus the fill's buffers and metadata
((peak <= limit)) ||
    hardening_fail "root's cache held $((peak >> 20)) MiB (cache_max=${cache_max_mib}M) while staging B's job (${job_state% })"
((wchar <= limit)) ||
    hardening_fail "B's slurmstepd wrote $((wchar >> 20)) MiB (cache_max=${cache_max_mib}M) staging 4 objects its manifest calls 2 bytes each (${job_state% })"
left="$(find "$cache" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')"
((left <= limit)) || hardening_fail "$((left >> 20)) MiB left in the cache after B's job"
hardening_pass "B's job staging 4 x 64 MiB objects its manifest calls 2 bytes: ${job_state% }, cache peak $((peak >> 10)) KiB sampled, slurmstepd wrote $((wchar >> 10)) KiB (cache_max ${cache_max_mib} MiB), $((left >> 10)) KiB left"
echo "PASS: security_cache_max"
