#pragma once
// The job arrays an experiment.json records: the entry of an array just submitted, the tasks
// of a recorded one, and which array task runs each trial.

#include <optional>
#include <string>
#include <vector>

#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/searcher/array_plan.hpp"

namespace hpsweep::cli::sweep {

// The time experiment.json records (created, cancelled), UTC.
std::string now_iso8601();

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

}  // namespace hpsweep::cli::sweep
