#!/usr/bin/env bash
# Two-user security, datastores: user B cannot read, stage, delete, overwrite or
# re-create user A's private (or group-only) datastore through the CLI, through the SPANK
# plugin (`sbatch --datastore`, staged by root in slurmstepd) or through the node-local
# cache (root's copy of a private version is A's only; cached entries are read-only and B
# cannot change one A uses; a cache area B planted for A is not trusted).
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup datastore

store="$work/store"
security_cache_name="sec-cache-$$"
plugin_cache="$HPSWEEP_NODE_LOCAL_DIR/$security_cache_name"
security_cleanup_extra='rm -rf "$HPSWEEP_CLUSTER_DIR"/nodes/*/"$security_cache_name"'
mkdir -p "$store/datasets" && chmod 0755 "$store" && chmod 1777 "$store/datasets"
enable_plugin "datastore_root=$store" "cache_dir=$plugin_cache"

# A's data: a private dataset (umask 077 makes it private too), a group-only one, a public one.
as_a mkdir -p "$work/home-a/src" "$work/home-a/pub"
as_a bash -c "echo 'alice secret v1' >'$work/home-a/src/a.txt'; echo 'shared v1' >'$work/home-a/pub/p.txt'"
as_a hpsweep datastore create secret "$work/home-a/src" --private >/dev/null ||
    hardening_fail "A could not create her private dataset"
UMASK=077 as_a hpsweep datastore create grouponly "$work/home-a/src" >/dev/null ||
    hardening_fail "A could not create grouponly"
as_a chmod 0750 "$store/datasets/grouponly"  # group hpsw-sec-a only: B is not in it
as_a hpsweep datastore create shared "$work/home-a/pub" --public >/dev/null ||
    hardening_fail "A could not create her public dataset"
mkdir -p "$work/home-b/src" && echo "bob's data" >"$work/home-b/src/a.txt" && chown -R "$user_b:" "$work/home-b/src"

scenario "B cannot read A's private datastore (CLI)"
for ref in secret secret:1 grouponly; do
    expect_refused "B: datastore show $ref" as_b hpsweep datastore show "$ref" --files
    grep -q "permission denied" <<<"$refused_output" || hardening_fail "show $ref: $refused_output"
    expect_refused "B: datastore stage $ref" as_b hpsweep datastore stage "$ref"
    grep -q "permission denied" <<<"$refused_output" || hardening_fail "stage $ref: $refused_output"
done
listed="$(as_b hpsweep datastore list --json)"
grep -q '"secret"\|"grouponly"' <<<"$listed" && hardening_fail "B's list shows A's private datasets: $listed"
expect_refused "B: cat the store's copy" as_b cat "$store/datasets/secret/versions/1/data/a.txt"
hardening_pass "show/stage of secret, secret:1 and a 0750 group-only dataset: permission denied; list hides them; store files unreadable"

scenario "B cannot delete, overwrite or re-create A's datastore (CLI)"
for args in "delete secret" "delete secret:1" "delete shared" "tag shared:1 evil"; do
    # shellcheck disable=SC2086
    expect_refused "B: datastore $args" as_b hpsweep datastore $args
done
expect_refused "B: create a version of A's 'secret'" as_b hpsweep datastore create secret "$work/home-b/src" --public
expect_refused "B: create a version of A's 'shared'" as_b hpsweep datastore create shared "$work/home-b/src"
expect_refused "B: rename A's dataset away" as_b mv "$store/datasets/shared" "$store/datasets/gone"
[[ "$(as_a cat "$store/datasets/secret/versions/1/data/a.txt")" == "alice secret v1" ]] ||
    hardening_fail "A's secret changed"
versions="$(as_a hpsweep datastore show shared --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["versions"]))')"
[[ "$versions" == 1 ]] || hardening_fail "shared has $versions versions after B's attempts"
hardening_pass "delete NAME / NAME:1, tag, create with the same name, mv in the sticky datasets/: all refused; A's data and version count unchanged"

scenario "B cannot stage A's private datastore through the plugin"
job="$(as_b sbatch --parsable -w n1 -o "$work/home-b/steal.out" -e "$work/home-b/steal.err" \
    --datastore=secret --wrap 'cat "$HPSWEEP_DATASTORE_SECRET/a.txt"')" || hardening_fail "B's sbatch refused outright"
state="$(wait_job "$job")"
[[ "$state" == "FAILED " ]] || hardening_fail "B's job ended $state"
grep -q "permission denied" "$work/home-b/steal.err" || hardening_fail "no permission error: $(cat "$work/home-b/steal.err")"
grep -q "alice secret" "$work/home-b/steal.out" "$work/home-b/steal.err" && hardening_fail "B's job read A's data"
[[ -z "$(find "$(node_cache n1)" -path '*secret*' 2>/dev/null)" ]] || hardening_fail "root cached A's data for B"
[[ -z "$(nodes_not_idle)" ]] || hardening_fail "nodes not idle: $(nodes_not_idle)"
hardening_pass "sbatch --datastore=secret as B: job FAILED with 'permission denied', nothing cached, node stays idle"

scenario "B cannot read A's private version in the node-local cache"
job="$(as_a sbatch --parsable -w n1 -o "$work/home-a/use.out" -e "$work/home-a/use.err" \
    --datastore=secret,shared --wrap 'cat "$HPSWEEP_DATASTORE_SECRET/a.txt" "$HPSWEEP_DATASTORE_SHARED/p.txt"')"
