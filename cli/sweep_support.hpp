#pragma once
// Shared by the sweep commands (run, submit, status, logs, cancel, resubmit, list): where
// experiments live, the experiment.json metadata, calls to Slurm's commands, and the trial
// states merged from squeue + sacct + the launcher's result.json files.

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/process.hpp"
#include "hpsweep/searcher/array_plan.hpp"
#include "hpsweep/searcher/slurm_submission.hpp"

namespace hpsweep::cli::sweep {

std::string now_iso8601();

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

// The experiment.json entry of an array just submitted for `chunk` (kind submit|resubmit).
ArrayRecord submitted_array(const std::string& job_id, const searcher::ArrayChunk& chunk,
                            int throttle, const std::string& kind);
// The task ranges of a recorded array; Error(data) naming the file when malformed.
std::vector<searcher::IndexRange> array_tasks(const ArrayRecord& array);

// Where a trial runs in Slurm: the latest array that holds it.
struct TrialJob {
    std::string array_job_id;
    long task_id = -1;
    bool packed = false;  // the task runs other trials too: never scancel it for this one
    std::string job_task() const { return array_job_id + "_" + std::to_string(task_id); }
};
std::vector<std::optional<TrialJob>> trial_jobs(const ExperimentRecord& record);

struct TrialState {
    long id = 0;
    std::string state = "unknown";  // pending running completed failed cancelled timeout
                                    // preempted stopped_early unknown
    std::string reason;             // Slurm's pending reason, or why a state was guessed
    std::string expected_start;     // squeue's start estimate for pending trials
    std::string node;
    std::optional<int> exit_code;
    std::string job;  // "123_4"
};

struct ExperimentStates {
    std::vector<TrialState> trials;
    std::map<std::string, long> counts;  // state -> number of trials
    std::vector<std::string> notes;      // e.g. sacct unavailable
    long active() const;                 // pending + running
    long unsuccessful() const;           // failed, cancelled, timeout, preempted, unknown
};

// One squeue call + one sacct call for the whole experiment, plus result.json files.
ExperimentStates collect_states(const ExperimentDir& dir, const ExperimentRecord& record);

bool is_terminal(const std::string& state);
bool is_success(const std::string& state);  // completed, stopped_early

// Blocks until no trial is pending or running, polling gently. On a terminal, keeps one live
// line on stderr. Returns the final states.
ExperimentStates wait_for_experiment(const ExperimentDir& dir, bool json_output);

// Counts as "3 pending, 1 running, 6 completed".
std::string format_counts(const std::map<std::string, long>& counts);

}  // namespace hpsweep::cli::sweep
