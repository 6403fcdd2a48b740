#!/usr/bin/env bash
# Two-user security, names: dataset and tag names ("..", "/", very long, leading
# "-", newline) cannot leave the store or the cache, and a dataset owner who rewrites his
# own manifest (paths with "..", absolute or NUL paths, links to "/") cannot make root's
# cache fill write or link outside the cache. NUL cannot travel in argv or the environment,
# so NUL names are proven through the manifest (and tests/unit/datastore).
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/hardening/lib.sh"
source "$HPSWEEP_SOURCE_DIR/tests/hardening/security_common.bash"
security_setup names

store="$work/store"
security_cache_name="sec-names-cache-$$"
security_cleanup_extra='rm -rf "$HPSWEEP_CLUSTER_DIR"/nodes/*/"$security_cache_name" /tmp/sec-escape-$$*'
mkdir -p "$store/datasets" && chmod 0755 "$store" && chmod 1777 "$store/datasets"
enable_plugin "datastore_root=$store" "cache_dir=$HPSWEEP_NODE_LOCAL_DIR/$security_cache_name"
as_b mkdir -p "$work/home-b/src"
as_b bash -c "echo payload >'$work/home-b/src/a.txt'"

scenario "dataset and tag names cannot leave the store"
long="$(printf 'n%.0s' {1..129})"
names=(".." "." "../escape" "a/b" "/tmp/escape" "$long" "-rf" $'two\nlines' ".hidden" "a b" "" "root" "Root")
before="$(ls -A "$work" "$store")"
for name in "${names[@]}"; do
    shown="${name:0:40}"
    expect_refused "create '$shown'" as_b hpsweep datastore create "$name" "$work/home-b/src"
    # A leading '-' is taken for an option (a usage error); every other name must be named.
    [[ "$name" == -* ]] || grep -qi "name" <<<"$refused_output" || hardening_fail "create '$shown': message does not say what is wrong: $refused_output"
    for verb in show stage delete; do
        expect_refused "$verb '$shown'" as_b hpsweep datastore "$verb" "$name"
    done
done
[[ "$(ls -A "$work" "$store")" == "$before" ]] || hardening_fail "a refused name left something behind: $(ls -A "$work" "$store")"
[[ -z "$(ls -A "$store/datasets")" ]] || hardening_fail "datasets/ holds $(ls -A "$store/datasets")"
as_b hpsweep datastore create "$(printf 'n%.0s' {1..128})" "$work/home-b/src" --public >/dev/null ||
    hardening_fail "a 128-character name was refused"
as_b hpsweep datastore create bdata "$work/home-b/src" --public >/dev/null || hardening_fail "create bdata"
for tag in ".." "../x" "a/b" "7" "$long"; do
    expect_refused "tag '${tag:0:40}'" as_b hpsweep datastore tag bdata:1 "$tag"
done
[[ -z "$(ls -A "$store/datasets/bdata/tags" 2>/dev/null)" ]] || hardening_fail "a refused tag was written"
hardening_pass "${#names[@]} names (.., ., ../x, a/b, absolute, 129 chars, -rf, newline, .hidden, space, empty, root/Root whose variable would be HPSWEEP_DATASTORE_ROOT): create/show/stage/delete refused, nothing written; 128 chars accepted; 5 bad tags refused"

# B rewrites the manifest of his own dataset (he owns its directory) and asks root to stage it.
forge_manifest() {  # DATASET PYTHON-EXPRESSION-ON-entries
    local manifest="$store/datasets/$1/versions/1/manifest.json"
    as_b chmod u+w "$store/datasets/$1/versions/1" "$manifest"
    as_b /usr/bin/python3 - "$manifest" "$2" <<'PY'
import json, sys
path, change = sys.argv[1], sys.argv[2]
m = json.load(open(path))
entries = m["entries"]
exec(change)
json.dump(m, open(path, "w"))
PY
}
stage_as_b() {  # DATASET -> prints the job state; stderr in $work/home-b/$1.err
    local job
    job="$(as_b sbatch --parsable -w n1 -o /dev/null -e "$work/home-b/$1.err" --datastore="$1" --wrap 'ls -la "$HPSWEEP_DATASTORE_'"${1^^}"'"')"
    wait_job "$job"
}

scenario "a rewritten manifest cannot make root write outside the cache"
escape_rel="$(printf '../%.0s' {1..16})tmp/sec-escape-$$"
declare -A forged=(
    [dotdot]="entries[0]['path'] = '$escape_rel'"
    [absolute]="entries[0]['path'] = '/tmp/sec-escape-$$-abs'"
    [nul]="entries[0]['path'] = 'a' + chr(0) + 'b'"
    [dirdotdot]="entries.insert(0, {'path': '$escape_rel-dir', 'type': 'dir', 'mode': 0o755})"
    [linkabs]="entries.append({'path': 'zz', 'type': 'symlink', 'mode': 0o777, 'target': '/etc'})"
    [linkup]="entries.append({'path': 'zz', 'type': 'symlink', 'mode': 0o777, 'target': '../../../../etc'})"
    [twice]="entries.append(dict(entries[0]))"
)
for kind in "${!forged[@]}"; do
    as_b hpsweep datastore create "f$kind" "$work/home-b/src" --public >/dev/null || hardening_fail "create f$kind"
    forge_manifest "f$kind" "${forged[$kind]}"
    state="$(stage_as_b "f$kind")"
    [[ "$state" == "FAILED " ]] || hardening_fail "staging forged manifest '$kind' ended $state: $(cat "$work/home-b/f$kind.err")"
    grep -q "rejected" "$work/home-b/f$kind.err" || hardening_fail "forged '$kind': $(cat "$work/home-b/f$kind.err")"
done
escaped="$(ls -d /tmp/sec-escape-$$* 2>/dev/null || true)"
[[ -z "$escaped" ]] || hardening_fail "root wrote outside the cache: $escaped"
links="$(find "$HPSWEEP_CLUSTER_DIR"/nodes/*/"$security_cache_name" -name zz 2>/dev/null)"
[[ -z "$links" ]] || hardening_fail "root created forged links: $links"
[[ -z "$(nodes_not_idle)" ]] || hardening_fail "nodes not idle: $(nodes_not_idle)"
hardening_pass "${#forged[@]} forged manifests (.. file and dir paths, absolute, NUL, link to /etc and ../../etc, duplicate): root's fill refused each ('rejected'), no file under /tmp, no link in the cache, nodes idle"
scenario "a swapped object cannot hang root's fill"
as_b hpsweep datastore create fifo "$work/home-b/src" --public >/dev/null || hardening_fail "create fifo"
object="$(find "$store/datasets/fifo/objects" -type f)"
as_b chmod u+w "$(dirname "$object")"
as_b rm -f "$object"
as_b mkfifo -m 0644 "$object"
started=$SECONDS
state="$(stage_as_b fifo)"
[[ "$state" == "FAILED " ]] || hardening_fail "staging a FIFO object ended $state"
grep -q "not a regular file" "$work/home-b/fifo.err" || hardening_fail "FIFO object: $(cat "$work/home-b/fifo.err")"
[[ -z "$(nodes_not_idle)" ]] || hardening_fail "nodes not idle: $(nodes_not_idle)"
hardening_pass "B's object replaced by a FIFO: B's job FAILED in $((SECONDS - started)) s with 'not a regular file', node idle"
echo "PASS: security_names"
