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

// Where experiments are created and found: experiment_lookup.hpp.
std::filesystem::path experiments_home();
std::filesystem::path resolve_experiment(const std::string& exp);

std::string now_iso8601();

// experiment.json: read (throws Error(data)) and atomic rewrite.
nlohmann::ordered_json read_metadata(const ExperimentDir& dir);
void write_metadata(const ExperimentDir& dir, const nlohmann::ordered_json& metadata);

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

// One submitted array, as recorded in experiment.json.
struct ArrayRecord {
    std::string job_id;
    long offset = 0;
    std::string array;  // the --array value, "0-1000%4"
    std::vector<searcher::IndexRange> indices;
    long pack = 1;  // trials per array task (docs/packing.md)
};
std::vector<ArrayRecord> array_records(const nlohmann::ordered_json& metadata);
nlohmann::ordered_json to_json(const ArrayRecord& record, const std::string& kind);

// Where a trial runs in Slurm: the latest array that holds it.
struct TrialJob {
    std::string array_job_id;
    long task_id = -1;
    bool packed = false;  // the task runs other trials too: never scancel it for this one
    std::string job_task() const { return array_job_id + "_" + std::to_string(task_id); }
};
std::vector<std::optional<TrialJob>> trial_jobs(const nlohmann::ordered_json& metadata,
                                                long num_trials);

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
ExperimentStates collect_states(const ExperimentDir& dir, const nlohmann::ordered_json& metadata);

bool is_terminal(const std::string& state);
bool is_success(const std::string& state);  // completed, stopped_early

// Blocks until no trial is pending or running, polling gently. On a terminal, keeps one live
// line on stderr. Returns the final states.
ExperimentStates wait_for_experiment(const ExperimentDir& dir, bool json_output);

// Counts as "3 pending, 1 running, 6 completed".
std::string format_counts(const std::map<std::string, long>& counts);

}  // namespace hpsweep::cli::sweep