state="$(wait_job "$job")"
[[ "$state" == "COMPLETED " ]] || hardening_fail "A's job ended $state: $(cat "$work/home-a/use.err")"
grep -q "alice secret v1" "$work/home-a/use.out" || hardening_fail "A's job did not read her data"
# Entries are named by content (SHA256-oOWNER-VISIBILITY), never by the dataset's name:
# A's private copy is the one sealed for A alone (-u<uid>).
entry="$(find "$(node_cache n1)/uid-0/entries" -maxdepth 1 -name "*-u$uid_a")"
[[ -n "$entry" ]] || hardening_fail "no root copy of secret on n1"
[[ "$(stat -c '%U %a' "$entry")" == "$user_a 500" ]] || hardening_fail "private copy is $(stat -c '%U %a' "$entry")"
expect_refused "B: read A's cached private copy" as_b cat "$entry/a.txt"
expect_refused "B: list A's cached private copy" as_b ls "$entry"
out="$(as_b srun -w n1 --datastore=secret cat "$entry/a.txt" 2>&1)" && hardening_fail "B's srun read A's copy: $out"
grep -q "permission denied" <<<"$out" || hardening_fail "B's srun --datastore=secret: $out"
hardening_pass "root's copy of secret is $user_a 0500; B's cat/ls refused; B's srun --datastore=secret refused though the copy exists"

scenario "B cannot alter or poison a cache entry A uses"
shared_entry="$(dirname "$(find "$(node_cache n1)/uid-0/entries" -mindepth 2 -maxdepth 2 -name p.txt | head -1)")"
key="$(basename "$shared_entry")"
area="$(node_cache n1)/uid-0"
[[ "$(stat -c '%U %a' "$shared_entry/p.txt")" == "root 444" ]] || hardening_fail "cached file is $(stat -c '%U %a' "$shared_entry/p.txt")"
expect_refused "B: write a cached file" as_b bash -c "echo poison >'$shared_entry/p.txt'"
expect_refused "B: add a file to an entry" as_b touch "$shared_entry/evil"
expect_refused "B: chmod a cached file" as_b chmod 0666 "$shared_entry/p.txt"
expect_refused "B: move an entry away" as_b mv "$shared_entry" "$area/trash/x"
expect_refused "B: plant an entry" as_b mkdir "$area/entries/shared.v2.forged.pub"
expect_refused "B: rewrite the entry's metadata" as_b bash -c "echo '{}' >'$area/meta/$key.json'"
expect_refused "B: take the fill lock" as_b bash -c "exec 3>>'$area/locks/$key.fill'"
expect_refused "B: replace the fill lock" as_b ln -sf /etc/passwd "$area/locks/$key.fill"
expect_refused "B: write into root's temp area" as_b touch "$area/tmp/x"
job="$(as_a sbatch --parsable -w n1 -o "$work/home-a/again.out" --datastore=shared \
    --wrap 'cat "$HPSWEEP_DATASTORE_SHARED/p.txt"')"
state="$(wait_job "$job")"
[[ "$state" == "COMPLETED " && "$(cat "$work/home-a/again.out")" == "shared v1" ]] ||
    hardening_fail "A's second job: $state $(cat "$work/home-a/again.out")"
fills="$(grep -c " $key " "$area/fills.log")"
[[ "$fills" == 1 ]] || hardening_fail "shared was filled $fills times on n1"
hardening_pass "root-owned 0444 files / 0555 dirs; B's write, touch, chmod, mv, planted entry, meta rewrite, fill lock, symlink, tmp: refused; A's next job reads 'shared v1' from the same (single) fill"

scenario "B cannot plant a cache copy for A's CLI stage"
cli_cache="$work/cli-cache"
as_b hpsweep datastore stage shared >/dev/null || hardening_fail "B's own stage of shared failed"
# B squats A's area with a forged, poisoned entry before A's first stage.
as_b mkdir -p "$cli_cache/uid-$uid_a/entries" "$cli_cache/uid-$uid_a/meta" "$cli_cache/uid-$uid_a/locks"
for entry in "$cli_cache/uid-$uid_b/entries"/*; do
    as_b mkdir "$cli_cache/uid-$uid_a/entries/$(basename "$entry")"
    as_b bash -c "echo poison >'$cli_cache/uid-$uid_a/entries/$(basename "$entry")/p.txt'"
done
as_b cp -r "$cli_cache/uid-$uid_b/meta/." "$cli_cache/uid-$uid_a/meta/"
staged="$(as_a hpsweep datastore stage shared --json 2>"$work/a-stage.err")" || hardening_fail "A's stage failed: $(cat "$work/a-stage.err")"
path="$(/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["path"])' <<<"$staged")"
[[ "$(as_a cat "$path/p.txt")" == "shared v1" ]] || hardening_fail "A got B's poisoned copy at $path"
[[ "$path" != "$cli_cache/uid-$uid_a"* ]] || hardening_fail "A used the area B created: $path"
hardening_pass "B pre-created uid-$uid_a with a poisoned copy; A's stage distrusts it (path $path) and reads 'shared v1'"
echo "PASS: security_datastore"
