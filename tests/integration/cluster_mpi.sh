#!/usr/bin/env bash
# Scenario: an OpenMPI program built here runs across two namespaced nodes with
# `srun --mpi=pmix -N2 -n2` (PMIx through Slurm, no mpirun), and both ranks report.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

# Shared storage: the build tree is on the host filesystem every node sees.
make_work_dir cluster_mpi
mpicc -O1 -o "$work/mpi_hello" "${HPSWEEP_SOURCE_DIR:?}/tests/integration/mpi_hello.c" ||
    fail "mpicc could not build mpi_hello.c"

out="$(timeout 600 srun --mpi=pmix -N2 -n2 "$work/mpi_hello" 2>&1)" ||
    fail "srun --mpi=pmix -N2 -n2 exited $?: $out"
echo "$out"
grep -q '^hello from rank 0 of 2 on ' <<<"$out" || fail "rank 0 did not report"
grep -q '^hello from rank 1 of 2 on ' <<<"$out" || fail "rank 1 did not report"
[[ "$(grep -c '(sum of ranks 1)' <<<"$out")" -eq 2 ]] || fail "MPI_Allreduce result wrong: $out"
hosts="$(sed -n 's/^hello from rank [0-9] of 2 on \([^ ]*\) .*/\1/p' <<<"$out" | sort -u | wc -l)"
[[ "$hosts" -eq 2 ]] || fail "expected the two ranks on two different nodes, got $hosts: $out"
echo "PASS: MPI ranks 0 and 1 on two nodes"
