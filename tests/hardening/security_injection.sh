#!/usr/bin/env bash
# Two-user security, injection: what a user puts in a job's environment or in an
# option value never steers the parts of the plugin that run as root, bad option values are
# refused when submitted, and --hpsweep-trial is resolved with the job user's rights only.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup injection

store="$work/store"
security_cache_name="sec-inj-cache-$$"
security_cleanup_extra='rm -rf "$HPSWEEP_CLUSTER_DIR"/nodes/*/"$security_cache_name"'
mkdir -p "$store/datasets" && chmod 0755 "$store" && chmod 1777 "$store/datasets"
enable_plugin "datastore_root=$store" "cache_dir=$HPSWEEP_NODE_LOCAL_DIR/$security_cache_name"
as_a mkdir -p "$work/home-a/pub"
as_a bash -c "echo 'real data' >'$work/home-a/pub/p.txt'"
as_a hpsweep datastore create shared "$work/home-a/pub" --public >/dev/null || hardening_fail "create shared"

scenario "B's environment does not steer the root plugin"
# B's own store holds a poisoned 'shared' and an 'evil' dataset; his site file, cache dir and
# store variables point there. Root (slurmstepd) must use only plugstack.conf's settings.
bstore="$work/home-b/store"
bcache="$work/home-b/cache"
as_b mkdir -p "$work/home-b/poison" "$bstore"
as_b bash -c "echo poison >'$work/home-b/poison/p.txt'"
STORE="$bstore" as_b hpsweep datastore create shared "$work/home-b/poison" --public >/dev/null
STORE="$bstore" as_b hpsweep datastore create evil "$work/home-b/poison" --public >/dev/null
printf 'datastore_root = %s\ncache_dir = %s\n' "$bstore" "$bcache" >"$work/home-b/site.conf"
steer_b() {
    STORE="$bstore" CACHE="$bcache" \
        EXTRA_ENV="HPSWEEP_SITE_CONFIG=$work/home-b/site.conf HPSWEEP_CACHE_MAX=1 HPSWEEP_STAGE_THREADS=100000" \
        as_b "$@"
}
job="$(steer_b sbatch --parsable -w n1 -o "$work/home-b/s.out" -e "$work/home-b/s.err" --datastore=shared \
    --wrap 'echo "$HPSWEEP_DATASTORE_SHARED"; cat "$HPSWEEP_DATASTORE_SHARED/p.txt"')"
state="$(wait_job "$job")"
[[ "$state" == "COMPLETED " ]] || hardening_fail "B's job ended $state: $(cat "$work/home-b/s.err")"
[[ "$(sed -n 2p "$work/home-b/s.out")" == "real data" ]] || hardening_fail "B's variables steered staging: $(cat "$work/home-b/s.out")"
[[ "$(head -1 "$work/home-b/s.out")" == "$HPSWEEP_NODE_LOCAL_DIR/$security_cache_name/"* ]] ||
    hardening_fail "staged outside plugstack's cache_dir: $(head -1 "$work/home-b/s.out")"
job="$(steer_b sbatch --parsable -w n1 -o /dev/null -e "$work/home-b/e.err" --datastore=evil --wrap true)"
state="$(wait_job "$job")"
[[ "$state" == "FAILED " ]] || hardening_fail "--datastore=evil (only in B's store) ended $state"
grep -q "evil" "$work/home-b/e.err" || hardening_fail "no error naming evil: $(cat "$work/home-b/e.err")"
[[ ! -e "$bcache" ]] || hardening_fail "something was written to B's HPSWEEP_CACHE_DIR: $(find "$bcache")"
hardening_pass "B's HPSWEEP_DATASTORE_ROOT/CACHE_DIR/SITE_CONFIG/CACHE_MAX/STAGE_THREADS: shared staged from plugstack's store into plugstack's cache ('real data'); evil (only in B's store) fails; B's cache dir never created"

scenario "bad option values are refused when submitted"
bad_values=(
    "--datastore=shared,../../etc" "--datastore=../shared" "--datastore=shared:1;id"
    $'--datastore=shared\nHPSWEEP_DATASTORE_ROOT=/tmp' "--datastore=\$(id)" "--datastore=a b"
    "--datastore=$(printf 'x%.0s' {1..300})" "--gpu-affinity=closest;id" "--gpu-affinity=\`id\`"
    "--hpsweep-trial=$work/does-not-exist" "--hpsweep-trial="
)
for value in "${bad_values[@]}"; do
    expect_refused "B: sbatch ${value:0:60}" as_b sbatch -o /dev/null "$value" --wrap true
    grep -q "hpsweep" <<<"$refused_output" || hardening_fail "refusal of ${value:0:60} does not say hpsweep: $refused_output"
    expect_refused "B: srun ${value:0:60}" as_b srun "$value" true
done
[[ -z "$(squeue -h -u "$user_b")" ]] || hardening_fail "a refused submission left a job: $(squeue -u "$user_b")"
hardening_pass "${#bad_values[@]} values (.., /, ; newline, \$(), backticks, spaces, 300 chars, missing/empty trial dir): sbatch and srun refuse with an hpsweep message, nothing queued"

scenario "--hpsweep-trial is resolved with the job user's rights"
# B's own experiment whose trials/ is a link to a directory only root may write to: if the
# plugin created trial directories as root, B would get a directory there.
rootonly="$work/root-only"
mkdir -p "$rootonly" && chmod 0755 "$rootonly"
as_b mkdir -p "$work/home-b/exp"
as_b bash -c "echo '{\"id\":0,\"hyperparameters\":{\"lr\":0.1},\"argv\":[\"--lr\",\"0.1\"]}' >'$work/home-b/exp/trials.jsonl'"
as_b ln -s "$rootonly" "$work/home-b/exp/trials"
job="$(as_b sbatch --parsable -w n1 --array=0 --hpsweep-trial=exp -o /dev/null -e "$work/home-b/t.err" --wrap 'id')"
state="$(wait_job "$job")"
[[ "$state" == "FAILED " ]] || hardening_fail "B's job with trials -> root-only dir ended $state"
grep -q "cannot create" "$work/home-b/t.err" || hardening_fail "no 'cannot create' error: $(cat "$work/home-b/t.err")"
[[ -z "$(ls -A "$rootonly")" ]] || hardening_fail "root created $(ls -A "$rootonly") for B"
[[ -z "$(nodes_not_idle)" ]] || hardening_fail "nodes not idle: $(nodes_not_idle)"
hardening_pass "trials -> a root-owned 0755 dir: B's array task FAILED with 'cannot create', nothing created there, node idle"
echo "PASS: security_injection"
