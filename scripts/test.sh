#!/usr/bin/env bash
# README command 2 (and what CI runs): from a fresh Debian 12 machine, as root, install
# what hpsweep needs, build it with ASan+UBSan and -Werror, and run every test: unit tests,
# Python (h5py) tests, and integration tests on the real local Slurm cluster that ctest
# brings up through `hpsweep cluster up` and takes down again at the end. The libFuzzer
# targets are built first in their own clang tree (scripts/build-fuzzers.sh), which the
# "hardening: fuzz <target>" tests run for a bounded time (docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${HPSWEEP_TEST_BUILD_DIR:-build-test}
fuzz_dir=${HPSWEEP_FUZZ_BUILD_DIR:-build-fuzz}
jobs=$(nproc)

echo "==> installing dependencies (Debian packages)"
bash scripts/install-deps.sh

# The container tests' Charliecloud image (a minimal Debian with python3-torch, cached per
# machine) builds mostly waiting on dpkg, so it runs beside the compilers.
image_log="$PWD/build-test-image.log"
echo "==> building the container test image in the background (log: $image_log)"
bash scripts/build-test-image.sh >"$image_log" 2>&1 &
image_pid=$!

echo "==> building the fuzzers in $fuzz_dir (clang)"
bash scripts/build-fuzzers.sh "$fuzz_dir"
# An absolute path, so that ctest finds the fuzzers whatever its working directory.
fuzz_dir=$(cd "$fuzz_dir" && pwd)
export HPSWEEP_FUZZ_BUILD_DIR=$fuzz_dir

echo "==> configuring $build_dir (ASan+UBSan, warnings are errors)"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DHPSWEEP_SANITIZE=ON -DHPSWEEP_WERROR=ON \
      -DHPSWEEP_FUZZ_BUILD_DIR="$fuzz_dir" >"$build_dir.configure.log" 2>&1 \
    || { cat "$build_dir.configure.log"; exit 1; }

echo "==> building with $jobs jobs"
cmake --build "$build_dir" -j "$jobs"

# Leaks are errors too; tests/lsan.supp lists only leaks inside third-party libraries.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if wait "$image_pid"; then
    echo "==> container test image ready: $(tail -n 1 "$image_log")"
else
    echo "==> WARNING: the container test image could not be built; the container tests" \
        "will be reported as skipped. Last lines of $image_log:"
    tail -n 20 "$image_log"
    export HPSWEEP_TEST_IMAGE_UNAVAILABLE="$image_log"
fi

echo "==> running the tests"
cd "$build_dir"
ctest --output-on-failure --timeout 900 -j "$jobs" "$@"
