#!/usr/bin/env bash
# Two-user security, staging finding 4 (docs/security.md): a dataset owner replaces the tmp/ and objects/
# directories of their datasets by symlinks to files they cannot touch (canaries of
# another user, root-owned here). Root's `hpsweep datastore gc` and `delete` must leave the
# canaries alone, and gc must still collect the other datasets.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup gc_links
store="$work/store"
mkdir -p "$store/datasets" && chmod 0755 "$store" && chmod 1777 "$store/datasets"

# Canaries: root's files, old enough for any grace period, in the layout gc walks
# (tmp/<entry>, objects/<prefix>/<object>).
canaries="$work/canaries"
plant_canaries() {
    rm -rf "$canaries"
    mkdir -p "$canaries/tmp/v-old" "$canaries/objects/ab"
    echo canary >"$canaries/tmp/v-old/keep"
    echo canary >"$canaries/tmp/old-file"
    echo canary >"$canaries/objects/ab/abcdef0123456789abcdef0123456789"
    touch -h -d '2 days ago' "$canaries"/tmp/v-old/keep "$canaries"/tmp/* "$canaries"/objects/ab/*
    chmod -R go-w "$canaries"
}
snapshot() { find "$canaries" -printf '%p %i %U %m %s\n' | sort; }
root_hpsweep() { HPSWEEP_DATASTORE_ROOT="$store" hpsweep datastore "$@"; }

create_dataset "$user_a" alinks "a1"
create_dataset "$user_a" alinks "a2"
create_dataset "$user_a" adel "d1"
create_dataset "$user_a" adel "d2"
# A dataset after the attacker's in gc's order, with an abandoned temporary to collect.
create_dataset "$user_a" zclean "z1"
as_a mkdir "$store/datasets/zclean/tmp/v-abandoned"
as_a touch -d '2 days ago' "$store/datasets/zclean/tmp/v-abandoned"
plant_links() {  # A turns DATASET's tmp/ and objects/ into links to the canaries
    local dir="$store/datasets/$1"
    as_a bash -c 'cd "$1" && mv tmp tmp.real && mv objects objects.real &&
        ln -s "$2/tmp" tmp && ln -s "$2/objects" objects' plant "$dir" "$canaries"
}

scenario "finding 4: root's gc and delete never follow a dataset owner's links"
plant_canaries
plant_links alinks
plant_links adel
before="$(snapshot)"
root_hpsweep gc --grace 60 >"$work/gc.out" 2>&1 || true  # may report the links; must not follow them
after="$(snapshot)"
[[ "$before" == "$after" ]] ||
    hardening_fail "root's gc followed A's links: $(diff <(echo "$before") <(echo "$after") | head -10 | tr '\n' ' ') (gc said: $(tr '\n' ' ' <"$work/gc.out"))"
[[ ! -e "$store/datasets/zclean/tmp/v-abandoned" ]] ||
    hardening_fail "gc did not collect zclean's abandoned temporary after the linked datasets: $(tr '\n' ' ' <"$work/gc.out")"
root_hpsweep delete adel:1 >"$work/delete.out" 2>&1 || true
after="$(snapshot)"
[[ "$before" == "$after" ]] ||
    hardening_fail "root's delete adel:1 followed A's links: $(diff <(echo "$before") <(echo "$after") | head -10 | tr '\n' ' ') (delete said: $(tr '\n' ' ' <"$work/delete.out"))"
root_hpsweep delete adel >"$work/delete.out" 2>&1 || true
after="$(snapshot)"
[[ "$before" == "$after" ]] ||
    hardening_fail "root's delete adel followed A's links: $(diff <(echo "$before") <(echo "$after") | head -10 | tr '\n' ' ')"
hardening_pass "A's tmp/ and objects/ links to root's canaries: gc --grace 60, delete adel:1 and delete adel leave every canary (inode, owner, mode, size); gc still collects zclean's abandoned tmp/ entry"
echo "PASS: security_gc_links"
