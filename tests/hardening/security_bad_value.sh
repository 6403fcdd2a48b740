#!/usr/bin/env bash
# Two-user security, staging finding 11 (docs/security.md): a --datastore value that only slurmstepd sees
# (the client never checked it) and that fails validation there must fail A's job, with a
# message naming the value, instead of the job running without its data. On the cluster: a
# job step whose option comes only through the job's environment (_SLURM_SPANK_OPTION_*,
# which srun passes on unchecked); in-process: the built hpsweep.so driven by
# tests/spank_host exactly as slurmstepd calls it, the option handed to the remote side as
# Slurm hands it (callback with remote = 1), for values the client would have refused.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup bad_value

host="$HPSWEEP_BUILD_DIR/tests/bin/hpsweep-spank-host"
[[ -x "$host" ]] || hardening_fail "$host is not built (target hpsweep_spank_host)"
store="$work/store"
mkdir -p "$store/datasets" && chmod 0755 "$store" && chmod 1777 "$store/datasets"
create_dataset "$user_a" apub "alice's bytes" --public
gid_a="$(id -g "$user_a")"

scenario "finding 11: a bad --datastore value reaching slurmstepd fails the job and names the value"
security_store_setup
run_job "$user_a" envform "" \
    "_SLURM_SPANK_OPTION_hpsweep_datastore='../etc' srun -n1 echo the step ran; exit \$?"
grep -q "the step ran" "$job_out" && hardening_fail "A's step with --datastore='../etc' (job environment) ran its task"
cat "$job_out" "$job_err" | grep -qF -- "../etc" ||
    hardening_fail "A's job (${job_state% }) with --datastore='../etc' in its step's environment did not name the value: $(cat "$job_out" "$job_err" | tr '\n' ' ')"
[[ "$job_state" != "COMPLETED " ]] ||
    hardening_fail "A's job with --datastore='../etc' in its step's environment COMPLETED"
for value in '../etc' 'apub,../etc' 'apub:1:2' 'root' 'apub,'; do
    if output="$("$host" step --uid "$uid_a" --gid "$gid_a" --groups "$gid_a" \
        --arg config=none --arg "datastore_root=$store" --arg "cache_dir=$work/cache" \
        --option "datastore=$value" 2>&1)"; then
        hardening_fail "A's step with --datastore='$value' started its task: $(grep -v '^env ' <<<"$output" | tr '\n' ' ')"
    fi
    grep -q '^task refused' <<<"$output" || hardening_fail "--datastore='$value': $output"
    # What the job's user sees: not the job's environment, not slurmstepd's own log
    # (slurm_error & co., prefixed "spank-host:" by the host).
    grep -v '^env \|^spank-host: ' <<<"$output" | grep -qF -- "$value" ||
        hardening_fail "A's step with --datastore='$value' failed without naming the value: $(tr '\n' ' ' <<<"$output")"
done
hardening_pass "srun with _SLURM_SPANK_OPTION_hpsweep_datastore='../etc': step refused, job ${job_state% }, value named; --datastore='../etc', 'apub,../etc', 'apub:1:2', 'root', 'apub,' given to slurmstepd's side: each step's task refused, with the value in the message"
echo "PASS: security_bad_value"
