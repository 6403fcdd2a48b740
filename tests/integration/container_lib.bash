# Helpers of the container tests (tests/integration/container_*.sh); source after
# tests/test_lib.bash and cluster_env.
#   container_image     the Charliecloud test image (built once per machine by
#                       scripts/build-test-image.sh, ~15 min the first time), in $image
#   count_unpacks EXP   how many trials of EXP unpacked the image (the cold starts), from
#                       the array tasks' Slurm output files
# Images are unpacked into each node's own directory (HPSWEEP_NODE_LOCAL_DIR is bind-mounted
# per node by the local cluster), so "once per node" is visible on this one machine.

container_image() {
    if [[ -n "${HPSWEEP_TEST_IMAGE_UNAVAILABLE:-}" ]]; then
        echo "SKIP: scripts/test.sh could not build the container test image" \
            "(see $HPSWEEP_TEST_IMAGE_UNAVAILABLE)" >&2
        exit 77
    fi
    image="$("$HPSWEEP_SOURCE_DIR/scripts/build-test-image.sh")" ||
        fail "the container test image could not be built"
    export HPSWEEP_CONTAINER_CACHE_DIR="${HPSWEEP_NODE_LOCAL_DIR:?}/images-$$"
    on_exit 'for d in "$HPSWEEP_CLUSTER_DIR"/nodes/*/images-'"$$"'; do remove_tree "$d"; done'
}

count_unpacks() {
    # hpsweep-launch says it on its own stderr: the array task's Slurm output file.
    cat "$1"/slurm/*.out 2>/dev/null | grep -c '^hpsweep-launch: unpacked image ' || true
}

# The Podman test image: a root file system of nothing but Debian's static busybox (sh, awk,
# sleep, ...), imported once per machine into root's Podman storage, in $podman_image. Small on
# purpose: what the Podman test checks is the runtime's plumbing, not the training stack.
podman_test_image() {
    command -v podman >/dev/null || fail "podman is not installed (scripts/install-deps.sh installs it)"
    [[ -x /bin/busybox ]] && file_is_static /bin/busybox ||
        fail "/bin/busybox is missing or not static (scripts/install-deps.sh installs busybox-static)"
    # crun refuses to start on hosts whose cgroups are v1 with an empty v2 hierarchy (hybrid
    # mode, as in many CI containers); runc runs there and everywhere else.
    export CONTAINERS_CONF="$work/containers.conf"
    printf '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' \
        >"$CONTAINERS_CONF"
    local tag
    tag="$(sha256sum /bin/busybox | cut -c1-16)"
    podman_image="podman://localhost/hpsweep-busybox:$tag"
    podman image exists "localhost/hpsweep-busybox:$tag" && return 0
    local root="$work/busybox-root"
    mkdir -p "$root/bin" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/etc"
    cp /bin/busybox "$root/bin/busybox"
    local applet
    for applet in sh awk cat cut grep seq sleep printf test echo; do
        ln -s busybox "$root/bin/$applet"
    done
    tar -C "$root" -c . | podman import --quiet - "localhost/hpsweep-busybox:$tag" >/dev/null ||
        fail "podman import of the busybox image failed"
}

file_is_static() {
    ! LC_ALL=C ldd "$1" >/dev/null 2>&1
}
