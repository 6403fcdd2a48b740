#!/usr/bin/env bash
# Builds the Charliecloud directory image the container tests run trials in: a minimal
# Debian 12 (mmdebstrap --variant=essential) with only what examples/digits needs, turned
# into a Charliecloud directory image by ch-convert. The image is cached under a root-owned
# directory keyed by the package list, the suite and this script's recipe version, so a
# machine (CI runner) builds it once; later calls print the cached path and return at once.
#
#   scripts/build-test-image.sh            build if missing, print the image directory
#   scripts/build-test-image.sh --print    print the image directory, build nothing
#                                          (exit 1 when it is not built yet)
#
# Offline-friendly: the host's /var/cache/apt/archives is copied into the build first, so
# apt downloads only what the host has never fetched (nothing on a machine where
# scripts/install-deps.sh ran, which installs the same Python packages).
#
# Environment: HPSWEEP_TEST_IMAGE_CACHE (default /var/cache/hpsweep/test-images).
# Exit codes: 0 image ready (path on stdout), 1 build failed or not built (--print),
# 2 bad arguments.
set -euo pipefail

readonly recipe_version=1
readonly suite=bookworm
readonly image_packages=(
    python3
    python3-numpy
    python3-sklearn
    python3-torch
)
readonly cache_root="${HPSWEEP_TEST_IMAGE_CACHE:-/var/cache/hpsweep/test-images}"

print_only=0
case "${1:-}" in
    "") ;;
    --print) print_only=1 ;;
    *)
        echo "usage: $0 [--print]" >&2
        exit 2
        ;;
esac

key="$(printf '%s\n' "recipe=$recipe_version" "suite=$suite" "${image_packages[@]}" |
    sha256sum | cut -c1-16)"
image_dir="$cache_root/digits-$key"

if [[ -f "$image_dir/.hpsweep-image-complete" ]]; then
    echo "$image_dir"
    exit 0
fi
if ((print_only)); then
    echo "$0: the test image is not built yet ($image_dir); run $0" >&2
    exit 1
fi
if ((EUID != 0)); then
    echo "$0: building the test image needs root (mmdebstrap, root-owned cache $cache_root)" >&2
    exit 1
fi
for tool in mmdebstrap ch-convert; do
    if ! command -v "$tool" >/dev/null; then
        echo "$0: $tool is not installed (scripts/install-deps.sh installs it)" >&2
        exit 1
    fi
done

install -d -m 0755 -o root -g root "$cache_root"
work="$(mktemp -d "$cache_root/.build-XXXXXX")"
trap 'rm -rf -- "$work"' EXIT

include="$(
    IFS=,
    echo "${image_packages[*]}"
)"
start=$SECONDS
# Reuse the host's downloaded .debs (copied in before apt runs, removed afterwards) and
# drop docs, man pages and apt lists: the image only has to run python3.
mmdebstrap --variant=essential --include="$include" \
    --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
    --setup-hook='find /var/cache/apt/archives -maxdepth 1 -name "*.deb" -exec cp -t "$1/var/cache/apt/archives/" {} +' \
    --dpkgopt='force-unsafe-io' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='rm -rf "$1/var/cache/apt/archives/"*.deb "$1/var/lib/apt/lists/"*' \
    "$suite" "$work/rootfs.tar" >"$work/mmdebstrap.log" 2>&1 || {
    tail -n 30 "$work/mmdebstrap.log" >&2
    echo "$0: mmdebstrap failed (log above)" >&2
    exit 1
}
ch-convert -i tar -o dir "$work/rootfs.tar" "$work/image" >"$work/ch-convert.log" 2>&1 || {
    tail -n 30 "$work/ch-convert.log" >&2
    echo "$0: ch-convert failed (log above)" >&2
    exit 1
}
# Everyone may read and run the image (trials run as the job user); only root writes it.
chmod -R go+rX,go-w "$work/image"
touch "$work/image/.hpsweep-image-complete"
rm -rf -- "$image_dir"
mv "$work/image" "$image_dir"
echo "$0: built $image_dir in $((SECONDS - start)) s" >&2
echo "$image_dir"
