#!/usr/bin/env bash
# Two-user security, staging finding 2 (docs/security.md): B copies the name and id of A's public dataset
# into the dataset.json of B's own datasets (one per version A has and will publish), has
# them staged by root first, and A's jobs, and A's own non-root stage, must still read A's
# bytes: the ones A published, including a version A publishes after B's attack.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup poison_public
security_store_setup

create_dataset "$user_a" apub "alice v1" --public
a_id="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' \
    "$store/datasets/apub/dataset.json")"
# B's look-alike: versions 1..3 of poison, each claiming to be A's apub.
for version in 1 2 3; do
    create_dataset "$user_b" bpoison "bob poison v$version" --public
done
rewrite_dataset_json "$user_b" "$store/datasets/bpoison" 'name="apub"' "id=\"$a_id\""

scenario "finding 2: B's copy of A's public dataset id never reaches A's jobs"
for version in 1 2 3; do
    run_job "$user_b" "poison$version" "--datastore=bpoison:$version" true
done
run_job "$user_a" use1 "--datastore=apub" 'cat "$HPSWEEP_DATASTORE_APUB/which.txt"'
[[ "$job_state" == "COMPLETED " ]] || hardening_fail "A's job ended $job_state: $(cat "$job_err")"
[[ "$(cat "$job_out")" == "alice v1" ]] || hardening_fail "A's job read '$(cat "$job_out")', not 'alice v1'"
# A publishes version 2 after B's attack: B's copy of "apub v2" must not be what A gets.
create_dataset "$user_a" apub "alice v2" --public
run_job "$user_a" use2 "--datastore=apub" 'cat "$HPSWEEP_DATASTORE_APUB/which.txt"'
[[ "$job_state" == "COMPLETED " ]] || hardening_fail "A's job on v2 ended $job_state: $(cat "$job_err")"
[[ "$(cat "$job_out")" == "alice v2" ]] ||
    hardening_fail "A's job read '$(cat "$job_out")' for apub:2 (published after B staged a forged apub:2), not 'alice v2'"
hardening_pass "B staged bpoison:1..3 claiming apub's id first; A's jobs read 'alice v1', then 'alice v2' for the version published afterwards"

scenario "finding 2: A's non-root stage never picks up B's copy"
create_dataset "$user_a" apub "alice v3" --public
# In a job on the node, so the stage sees root's cache there (the one B's job filled).
run_job "$user_b" poison3 "--datastore=bpoison:3" true
CACHE="$plugin_cache" run_job "$user_a" stage3 "" \
    'p="$(hpsweep datastore stage apub)" && cat "$p/which.txt"'
[[ "$job_state" == "COMPLETED " ]] || hardening_fail "A's stage job ended $job_state: $(cat "$job_err")"
[[ "$(cat "$job_out")" == "alice v3" ]] ||
    hardening_fail "A's own stage of apub read '$(cat "$job_out")', not 'alice v3'"
hardening_pass "after B's job staged a forged apub:3 into root's cache, A's 'hpsweep datastore stage apub' on that node read 'alice v3'"
echo "PASS: security_poison_public"
