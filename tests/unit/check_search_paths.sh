#!/usr/bin/env bash
# No binary of the build names a library search path that the directory it runs in can
# change: every RPATH/RUNPATH entry is an absolute path. An empty entry (CMake pads build
# RPATHs with one) or a relative one makes the dynamic loader look in the current directory,
# and a trial's or a job's working directory is often writable by other people.
set -euo pipefail
source "$(dirname "$0")/../test_lib.bash"
build=${1:?usage: check_search_paths.sh BUILD_DIR}

checked=0
bad=()
while IFS= read -r -d '' file; do
    head -c 4 "$file" | grep -q $'^\x7fELF' || continue
    checked=$((checked + 1))
    while IFS= read -r paths; do
        # read drops the field after a final ':'; one more ':' keeps a trailing empty entry
        IFS=':' read -r -a entries <<<"$paths:"
        for entry in "${entries[@]}"; do
            [[ $entry == /* ]] || bad+=("$file: search path entry '$entry' in [$paths]")
        done
    done < <(readelf -d "$file" | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]$/\2/p')
done < <(find "$build/bin" "$build/lib" -maxdepth 1 -type f -print0 2>/dev/null)

((checked > 0)) || fail "no ELF file under $build/bin or $build/lib"
if ((${#bad[@]} > 0)); then
    printf '%s\n' "${bad[@]}"
    fail "${#bad[@]} relative or empty library search path entries (the loader would search the current directory)"
fi
echo "ok: $checked binaries, every RPATH/RUNPATH entry absolute"
