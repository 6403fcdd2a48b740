# Sourced by tests/integration/plugin_*.sh (after test_lib.bash's cluster_env): enables
# the freshly built hpsweep.so on the local cluster for the duration of one test and
# restores the cluster's plugstack.conf.d as it was when the test ends.
#
#   plugin_enable [WORD...]   install the .so (new inode) and write the drop-in with WORDs
#   plugin_so                 path of the installed copy
#   $plugin_work_dir          a scratch directory (0755, under /var/tmp), removed on exit
#
# Slurm reads plugstack.conf (and its includes) afresh in every srun, sbatch and
# slurmstepd, so a new drop-in takes effect for the next job without restarting slurmd.
# slurmd itself maps the plugin only at start-up: we never overwrite a file it may have
# mapped (`install` writes a new inode), and scripts/hpsweep-cluster has no restart verb.

# shellcheck source=../test_lib.bash
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
: "${HPSWEEP_CLUSTER_DIR:?call cluster_env first}"

plugin_built_so="$HPSWEEP_BUILD_DIR/lib/hpsweep.so"
plugin_dropin="$HPSWEEP_CLUSTER_DIR/plugstack.conf.d/hpsweep.conf"
plugin_install_dir="$HPSWEEP_CLUSTER_DIR/plugins"
plugin_saved_dropin=""
plugin_dropin_captured=0  # whether the drop-in as the test found it was looked at
plugin_work_dir="$(mktemp -d /var/tmp/hpsweep-plugin-test.XXXXXX)"
chmod 0755 "$plugin_work_dir"

plugin_so() { echo "$plugin_install_dir/hpsweep.so"; }

plugin_restore() {
    if [[ -n "$plugin_saved_dropin" ]]; then
        cp "$plugin_saved_dropin" "$plugin_dropin.tmp.$$" && mv "$plugin_dropin.tmp.$$" "$plugin_dropin"
    else
        rm -f "$plugin_dropin"
    fi
    rm -rf "$plugin_work_dir"
}
on_exit plugin_restore

plugin_enable() {
    [[ -f "$plugin_built_so" ]] || fail "$plugin_built_so is not built"
    mkdir -p "$plugin_install_dir" "$(dirname "$plugin_dropin")"
    # Only the first call sees the cluster's own drop-in; a later one would save this
    # test's (plugin_options.sh enables twice) and restore that at the end.
    if ((plugin_dropin_captured == 0)); then
        plugin_dropin_captured=1
        if [[ -f "$plugin_dropin" ]]; then
            plugin_saved_dropin="$plugin_work_dir/saved-dropin.conf"
            cp "$plugin_dropin" "$plugin_saved_dropin"
        fi
    fi
    install -m 0755 "$plugin_built_so" "$(plugin_so)"
    printf 'required %s config=none %s\n' "$(plugin_so)" "$*" >"$plugin_dropin.tmp.$$"
    mv "$plugin_dropin.tmp.$$" "$plugin_dropin"
}
