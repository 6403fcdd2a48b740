#pragma once
// The Slurm client commands the sweep commands run (sbatch, scontrol, scancel, squeue, sacct),
// as processes; what their output means is parsed in slurm_client/.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/error.hpp"
#include "hpsweep/process.hpp"
#include "slurm_json.hpp"

namespace hpsweep::cli::sweep {

// Runs a Slurm command; throws Error(slurm) with its stderr when it fails or cannot start.
ProcessResult run_slurm(const std::vector<std::string>& argv);

// Runs independent Slurm commands with up to `max_workers` at a time (each client call is
// mostly munge + RPC latency, which overlaps well). Returns every result in input order;
// a command that failed has its error in `errors[i]` (empty when it succeeded), so the
// caller can clean up what did succeed before reporting the failure.
struct SlurmBatchResult {
    std::vector<ProcessResult> results;
    std::vector<std::string> errors;
    std::optional<Error> first_error;
};
SlurmBatchResult run_slurm_parallel(const std::vector<std::vector<std::string>>& commands,
                                    std::size_t max_workers);
// The limits of the running controller that shape a submission (scontrol show config).
struct ClusterLimits {
    long max_array_size = 1001;
    std::optional<long> max_job_count;  // every array task counts as one job record
};
ClusterLimits cluster_limits();
// Job records the controller holds now (all users, all states it still remembers, array
// tasks counted one by one), which count against MaxJobCount.
long controller_job_records();
// One scancel for all the given job ids / job_task ids; true when it succeeded.
bool scancel(const std::vector<std::string>& ids);

// The tasks still queued, "job_task" -> task, for a comma-separated list of job ids. A job
// squeue has already forgotten is no error (sacct knows it).
std::map<std::string, slurm::QueuedTask> queued_tasks(const std::string& id_list);

// The tasks accounted for, "job_task" -> task; nullopt with the reason in `failure` when
// sacct fails (no accounting storage on the cluster).
std::optional<std::map<std::string, slurm::AccountedTask>> accounted_tasks(
    const std::string& id_list, std::string& failure);

}  // namespace hpsweep::cli::sweep
