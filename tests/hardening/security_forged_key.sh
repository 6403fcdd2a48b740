#!/usr/bin/env bash
# Two-user security, staging finding 1 (docs/security.md): a dataset.json whose name and id climb out of
# the cache ("../" in them) must not make root (the plugin in slurmstepd) or another user's
# plain `hpsweep datastore stage` create, rename over, delete or chown anything outside the
# cache, and nothing B wrote may land in a file outside it (where a shell might source it).
# Canaries sit at every path the forged names point at; their inode, owner and content
# must be as they were, and the directories they sit in must hold nothing new.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup forged_key
security_store_setup

climb="../../../../../../../../../../../../../.."
marker='pwned$(id>hpsw-sec-pwned)'  # what a shell sourcing the file would run
# A root-owned directory nobody else may write, where the forged keys point.
victim_dir="$work/victim" && mkdir -m 0755 "$victim_dir"
plant_canaries() {  # DIR OWNER PREFIX: a canary directory and a canary file per suffix
    local dir=$1 owner=$2 prefix=$3 suffix
    for suffix in pub "u${uid_b}g$(id -g "$user_b")m0"; do  # public, private (0700)
        mkdir -p "$dir/$prefix.v1.x.$suffix" && echo canary >"$dir/$prefix.v1.x.$suffix/keep"
        for extra in use fill json json.tmp; do echo canary >"$dir/$prefix.v1.x.$suffix.$extra"; done
    done
    chown -R "$owner:" "$dir"
}
snapshot() { find "$1" -printf '%p %i %U %m %s\n' | sort; find "$1" -type f -exec md5sum {} + | sort; }
plant_canaries "$victim_dir" root canary
chown root: "$victim_dir"
before="$(snapshot "$victim_dir")"

scenario "finding 1: a forged dataset.json name/id cannot make root touch files outside its cache"
create_dataset "$user_b" forgedpub "bob's bytes" --public
create_dataset "$user_b" forgedpriv "bob's private bytes" --private
rewrite_dataset_json "$user_b" "$store/datasets/forgedpub" \
    "name=\"$climb$victim_dir/canary\"" "id=\"x\""
rewrite_dataset_json "$user_b" "$store/datasets/forgedpriv" \
    "name=\"$climb$victim_dir/canary\"" "id=\"x\""
marked="$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$marker")"
create_dataset "$user_b" forgedmark "bob's bytes" --public
rewrite_dataset_json "$user_b" "$store/datasets/forgedmark" \
    "name=\"$climb$victim_dir/canary\"" "id=$marked"
for name in forgedpub forgedpriv forgedmark; do
    run_job "$user_b" "$name" "--datastore=$name" true
done
after="$(snapshot "$victim_dir")"
[[ "$before" == "$after" ]] ||
    hardening_fail "root changed $victim_dir (B's jobs: $job_state): $(diff <(echo "$before") <(echo "$after") | head -20 | tr '\n' ' ')"
leaked="$(grep -rlF 'pwned$(' "$work" --exclude-dir=store --exclude-dir=home-b 2>/dev/null || true)"
[[ -z "$leaked" ]] || hardening_fail "B's forged id landed outside the cache, in: $leaked"
[[ -z "$(nodes_not_idle)" ]] || hardening_fail "nodes not idle: $(nodes_not_idle)"
hardening_pass "B's public, private and \$(...)-marked datasets named '$climb$victim_dir/canary': canary dirs/files (pub, u<uid>g<gid>m0; .use .fill .json) unchanged (inode, owner, mode, content), nothing new in $victim_dir, B's text in no file outside the store"

scenario "finding 1: a forged public dataset cannot make A's own stage touch A's home"
a_home="$work/home-a"
plant_canaries "$a_home/notes" "$user_a" canary
before="$(snapshot "$a_home/notes")"
rewrite_dataset_json "$user_b" "$store/datasets/forgedpub" \
    "name=\"$climb$a_home/notes/canary\"" "id=\"x\""
as_a hpsweep datastore stage forgedpub >/dev/null 2>&1 || true  # refused or staged: either way
after="$(snapshot "$a_home/notes")"
[[ "$before" == "$after" ]] ||
    hardening_fail "A's stage of B's forged dataset changed A's home: $(diff <(echo "$before") <(echo "$after") | head -20 | tr '\n' ' ')"
hardening_pass "A's non-root stage of B's public dataset named '$climb$a_home/notes/canary': A's canaries unchanged"
echo "PASS: security_forged_key"
