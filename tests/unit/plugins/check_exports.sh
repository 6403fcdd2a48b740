#!/usr/bin/env bash
# The plugin exports exactly what Slurm's loader looks up (plugin_name, plugin_type,
# plugin_version, spank_plugin_version, slurm_spank_*) and needs no C++ runtime or
# sanitizer runtime from the process that loads it.
set -euo pipefail
so=${1:?usage: check_exports.sh path/to/hpsweep.so}
fail=0

exported=$(nm -D --defined-only "$so" | awk '{print $3}' | sort)
echo "exported symbols of $so:"
sed 's/^/  /' <<<"$exported"

unexpected=$(grep -Ev '^(plugin_name|plugin_type|plugin_version|spank_plugin_version|slurm_spank_[a-z_]+)$' <<<"$exported" || true)
if [[ -n "$unexpected" ]]; then
    echo "FAIL: unexpected exported symbols:"; sed 's/^/  /' <<<"$unexpected"; fail=1
fi
for required in plugin_name plugin_type plugin_version spank_plugin_version slurm_spank_init \
                slurm_spank_init_post_opt slurm_spank_user_init slurm_spank_task_init \
                slurm_spank_task_init_privileged slurm_spank_exit; do
    if ! grep -qx "$required" <<<"$exported"; then
        echo "FAIL: $required is not exported"; fail=1
    fi
done
# No static option table: it would duplicate the options spank_option_register() adds.
if grep -qx spank_options <<<"$exported"; then
    echo "FAIL: spank_options must not be exported"; fail=1
fi

needed=$(objdump -p "$so" | awk '$1 == "NEEDED" {print $2}')
echo "needed libraries:"; sed 's/^/  /' <<<"$needed"
if grep -Eq '^(libstdc\+\+|libasan|libubsan|libfmt|libyaml-cpp)' <<<"$needed"; then
    echo "FAIL: the plugin must not load a C++ or sanitizer runtime into slurmstepd"; fail=1
fi
if nm -D "$so" | grep -q '__asan_\|__ubsan_'; then
    echo "FAIL: sanitizer instrumentation in the plugin"; fail=1
fi
# Every undefined symbol is resolved by the libraries it needs, except Slurm's own API
# (slurm_*, spank_*), which the loading process provides. The plugin is linked without
# -z defs for that reason, so this is where a missing definition is caught.
unresolved=$(ldd -r "$so" 2>&1 | awk '/undefined symbol:/ {print $3}' | sed 's/,$//' |
             grep -Ev '^(slurm_|spank_)' || true)
if [[ -n "$unresolved" ]]; then
    echo "FAIL: undefined symbols nothing provides:"; sed 's/^/  /' <<<"$unresolved"; fail=1
fi
slurm_api=$(ldd -r "$so" 2>&1 | awk '/undefined symbol:/ {print $3}' | sed 's/,$//' | sort -u | tr '\n' ' ')
echo "provided by Slurm at load time: $slurm_api"

# Hardening: full RELRO (BIND_NOW) and a non-executable stack.
if ! readelf -d "$so" | grep -Eq 'BIND_NOW|Flags:.* NOW'; then
    echo "FAIL: not linked with -z now"; fail=1
fi
if readelf -lW "$so" | grep -q 'GNU_STACK.*RWE'; then
    echo "FAIL: executable stack"; fail=1
fi
if ! readelf -lW "$so" | grep -q GNU_RELRO; then
    echo "FAIL: no RELRO segment"; fail=1
fi

if ((fail)); then exit 1; fi
echo "OK: exports and dependencies are as expected"
