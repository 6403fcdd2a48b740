#!/usr/bin/env bash
# Two-user security, links: datasets whose links leave them are refused; a link
# or directory another user planted where root's cache goes (the plugin's cache_dir in a
# shared place like /tmp, or root's area uid-0 inside a 1777 cache dir) is never followed
# or used by the root-run cache fill: the job falls back to the shared store instead.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup links

store="$work/store"
tmp_cache="/tmp/hpsw-sec-cache-$$"
security_cleanup_extra='rm -rf "$tmp_cache"'
mkdir -p "$store/datasets" && chmod 0755 "$store" && chmod 1777 "$store/datasets"
as_a mkdir -p "$work/home-a/pub/sub"
as_a bash -c "echo 'shared v1' >'$work/home-a/pub/p.txt'; ln -s ../p.txt '$work/home-a/pub/sub/inside'"
as_a hpsweep datastore create shared "$work/home-a/pub" --public >/dev/null || hardening_fail "create shared"

scenario "datasets with links that leave them are refused"
as_b mkdir -p "$work/home-b/d"
as_b bash -c "echo x >'$work/home-b/d/f'"
links=("/etc/passwd" "../../../etc/passwd" "sub/../../x")
for target in "${links[@]}"; do
    as_b rm -f "$work/home-b/d/l"
    as_b ln -s "$target" "$work/home-b/d/l"
    expect_refused "B: create with link -> $target" as_b hpsweep datastore create "l$RANDOM" "$work/home-b/d"
    grep -q "rejected" <<<"$refused_output" || hardening_fail "link -> $target: $refused_output"
done
# Each link alone stays inside; through the other one it climbs out.
as_b rm -f "$work/home-b/d/l"
as_b mkdir -p "$work/home-b/d/s"
as_b ln -s .. "$work/home-b/d/s/up"
as_b ln -s up/../../etc "$work/home-b/d/s/x"
expect_refused "B: create with a link that leaves through another link" as_b hpsweep datastore create chain "$work/home-b/d"
as_b rm -f "$work/home-b/d/s/x"
# The same links as archive members.
as_b bash -c "cd '$work/home-b' && ln -sf /etc/shadow abs && tar -cf abs.tar abs && ln -sf ../../../etc up && tar -cf up.tar up"
for archive in abs.tar up.tar; do
    expect_refused "B: create from $archive" as_b hpsweep datastore create "a$RANDOM" "$work/home-b/$archive"
    grep -q "rejected" <<<"$refused_output" || hardening_fail "$archive: $refused_output"
done
kept="$(find "$store/datasets" -mindepth 3 -maxdepth 3 -path '*/versions/*' ! -path "$store/datasets/shared/*")"
[[ -z "$kept" ]] || hardening_fail "a refused version was published: $kept"
hardening_pass "links to /etc/passwd, ../../../etc/passwd, sub/../../x, up/../../etc through up -> .., and tar members abs -> /etc/shadow, up -> ../../../etc: create refused ('rejected'), no version published"

# A's job stages 'shared' with the plugin's cache_dir at $tmp_cache; prints the path and
# the file read through it. Expected: the job completes and reads 'shared v1'.
run_a_job() {
    local job out="$work/home-a/job-$1.out"
    job="$(as_a sbatch --parsable -w n1 -o "$out" -e "$work/home-a/job-$1.err" --datastore=shared \
        --wrap 'echo "$HPSWEEP_DATASTORE_SHARED"; cat "$HPSWEEP_DATASTORE_SHARED/p.txt" "$HPSWEEP_DATASTORE_SHARED/sub/inside"')"
    local state
    state="$(wait_job "$job")"
    [[ "$state" == "COMPLETED " ]] || hardening_fail "A's job ($1) ended $state: $(cat "$work/home-a/job-$1.err")"
    [[ "$(sed -n 2p "$out")" == "shared v1" && "$(sed -n 3p "$out")" == "shared v1" ]] ||
        hardening_fail "A's job ($1) read $(cat "$out")"
    staged_path="$(head -1 "$out")"
}
enable_plugin "datastore_root=$store" "cache_dir=$tmp_cache"

scenario "a link or directory planted at the plugin's cache_dir is not followed"
as_b mkdir -p "$work/home-b/trap"
as_b ln -s "$work/home-b/trap" "$tmp_cache"
run_a_job symlink
[[ "$staged_path" == "$store/"* ]] || hardening_fail "staged through B's link: $staged_path"
[[ -z "$(ls -A "$work/home-b/trap")" ]] || hardening_fail "root wrote into B's link target: $(ls -A "$work/home-b/trap")"
rm -f "$tmp_cache"
as_b mkdir -m 1777 "$tmp_cache"
run_a_job b-owned-dir
[[ "$staged_path" == "$store/"* ]] || hardening_fail "staged into B's directory: $staged_path"
[[ -z "$(ls -A "$tmp_cache")" ]] || hardening_fail "root wrote into B's directory: $(ls -A "$tmp_cache")"
hardening_pass "cache_dir $tmp_cache as B's link to his dir, then as B's own 1777 dir: A's job completes from the shared store ($staged_path), nothing written there"

scenario "a root area planted by another user is not used"
rm -rf "$tmp_cache"
mkdir -m 1777 "$tmp_cache"  # root's, like /var/cache/hpsweep; B squats uid-0 before any fill
as_b mkdir -p "$tmp_cache/uid-0/entries" "$tmp_cache/uid-0/meta" "$tmp_cache/uid-0/locks" "$tmp_cache/uid-0/tmp"
run_a_job squatted-area
[[ "$staged_path" == "$store/"* ]] || hardening_fail "staged into B's uid-0: $staged_path"
[[ -z "$(find "$tmp_cache/uid-0" -mindepth 2)" ]] || hardening_fail "root wrote into B's uid-0: $(find "$tmp_cache/uid-0")"
rm -rf "$tmp_cache/uid-0"
as_b ln -s "$work/home-b/trap" "$tmp_cache/uid-0"
run_a_job linked-area
[[ "$staged_path" == "$store/"* ]] || hardening_fail "staged through B's uid-0 link: $staged_path"
[[ -z "$(ls -A "$work/home-b/trap")" ]] || hardening_fail "root wrote through B's uid-0 link"
# Control: with nothing planted, root's fill is used and keeps the dataset's inner link.
rm -f "$tmp_cache/uid-0"
run_a_job clean
[[ "$staged_path" == "$tmp_cache/uid-0/entries/"* ]] || hardening_fail "a clean cache was not used: $staged_path"
[[ "$(readlink "$staged_path/sub/inside")" == "../p.txt" ]] || hardening_fail "inner link became $(readlink "$staged_path/sub/inside")"
hardening_pass "uid-0 pre-created by B (dirs, then a link): A's job reads from the store and root writes nothing there; control: a clean cache is used, inner link kept (sub/inside -> ../p.txt)"
echo "PASS: security_links"
