#!/usr/bin/env bash
# Scenario: `hpsweep run --datastore NAME:1` with no SPANK plugin involved: hpsweep-launch
# stages the dataset into each node's cache before the trial starts, and every trial reads
# it from HPSWEEP_DATASTORE_<NAME> (a node-local path, not the shared store), with
# HPSWEEP_DATASTORES listing it. A reference to a dataset that does not exist is refused at
# submit, before anything is written or queued.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir sweep_datastore
cache_name="sweep-datastore-cache-$$"
on_exit 'remove_node_caches "$cache_name"'
export HPSWEEP_HOME="$work/runs"
export HPSWEEP_DATASTORE_ROOT="$work/store"
export HPSWEEP_CACHE_DIR="$HPSWEEP_NODE_LOCAL_DIR/$cache_name"
mkdir -p "$work/src"
echo "the data" >"$work/src/data.txt"
hpsweep datastore create my-data.v2 "$work/src" >/dev/null || fail "datastore create"
cd "$work"
cat >read.sh <<'SH'
#!/bin/bash
set -eu
echo "$HPSWEEP_DATASTORES $HPSWEEP_DATASTORE_MY_DATA_V2 $(cat "$HPSWEEP_DATASTORE_MY_DATA_V2/data.txt")" \
    >"$HPSWEEP_TRIAL_DIR/seen.txt"
SH
chmod +x read.sh
hpsweep run --wait --name dsrun --datastore my-data.v2:1 ./read.sh --k "[1, 2, 3]" >/dev/null 2>&1 ||
    fail "the sweep with --datastore failed: $(cat "$HPSWEEP_HOME"/dsrun-*/trials/*/stderr.log 2>/dev/null)"
exp="$(ls -d "$HPSWEEP_HOME"/dsrun-*)"
for t in 0 1 2; do
    seen="$(cat "$exp/trials/$t/seen.txt")" || fail "trial $t did not run read.sh"
    read -r names path text <<<"$seen"
    [[ "$names" == "my-data.v2" ]] || fail "trial $t: HPSWEEP_DATASTORES='$names'"
    [[ "$path" == "$HPSWEEP_CACHE_DIR"/* ]] || fail "trial $t read from $path, not the node cache"
    [[ "$text" == "the data" ]] || fail "trial $t read '$text'"
done
echo "3 trials read the dataset from their node's cache"

rc=0
err="$(hpsweep run --wait --name dsmissing --datastore no-such-set ./read.sh --k "[1]" 2>&1)" || rc=$?
[[ "$rc" -eq 2 ]] || fail "a sweep naming a missing dataset exited $rc, expected 2 at submit: $err"
expect_contains "$err" "datastore 'no-such-set'" "the refusal"
[[ -z "$(ls -d "$HPSWEEP_HOME"/dsmissing-* 2>/dev/null)" ]] || fail "the refused sweep left a directory"
echo "PASS: hpsweep run --datastore stages through hpsweep-launch; a missing dataset is refused at submit"
