#!/usr/bin/env bash
# --datastore stages a dataset version into each node's local cache before the tasks
# start (as root, for a user who may read it) and exports HPSWEEP_DATASTORE_<NAME> and
# HPSWEEP_DATASTORES, in the batch script and in srun steps on other nodes.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
source "$HPSWEEP_SOURCE_DIR/tests/integration/plugin_lib.bash"
hpsweep datastore --help >/dev/null 2>&1 || fail "this hpsweep has no 'datastore' command"

cd "$plugin_work_dir"
export HPSWEEP_DATASTORE_ROOT="$plugin_work_dir/store"
mkdir -p src-v1/sub src-v2
echo "first version" >src-v1/a.txt
echo "nested" >src-v1/sub/b.txt
echo "second version" >src-v2/a.txt
hpsweep datastore create cifar-mini src-v1 --public >/dev/null || fail "datastore create v1"
hpsweep datastore create cifar-mini src-v2 --public >/dev/null || fail "datastore create v2"
mkdir -p src-other && echo other >src-other/c.txt
hpsweep datastore create other_set src-other --public >/dev/null || fail "datastore create other_set"

cache_name="plugin-test-cache-$$"
on_exit 'remove_node_caches "$cache_name"'
plugin_enable "datastore_root=$HPSWEEP_DATASTORE_ROOT" "cache_dir=$HPSWEEP_NODE_LOCAL_DIR/$cache_name"

cat >stage.sbatch <<SCRIPT
#!/bin/bash
#SBATCH --nodes=2 --ntasks-per-node=1
#SBATCH --datastore=cifar-mini:1,other_set
echo "batch list=\$HPSWEEP_DATASTORES"
echo "batch cifar=\$HPSWEEP_DATASTORE_CIFAR_MINI"
cat "\$HPSWEEP_DATASTORE_CIFAR_MINI/a.txt" "\$HPSWEEP_DATASTORE_CIFAR_MINI/sub/b.txt" "\$HPSWEEP_DATASTORE_OTHER_SET/c.txt"
srun --label bash -c 'echo "step \$(hostname) \$HPSWEEP_DATASTORE_CIFAR_MINI \$(cat \$HPSWEEP_DATASTORE_CIFAR_MINI/a.txt)"'
SCRIPT
job="$(sbatch --parsable -J hpsweep-plugin-datastore -o stage.out -e stage.err stage.sbatch)"
state="$(wait_job "$job")"
out="$(cat stage.out)"
[[ "$state" == "COMPLETED " ]] || fail "job $job ended $state: $out $(cat stage.err)"

expect_contains "$out" "batch list=cifar-mini,other_set" "HPSWEEP_DATASTORES"
expect_contains "$out" "batch cifar=$HPSWEEP_NODE_LOCAL_DIR/$cache_name/" "HPSWEEP_DATASTORE_CIFAR_MINI (in the node-local cache)"
expect_contains "$out" "first version" "staged version 1"
expect_contains "$out" "nested" "staged subdirectory"
expect_contains "$out" "other" "second datastore"
if grep -q "second version" <<<"$out"; then fail "version 2 was staged instead of 1: $out"; fi
[[ "$(grep -c '^[01]: step n[0-9] '"$HPSWEEP_NODE_LOCAL_DIR/$cache_name"'/.* first version$' <<<"$out")" == 2 ]] ||
    fail "both srun tasks should read version 1 from their node's cache: $out"
# Each node that ran a task has its own copy, root-owned and read-only.
# Entries are named by content, not by the dataset: a copy is an a.txt under entries/.
copies=$(find "$HPSWEEP_CLUSTER_DIR"/nodes/*/"$cache_name" -name a.txt -path '*/entries/*' | wc -l)
((copies >= 2)) || fail "expected a copy in the cache of each of the 2 nodes, found $copies"
file="$(find "$HPSWEEP_CLUSTER_DIR"/nodes/*/"$cache_name" -name a.txt -path '*/entries/*' | head -1)"
[[ "$(stat -c '%U %a' "$file")" == "root 444" ]] || fail "cached file $file is $(stat -c '%U %a' "$file")"

# Without a version: the latest (2).
out="$(srun -J hpsweep-plugin-datastore --datastore=cifar-mini bash -c 'cat $HPSWEEP_DATASTORE_CIFAR_MINI/a.txt' 2>&1)" ||
    fail "srun --datastore=cifar-mini failed: $out"
expect_contains "$out" "second version" "latest version"

[[ -z "$(nodes_not_idle)" ]] || fail "nodes not idle: $(nodes_not_idle)"
echo "PASS: plugin datastore ($copies cached copies)"
