#!/usr/bin/env bash
# Installs every Debian 12 package hpsweep needs to build, test and run (including the
# local Slurm cluster of `hpsweep cluster up`). Idempotent: when everything is already
# installed it does not touch apt at all and returns in well under a second.
#
#   scripts/install-deps.sh            all packages (build + cluster + Python)
#   scripts/install-deps.sh --cluster  only what `hpsweep cluster up` needs at run time
#   scripts/install-deps.sh --check    list what is missing, install nothing (exit 1 if any)
#
# Exit codes: 0 all present (or installed), 1 packages missing and not installable here
# (not root, --check, apt failed), 2 bad arguments.
#
# To add a dependency, append one line to the matching list below.
set -euo pipefail

readonly build_packages=(
    cmake
    g++
    clang
    libclang-rt-dev
    llvm
    make
    pkg-config
    git
    catch2
    libcli11-dev
    libfmt-dev
    nlohmann-json3-dev
    libxxhash-dev
    libssl-dev
    libarchive-dev
    libhdf5-dev
    libyaml-cpp-dev
    libhwloc-dev
    libslurm-dev
    libpmix-dev
    libopenmpi-dev
)

# What the local cluster (scripts/hpsweep-cluster) and the integration tests run.
readonly cluster_packages=(
    slurm-wlm
    slurm-client
    slurmctld
    slurmd
    slurmdbd
    munge
    mariadb-server
    mariadb-client
    openmpi-bin
    libopenmpi-dev
    hwloc
    hdf5-tools
    iproute2
    procps
    psmisc
    util-linux
    # Trials in containers: the Charliecloud runtime and the offline build of its test image
    # (scripts/build-test-image.sh); Podman with runc (crun cannot start containers where
    # cgroups are v1 with an empty v2 hierarchy, as in many CI containers) and its init, and
    # the static busybox its test image is made of (tests/integration/container_podman.sh).
    charliecloud
    mmdebstrap
    podman
    runc
    catatonit
    busybox-static
)

# Real training in the examples and HDF5 interop tests; always run with /usr/bin/python3.
readonly python_packages=(
    python3
    python3-numpy
    python3-torch
    python3-h5py
    python3-sklearn
    chromium
    python3-pandas
)

usage() {
    echo "usage: $0 [--cluster] [--check]" >&2
    exit 2
}

only_cluster=0
check_only=0
for arg in "$@"; do
    case "$arg" in
        --cluster) only_cluster=1 ;;
        --check) check_only=1 ;;
        -h | --help)
            sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) usage ;;
    esac
done

if ((only_cluster)); then
    wanted=("${cluster_packages[@]}")
else
    wanted=("${build_packages[@]}" "${cluster_packages[@]}" "${python_packages[@]}")
fi

# One dpkg-query for the whole list: "ii " means installed and configured.
missing_packages() {
    local pkg status
    declare -A installed=()
    while IFS=' ' read -r pkg status; do
        [[ "$status" == "ii" ]] && installed["${pkg%%:*}"]=1
    done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null || true)
    for pkg in "$@"; do
        [[ -n "${installed[$pkg]:-}" ]] || echo "$pkg"
    done
}

mapfile -t missing < <(missing_packages "${wanted[@]}" | sort -u)
if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#wanted[@]} packages already installed"
    exit 0
fi

if ((check_only)); then
    echo "install-deps: missing Debian packages: ${missing[*]}" >&2
    exit 1
fi
if ((EUID != 0)); then
    echo "install-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install-deps: run as root to install them: sudo $0 ${*}" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null; then
    echo "install-deps: apt-get not found; install by hand: ${missing[*]}" >&2
    exit 1
fi

echo "install-deps: installing ${#missing[@]} Debian packages: ${missing[*]}"

# Package maintainer scripts would start system slurmctld/slurmd/munge/mariadb services;
# hpsweep runs its own private instances, so forbid service starts during the install
# unless the machine already has a policy (Docker images ship one that does the same).
policy_file=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "$policy_file" ]]; then
    printf '#!/bin/sh\n# temporary, written by hpsweep install-deps.sh\nexit 101\n' >"$policy_file"
    chmod 755 "$policy_file"
    created_policy=1
fi
cleanup() {
    if ((created_policy)); then rm -f "$policy_file"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"

mapfile -t still_missing < <(missing_packages "${wanted[@]}" | sort -u)
if ((${#still_missing[@]} > 0)); then
    echo "install-deps: still missing after apt-get install: ${still_missing[*]}" >&2
    exit 1
fi
echo "install-deps: done"
