# Sourced by tests/integration/plugin_*.sh (after `eval "$(hpsweep cluster env)"`): enables
# the freshly built hpsweep.so on the local cluster for the duration of one test and
# restores the cluster's plugstack.conf.d as it was when the test ends.
#
#   plugin_enable [WORD...]   install the .so (new inode) and write the drop-in with WORDs
#   plugin_so                 path of the installed copy
#   fail MESSAGE              print "FAIL: MESSAGE" and exit 1
#   expect_contains TEXT NEEDLE WHAT
#   wait_job JOBID            until it left the queue; prints its sacct state
#   nodes_not_idle            prints nodes in a state other than idle/mixed/allocated
#
# Slurm reads plugstack.conf (and its includes) afresh in every srun, sbatch and
# slurmstepd, so a new drop-in takes effect for the next job without restarting slurmd.
# slurmd itself maps the plugin only at start-up: we never overwrite a file it may have
# mapped (`install` writes a new inode), and scripts/hpsweep-cluster has no restart verb.

: "${HPSWEEP_CLUSTER_DIR:?run eval \"\$(hpsweep cluster env)\" first}"
: "${HPSWEEP_BUILD_DIR:?HPSWEEP_BUILD_DIR must point at the build tree}"

plugin_built_so="$HPSWEEP_BUILD_DIR/lib/hpsweep.so"
plugin_dropin="$HPSWEEP_CLUSTER_DIR/plugstack.conf.d/hpsweep.conf"
plugin_install_dir="$HPSWEEP_CLUSTER_DIR/plugins"
plugin_saved_dropin=""
plugin_work_dir="$(mktemp -d /var/tmp/hpsweep-plugin-test.XXXXXX)"
chmod 0755 "$plugin_work_dir"

plugin_so() { echo "$plugin_install_dir/hpsweep.so"; }

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

expect_contains() {
    local text=$1 needle=$2 what=$3
    if ! grep -qF -- "$needle" <<<"$text"; then
        echo "---- $what ----" >&2
        echo "$text" >&2
        echo "----" >&2
        fail "$what does not contain '$needle'"
    fi
}

plugin_restore() {
    if [[ -n "$plugin_saved_dropin" ]]; then
        cp "$plugin_saved_dropin" "$plugin_dropin.tmp.$$" && mv "$plugin_dropin.tmp.$$" "$plugin_dropin"
    else
        rm -f "$plugin_dropin"
    fi
    rm -rf "$plugin_work_dir"
}
trap plugin_restore EXIT

plugin_enable() {
    [[ -f "$plugin_built_so" ]] || fail "$plugin_built_so is not built"
    mkdir -p "$plugin_install_dir" "$(dirname "$plugin_dropin")"
    if [[ -f "$plugin_dropin" && -z "$plugin_saved_dropin" ]]; then
        plugin_saved_dropin="$plugin_work_dir/saved-dropin.conf"
        cp "$plugin_dropin" "$plugin_saved_dropin"
    fi
    install -m 0755 "$plugin_built_so" "$(plugin_so)"
    printf 'required %s config=none %s\n' "$(plugin_so)" "$*" >"$plugin_dropin.tmp.$$"
    mv "$plugin_dropin.tmp.$$" "$plugin_dropin"
}

wait_job() {
    local job=$1 i
    for ((i = 0; i < 600; i++)); do
        if [[ -z "$(squeue -h -j "$job" 2>/dev/null)" ]]; then break; fi
        sleep 0.2
    done
    [[ -z "$(squeue -h -j "$job" 2>/dev/null)" ]] || fail "job $job still queued after 120 s"
    # sacct may lag a moment behind squeue.
    for ((i = 0; i < 50; i++)); do
        local states
        states="$(sacct -n -X -P -j "$job" -o State 2>/dev/null | sort -u | tr '\n' ' ')"
        if [[ -n "$states" && "$states" != *RUNNING* && "$states" != *PENDING* ]]; then
            echo "$states"
            return 0
        fi
        sleep 0.2
    done
    echo "UNKNOWN"
}

nodes_not_idle() {
    sinfo -h -N -o '%N %T' | sort -u | awk '$2 !~ /^(idle|mixed|allocated|completing)$/'
}
