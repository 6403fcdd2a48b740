#!/usr/bin/env bash
# Builds one Slurm release from its source tarball into its own prefix, so the local
# cluster (`hpsweep cluster up --slurm PREFIX`) and the plugin
# (`cmake -DHPSWEEP_SLURM_PREFIX=PREFIX`) can be tried against a release other than the
# distribution's.
#
#   scripts/slurm-release.sh VERSION [--prefix DIR] [--tarball FILE] [--jobs N] [--no-deps]
#
#   VERSION     e.g. 25.05.8
#   --prefix    install prefix (default /opt/slurm-VERSION)
#   --tarball   source tarball (default ../shared/slurm-src/slurm-VERSION.tar.xz beside
#               the repository root)
#   --jobs      parallel make jobs (default 2)
#   --no-deps   do not install the Debian build dependencies
#
# The build runs in a temporary directory that is removed afterwards; the prefix is
# written only by `make install` after a successful build, and a finished install is
# marked by PREFIX/.hpsweep-slurm-release so a second run returns at once.
#
# Exit codes: 0 built (or already built), 1 a step failed, 2 bad arguments.
set -euo pipefail

usage() {
    echo "usage: $0 VERSION [--prefix DIR] [--tarball FILE] [--jobs N] [--no-deps]" >&2
    exit 2
}

readonly repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian 12 packages Slurm's configure looks for. Each enables a part the local cluster
# or the integration tests use: munge (auth), hwloc (task/affinity, cgroup cores), json-c
# (`squeue --json` through data_parser), http-parser/yaml/jwt (slurmrestd, serializers),
# dbus (cgroup/v2 scopes), pmix (srun --mpi=pmix), numa, lz4, pam, mariadb (slurmdbd).
readonly build_dependencies=(
    build-essential
    pkg-config
    libmunge-dev
    munge
    libhwloc-dev
    libjson-c-dev
    libhttp-parser-dev
    libyaml-dev
    libjwt-dev
    libdbus-1-dev
    libpmix-dev
    libnuma-dev
    liblz4-dev
    libpam0g-dev
    libreadline-dev
    libssl-dev
    libcurl4-openssl-dev
    libmariadb-dev
    libmariadb-dev-compat
    xz-utils
)

version=""
prefix=""
tarball=""
jobs=2
install_deps=1
while (($#)); do
    case "$1" in
        --prefix) [[ $# -ge 2 ]] || usage; prefix="$2"; shift 2 ;;
        --tarball) [[ $# -ge 2 ]] || usage; tarball="$2"; shift 2 ;;
        --jobs) [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || usage; jobs="$2"; shift 2 ;;
        --no-deps) install_deps=0; shift ;;
        -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) usage ;;
        *) [[ -z "$version" ]] || usage; version="$1"; shift ;;
    esac
done
[[ -n "$version" ]] || usage
if [[ ! "$version" =~ ^[0-9]{2}\.[0-9]{2}\.[0-9]+$ ]]; then
    echo "slurm-release: bad version '$version': expected YY.MM.N, e.g. 25.05.8" >&2
    exit 2
fi
prefix="${prefix:-/opt/slurm-$version}"
tarball="${tarball:-$repo_root/../shared/slurm-src/slurm-$version.tar.xz}"
if [[ ! -f "$tarball" ]]; then
    echo "slurm-release: source tarball not found: $tarball" >&2
    exit 1
fi
readonly marker="$prefix/.hpsweep-slurm-release"
if [[ -f "$marker" ]] && [[ "$(cat "$marker")" == "$version" ]]; then
    echo "slurm-release: Slurm $version already installed in $prefix"
    exit 0
fi

install_build_dependencies() {
    local missing=() pkg
    for pkg in "${build_dependencies[@]}"; do
        dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii' ||
            missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    if ((EUID != 0)); then
        echo "slurm-release: missing build dependencies (run as root): ${missing[*]}" >&2
        return 1
    fi
    echo "slurm-release: installing ${missing[*]}"
    # The munge package would start a system munged; the local cluster runs its own.
    local policy_file=/usr/sbin/policy-rc.d created_policy=0
    if [[ ! -e "$policy_file" ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy_file"
        chmod 755 "$policy_file"
        created_policy=1
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
        { apt-get update && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y --no-install-recommends "${missing[@]}"; } || rc=$?
    if ((created_policy)); then rm -f "$policy_file"; fi
    return "$rc"
}

if ((install_deps)); then
    install_build_dependencies
fi

work_dir="$(mktemp -d /var/tmp/slurm-release-XXXXXX)"
trap 'rm -rf "$work_dir"' EXIT

started=$(date +%s)
echo "slurm-release: unpacking $tarball"
tar -C "$work_dir" -xf "$tarball"
src_dir="$work_dir/slurm-$version"
[[ -d "$src_dir" ]] || { echo "slurm-release: $tarball has no slurm-$version/" >&2; exit 1; }

cd "$src_dir"
echo "slurm-release: configure --prefix=$prefix"
# --enable-multiple-slurmd: the local cluster runs several slurmd on one host.
./configure --prefix="$prefix" --sysconfdir="$prefix/etc" \
    --enable-multiple-slurmd --with-pmix --with-hwloc --with-json \
    --with-munge --disable-debug \
    >"$work_dir/configure.log" 2>&1 ||
    { tail -n 40 "$work_dir/configure.log" >&2; echo "slurm-release: configure failed" >&2; exit 1; }
grep -E '^(checking for json|checking whether to build multiple|checking for hwloc)' \
    "$work_dir/configure.log" || true

echo "slurm-release: make -j$jobs"
make -j"$jobs" >"$work_dir/make.log" 2>&1 ||
    { tail -n 60 "$work_dir/make.log" >&2; echo "slurm-release: make failed" >&2; exit 1; }
make install >"$work_dir/install.log" 2>&1 ||
    { tail -n 40 "$work_dir/install.log" >&2; echo "slurm-release: make install failed" >&2; exit 1; }
echo "$version" >"$marker"

finished=$(date +%s)
echo "slurm-release: Slurm $version installed in $prefix in $((finished - started)) s" \
    "(make -j$jobs)"
