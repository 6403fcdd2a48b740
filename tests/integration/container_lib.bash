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
