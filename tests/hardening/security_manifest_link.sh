#!/usr/bin/env bash
# Two-user security, staging finding 8 (docs/security.md): B's manifest.json is a symlink into A's private
# dataset (A's manifest), or B's real manifest swapped for that link while B's job stages.
# Root must not read A's manifest for B: none of A's file names, sizes or hashes may reach
# B's job output or its errors.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup manifest_link
security_store_setup

# A's private dataset with a recognisable file name and size.
as_a mkdir -p "$work/home-a/priv"
as_a bash -c "head -c 1234567 /dev/urandom >'$work/home-a/priv/alice-diary-entry.bin'"
as_a hpsweep datastore create asecret "$work/home-a/priv" --private >/dev/null ||
    hardening_fail "A could not create asecret"
a_manifest="$store/datasets/asecret/versions/1/manifest.json"
a_hash="$(/usr/bin/python3 -c 'import json,sys; print([e for e in json.load(open(sys.argv[1]))["entries"] if e["type"] == "file"][0]["xxh3"])' "$a_manifest")"
leaks() {  # what of A's manifest shows in FILE...
    { grep -hoE "alice-diary-entry|1234567|$a_hash" "$@" 2>/dev/null || true; } | sort -u | tr '\n' ' '
}
create_dataset "$user_b" blinked "bob's bytes" --public
create_dataset "$user_b" bswapped "bob's bytes" --public
b_version="$store/datasets/blinked/versions/1"
as_b bash -c 'chmod u+w "$1" && ln -sf "$2" "$1/manifest.json"' link "$b_version" "$a_manifest"
# Every object directory name exists in B's datasets, so a fill that follows A's manifest
# gets as far as A's objects (and would name them).
for dataset in blinked bswapped; do
    as_b bash -c 'cd "$1" && for p in {0..255}; do mkdir -p "$(printf %02x "$p")"; done' \
        prefixes "$store/datasets/$dataset/objects"
done

scenario "finding 8: B's manifest.json linked into A's private dataset leaks nothing of A's"
run_job "$user_b" linked "--datastore=blinked" 'ls -lR "$HPSWEEP_DATASTORE_BLINKED"'
found="$(leaks "$job_out" "$job_err")"
[[ -z "$found" ]] || hardening_fail "B's job (${job_state% }) shows A's private manifest: $found ($(head -c 300 "$job_err"))"
hardening_pass "B's job with manifest.json -> A's private manifest: ${job_state% }, no name, size or hash of A's file in its output or errors"

scenario "finding 8: B's manifest.json swapped for that link during staging leaks nothing of A's"
b_version="$store/datasets/bswapped/versions/1"
as_b bash -c 'chmod u+w "$1" && cp "$1/manifest.json" "$1/real.json" && ln -s "$2" "$1/link.json"' \
    prepare "$b_version" "$a_manifest"
# B flips manifest.json between B's own and the link to A's while B's jobs stage.
as_b bash -c 'cd "$1" && end=$((SECONDS + 8)); while ((SECONDS < end)); do
    cp -P link.json m.tmp && mv -T m.tmp manifest.json; cp real.json m.tmp && mv -T m.tmp manifest.json; done' \
    flip "$b_version" &
flipper=$!
for attempt in 1 2 3; do
    run_job "$user_b" "swapped$attempt" "--datastore=bswapped" 'ls -lR "$HPSWEEP_DATASTORE_BSWAPPED"'
    found="$(leaks "$job_out" "$job_err")"
    [[ -z "$found" ]] ||
        hardening_fail "B's job $attempt (${job_state% }) with a flipping manifest shows A's private manifest: $found ($(head -c 300 "$job_err"))"
done
wait "$flipper" || true
hardening_pass "3 jobs of B's while B flips manifest.json between B's own and a link to A's: no name, size or hash of A's file in their output or errors"
echo "PASS: security_manifest_link"
