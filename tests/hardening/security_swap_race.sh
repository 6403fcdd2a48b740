#!/usr/bin/env bash
# Two-user security, staging finding 3 (docs/security.md): B owns two datasets shared with a group A is
# in, and exchanges their directory names (renameat2 RENAME_EXCHANGE) in a loop while root
# stages both for A. However the race falls, A must never get one dataset's bytes under the
# other's name (a step may be refused, or fall back to the store). In-process: the built
# hpsweep.so driven by tests/spank_host as slurmstepd drives it, 1,000 steps, each a fresh
# fill (its own cache dir), against a racing process of B's.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup swap_race

host="$HPSWEEP_BUILD_DIR/tests/bin/hpsweep-spank-host"
[[ -x "$host" ]] || hardening_fail "$host is not built (target hpsweep_spank_host)"
runs="${HPSWEEP_SWAP_RACE_RUNS:-1000}"
store="$work/store"
mkdir -p "$store/datasets" && chmod 0755 "$store" && chmod 1777 "$store/datasets"
group=hpsw-sec-g
if ! getent group "$group" >/dev/null; then
    groupadd --system "$group" || hardening_fail "groupadd $group failed"
    security_cleanup_extra="groupdel $group"
fi
usermod -a -G "$group" "$user_a" && usermod -a -G "$group" "$user_b"
gid_a="$(id -g "$user_a")"
gid_b="$(id -g "$user_b")"
gid_g="$(getent group "$group" | cut -d: -f3)"

for name in swapone swaptwo; do
    create_dataset "$user_b" "$name" "$name"
    as_b chgrp -R "$group" "$store/datasets/$name"
    as_b chmod 0750 "$store/datasets/$name"
done

scenario "finding 3: exchanging two group-shared datasets' names never hands A the other's bytes"
result="$("$host" race --uid "$uid_a" --gid "$gid_a" --groups "$gid_a,$gid_g" \
    --arg config=none --arg "datastore_root=$store" --arg "cache_dir=$work/race-cache/{run}" \
    --option datastore=swapone,swaptwo --racer-uid "$uid_b" --racer-gid "$gid_b" \
    --swap-dir "$store/datasets" --swap swapone,swaptwo --runs "$runs" 2>"$work/race.err")" ||
    hardening_fail "the racer won: $result $(grep -v '^spank-host: verbose' "$work/race.err" | tail -3 | tr '\n' ' ')"
read -r _ done_runs _ staged _ fallbacks _ refused _ wins <<<"$(head -1 <<<"$result")"
[[ "$done_runs" == "$runs" && "$wins" == 0 ]] || hardening_fail "unexpected summary: $result"
((staged > 0)) || hardening_fail "no step staged anything, so the race was never run: $result"
hardening_pass "$runs steps staging swapone,swaptwo for A while B swaps them: $staged datasets staged into the cache, $fallbacks fallbacks to the store, $refused steps refused, 0 wins"
echo "PASS: security_swap_race"
