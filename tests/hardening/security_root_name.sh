#!/usr/bin/env bash
# Two-user security, staging finding 6 (docs/security.md): the name in B's dataset.json must not choose the
# job variables the plugin sets. A dataset.json that says its name is "root" must not set
# HPSWEEP_DATASTORE_ROOT (the store every hpsweep command in the job would then use) in A's
# job that uses it; one that says it is another dataset must not override that dataset's
# HPSWEEP_DATASTORE_<NAME> in a job that uses both. A's job may be refused; when it runs,
# it sees A's store and A's bytes.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup root_name
security_store_setup

create_dataset "$user_a" apub "alice's bytes" --public
create_dataset "$user_b" broot "bob's store" --public
create_dataset "$user_b" bshadow "bob's bytes" --public
rewrite_dataset_json "$user_b" "$store/datasets/broot" 'name="root"'
rewrite_dataset_json "$user_b" "$store/datasets/bshadow" 'name="apub"'

scenario "finding 6: a dataset.json named 'root' cannot set HPSWEEP_DATASTORE_ROOT"
run_job "$user_a" useroot "--datastore=broot" 'echo "root=$HPSWEEP_DATASTORE_ROOT"'
grep -qxF "root=$store" "$job_out" || [[ "$job_state" != "COMPLETED " && ! -s "$job_out" ]] ||
    hardening_fail "A's job using B's dataset had $(cat "$job_out") (A's store is $store)"
hardening_pass "A's job with B's dataset claiming the name 'root': ${job_state% }, HPSWEEP_DATASTORE_ROOT $(grep -q . "$job_out" && echo "stays $store" || echo "never seen by a task")"

scenario "finding 6: a forged name cannot override another dataset's variable"
run_job "$user_a" useboth "--datastore=apub,bshadow" 'cat "$HPSWEEP_DATASTORE_APUB/which.txt"'
if [[ "$job_state" == "COMPLETED " ]]; then
    [[ "$(cat "$job_out")" == "alice's bytes" ]] ||
        hardening_fail "A's HPSWEEP_DATASTORE_APUB held '$(cat "$job_out")' after B's dataset claimed the name apub"
fi
grep -qF "bob's bytes" "$job_out" && hardening_fail "A's job read B's bytes through HPSWEEP_DATASTORE_APUB"
hardening_pass "A's job with apub and B's bshadow (claiming the name apub): ${job_state% }, HPSWEEP_DATASTORE_APUB never B's bytes"
echo "PASS: security_root_name"
