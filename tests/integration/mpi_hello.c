/* Smallest real MPI program for the local-cluster test: every rank reports its rank, the
 * world size and the host it runs on, after a barrier proves the ranks talk to each other. */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank = 0;
    int size = 0;
    char host[MPI_MAX_PROCESSOR_NAME];
    int host_len = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Get_processor_name(host, &host_len);
    /* A collective: fails or hangs unless the ranks on different nodes can reach each other. */
    int rank_sum = 0;
    MPI_Allreduce(&rank, &rank_sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    printf("hello from rank %d of %d on %s (sum of ranks %d)\n", rank, size, host, rank_sum);
    MPI_Finalize();
    return 0;
}
