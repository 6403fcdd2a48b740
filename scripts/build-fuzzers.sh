#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, docs/fuzzing.md) in their own clang build tree:
#
#   scripts/build-fuzzers.sh [DIR]      default DIR: build-fuzz (next to the sources)
#
# The tree is configured with clang, -DHPSWEEP_FUZZ=ON (every library instrumented with
# -fsanitize=fuzzer-no-link,address,undefined), warnings as errors, no tests and no SPANK
# plugin; only the fuzz targets are built. The binaries land in DIR/fuzz/<target>; the main
# build tree's ctest runs them (`ctest -L fuzz`), finding DIR through HPSWEEP_FUZZ_BUILD_DIR.
#
# Environment: CC/CXX (default clang/clang++), HPSWEEP_BUILD_JOBS (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build-fuzz}
jobs=${HPSWEEP_BUILD_JOBS:-$(nproc)}
export CC=${CC:-clang}
export CXX=${CXX:-clang++}

if ! command -v "$CXX" >/dev/null; then
    echo "build-fuzzers: $CXX not found; install clang (scripts/install-deps.sh)" >&2
    exit 1
fi

# A tree first configured with another compiler cannot be switched: start it over.
cache="$build_dir/CMakeCache.txt"
if [[ -f "$cache" ]] && ! grep -q "^CMAKE_CXX_COMPILER:[A-Z]*=.*clang" "$cache"; then
    echo "build-fuzzers: $build_dir was configured with another compiler; reconfiguring"
    rm -rf "$build_dir/CMakeCache.txt" "$build_dir/CMakeFiles"
fi

echo "==> configuring $build_dir (clang, libFuzzer + ASan + UBSan, warnings are errors)"
mkdir -p "$build_dir"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DHPSWEEP_FUZZ=ON -DHPSWEEP_WERROR=ON \
      -DHPSWEEP_BUILD_TESTS=OFF -DHPSWEEP_BUILD_PLUGIN=OFF >"$build_dir/configure.log" 2>&1 \
    || { cat "$build_dir/configure.log"; exit 1; }

echo "==> building the fuzz targets with $jobs jobs"
cmake --build "$build_dir" -j "$jobs" --target hpsweep_fuzzers
echo "build-fuzzers: fuzzers in $(cd "$build_dir" && pwd)/fuzz"
