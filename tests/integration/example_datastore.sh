#!/usr/bin/env bash
# examples/datastore/ on the local cluster, following its README:
#  - a datastore from a directory (digits) and one from a .zip (digits-zip) hold the same
#    files; creating digits again from the same files makes no new version;
#  - a sweep with `hpsweep run --datastore digits`: each trial's train.py reads digits.csv
#    from the staged copy ($HPSWEEP_DATASTORE_DIGITS) and completes;
#  - examples/datastore/train.sbatch (`#SBATCH --datastore=digits`) with the SPANK plugin
#    enabled (as in plugin_datastore.sh): the batch script sees the staged path in the
#    node-local cache and train.py trains from it.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
source "$HPSWEEP_SOURCE_DIR/tests/integration/plugin_lib.bash"  # plugin_enable

cd "$plugin_work_dir"
export HPSWEEP_DATASTORE_ROOT="$plugin_work_dir/store" HPSWEEP_HOME="$plugin_work_dir/runs"
cache_name="h3-example-datastore-cache-$$"
export HPSWEEP_CACHE_DIR="$HPSWEEP_NODE_LOCAL_DIR/$cache_name"
on_exit 'remove_node_caches "$cache_name"'
ln -s "$HPSWEEP_SOURCE_DIR/examples" examples

# From a directory and from a .zip (the README's commands).
/usr/bin/python3 examples/datastore/make_digits_csv.py digits-data >/dev/null
out="$(hpsweep datastore create digits digits-data --public)" || fail "create from a directory: $out"
expect_contains "$out" "digits:1 created (2 files" "datastore create digits"
(cd digits-data && /usr/bin/python3 -m zipfile -c ../digits.zip digits.csv README.txt)
out="$(hpsweep datastore create digits-zip digits.zip --public)" || fail "create from a .zip: $out"
expect_contains "$out" "digits-zip:1 created (2 files" "datastore create digits-zip"
out="$(hpsweep datastore create digits digits-data)" || fail "create again: $out"
expect_contains "$out" "digits:1 unchanged" "datastore create digits again"
same="$(hpsweep datastore show digits:1 --json | /usr/bin/python3 -c '
import json, sys
print(sorted((e["path"], e.get("xxh3")) for e in json.load(sys.stdin)["manifest"]["entries"]))')"
[[ "$same" == "$(hpsweep datastore show digits-zip:1 --json | /usr/bin/python3 -c '
import json, sys
print(sorted((e["path"], e.get("xxh3")) for e in json.load(sys.stdin)["manifest"]["entries"]))')" ]] ||
    fail "the .zip and the directory do not hold the same files: $same"

# From a sweep.
hpsweep run --datastore digits --wait --name digits-ds \
    examples/digits/train.py --lr "[0.05, 0.2]" --epochs 3 >/dev/null || fail "the sweep with --datastore failed"
for trial in 0 1; do
    out="$(hpsweep logs digits-ds "$trial")"
    expect_contains "$out" "data: 1797 digits from $HPSWEEP_CACHE_DIR" "trial $trial's output (data from the staged datastore)"
done

# From a plain sbatch script, through the SPANK plugin.
plugin_enable "datastore_root=$HPSWEEP_DATASTORE_ROOT" "cache_dir=$HPSWEEP_CACHE_DIR"
job="$(sbatch --parsable -o sbatch.out -e sbatch.err examples/datastore/train.sbatch)"
state="$(wait_job "$job")"
out="$(cat sbatch.out)"
[[ "$state" == "COMPLETED " ]] || fail "train.sbatch job $job ended $state: $out $(cat sbatch.err)"
expect_contains "$out" "staged datastores: digits" "train.sbatch output"
expect_contains "$out" "digits are at: $HPSWEEP_CACHE_DIR/" "train.sbatch output (node-local cache)"
expect_contains "$out" "data: 1797 digits from $HPSWEEP_CACHE_DIR/" "train.sbatch output (train.py read the staged copy)"
expect_contains "$out" "final validation accuracy" "train.sbatch output"
echo "PASS: datastore from a directory and a .zip, used by a sweep and by #SBATCH --datastore"
