#!/usr/bin/env bash
# The .deb CPack builds installs on this system (dpkg -i), puts the plugin in Slurm's
# plugin directory and the site file in /etc/hpsweep, the plugin loads from there
# (sbatch --help lists its options, a job step gets its placement), and dpkg -P removes
# every file again.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env
source "$HPSWEEP_SOURCE_DIR/tests/integration/plugin_lib.bash"

if dpkg-query -W -f='${Status}' hpsweep 2>/dev/null | grep -q installed; then
    fail "an hpsweep package is already installed here; this test will not replace it"
fi

# 1. Build the package from this build tree.
cpack --config "$HPSWEEP_BUILD_DIR/CPackConfig.cmake" -G DEB -B "$plugin_work_dir/pkg" \
    >"$plugin_work_dir/cpack.log" 2>&1 || { cat "$plugin_work_dir/cpack.log"; fail "cpack failed"; }
deb="$(ls "$plugin_work_dir"/pkg/hpsweep_*.deb)"
plugin_dir="$(grep -m1 '^HPSWEEP_SLURM_PLUGIN_DIR:' "$HPSWEEP_BUILD_DIR/CMakeCache.txt" | cut -d= -f2)"
[[ -n "$plugin_dir" ]] || fail "HPSWEEP_SLURM_PLUGIN_DIR is not in the CMake cache"
contents="$(dpkg-deb -c "$deb")"
for path in ".$plugin_dir/hpsweep.so" ./usr/bin/hpsweep ./etc/hpsweep/hpsweep.conf \
            ./usr/share/doc/hpsweep/examples/plugstack.conf; do
    expect_contains "$contents" "$path" "contents of $(basename "$deb")"
done
# Against the distribution's Slurm the package pins its release; against a Slurm installed
# from source (HPSWEEP_SLURM_PREFIX) no Debian package provides that Slurm, so none is named.
depends="$(dpkg-deb -f "$deb" Depends)"
if [[ -z "$(grep -m1 '^HPSWEEP_SLURM_PREFIX:' "$HPSWEEP_BUILD_DIR/CMakeCache.txt" | cut -d= -f2)" ]]; then
    expect_contains "$depends" "slurm-client (>= 22.05)" "Depends"
elif [[ "$depends" == *slurm-client* ]]; then
    fail "a package built against a Slurm from source depends on Debian's slurm-client: $depends"
fi
expect_contains "$(dpkg-deb -e "$deb" "$plugin_work_dir/control" && cat "$plugin_work_dir/control/conffiles")" \
    "/etc/hpsweep/hpsweep.conf" "conffiles"

# 2. Install it; from here on, remove it again whatever happens.
on_exit 'dpkg -P hpsweep >/dev/null 2>&1 || true'
dpkg -i "$deb" >"$plugin_work_dir/dpkg.log" 2>&1 || { cat "$plugin_work_dir/dpkg.log"; fail "dpkg -i failed"; }
[[ -f "$plugin_dir/hpsweep.so" ]] || fail "$plugin_dir/hpsweep.so not installed"
bash "$HPSWEEP_SOURCE_DIR/tests/unit/plugins/check_exports.sh" "$plugin_dir/hpsweep.so" >/dev/null ||
    fail "the installed plugin fails the export check"

# 3. The cluster loads the installed plugin (not the build tree's copy).
mkdir -p "$(dirname "$plugin_dropin")"
[[ ! -f "$plugin_dropin" ]] || { plugin_saved_dropin="$plugin_work_dir/saved-dropin.conf"; cp "$plugin_dropin" "$plugin_saved_dropin"; }
printf 'required %s cache_dir=%s\n' "$plugin_dir/hpsweep.so" "$HPSWEEP_NODE_LOCAL_DIR/cache" >"$plugin_dropin"
help="$(sbatch --help 2>&1)"
expect_contains "$help" "--gpu-affinity=closest|none|verbose" "sbatch --help with the installed plugin"
err="$(srun -J hpsweep-plugin-deb --gpu-affinity=verbose -n1 true 2>&1)" || fail "srun with the installed plugin failed: $err"
expect_contains "$err" "hpsweep: " "verbose plan from the installed plugin"
expect_contains "$err" "rank 0/1 local 0/1" "verbose plan from the installed plugin"
# The shipped site file (read by default, config= not given) keeps the defaults.
rm -f "$plugin_dropin"

# 4. Purge removes every file of the package.
dpkg -P hpsweep >"$plugin_work_dir/dpkg-remove.log" 2>&1 || { cat "$plugin_work_dir/dpkg-remove.log"; fail "dpkg -P failed"; }
[[ ! -e "$plugin_dir/hpsweep.so" ]] || fail "$plugin_dir/hpsweep.so left behind"
[[ ! -e /etc/hpsweep/hpsweep.conf ]] || fail "/etc/hpsweep/hpsweep.conf left behind after purge"
[[ ! -e /usr/bin/hpsweep ]] || fail "/usr/bin/hpsweep left behind"
echo "PASS: plugin deb ($(basename "$deb"), $(du -h "$deb" | cut -f1))"
