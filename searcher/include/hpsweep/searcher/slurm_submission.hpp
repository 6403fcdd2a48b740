#pragma once
// Slurm submission of a sweep, as text the CLI hands to Slurm: the sbatch arguments of one
// job-array chunk, the batch script every chunk runs, and the cluster limits read from
// `scontrol show config`. The batch script computes
//   TRIAL_ID = HPSWEEP_TRIAL_OFFSET + SLURM_ARRAY_TASK_ID and runs
//   srun <hpsweep-launch> --experiment <EXP> --trial <TRIAL_ID>
// Nothing here talks to Slurm or includes a Slurm header.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/searcher/array_plan.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/pyxis.hpp"

namespace hpsweep::searcher {

// A numeric setting ("MaxArraySize", "MaxJobCount") from `scontrol show config` output;
// nullopt when the line is missing or not a number.
std::optional<long> parse_slurm_config_number(const std::string& scontrol_show_config,
                                              const std::string& key);
std::optional<long> parse_max_array_size(const std::string& scontrol_show_config);

// The batch script every chunk runs (one file per experiment; each chunk passes its trial
// offset as the script's argument, which the script exports as HPSWEEP_TRIAL_OFFSET). With
// `pyxis` (pyxis.hpp), srun starts the step in the image and `launcher` runs inside it with
// --no-container.
std::string render_batch_script(const ExperimentConfig& config,
                                const std::filesystem::path& experiment_dir,
                                const std::filesystem::path& launcher,
                                const std::optional<PyxisStep>& pyxis = std::nullopt);

// The array throttle (the K of --array=...%K): resources.max_concurrent, else the
// searcher's max_concurrent_trials, else 0 (no throttle).
int array_throttle(const ExperimentConfig& config);

// What a job asks Slurm for. resource_flags() turns it into the options sbatch and salloc
// share (--nodes, --ntasks-per-node, --gres=gpu:N, --cpus-per-task, --mem, --time,
// --partition, --account), leaving out zeros and empty strings.
struct ResourceRequest {
    int nodes = 1;
    int tasks_per_node = 1;
    int gpus_per_node = 0;
    int cpus_per_task = 0;
    std::string mem, time, partition, account;
};
std::vector<std::string> resource_flags(const ResourceRequest& request);
// A trial's request: one task per GPU (or one), its cores per GPU per task, its time limit
// as the user gave it.
ResourceRequest trial_resource_request(const Resources& resources);

// How long before a task's time limit sbatch_arguments asks for the preemption notice
// (--signal=B:USR2@N): 60 s, or a quarter of a limit under 4 minutes, so that a short limit
// does not get the notice at start.
inline constexpr long preemption_notice_seconds = 60;
long preemption_notice_lead(const std::string& time_limit);
// The Slurm time limit of a packed array task whose trials need `work_seconds`: that plus
// the notice's lead, so its last trial has all of its time before the notice.
std::string task_time_limit(long work_seconds);

// sbatch arguments for one chunk, script path last. `hold` submits it held (released once
// the experiment directory is in place).
std::vector<std::string> sbatch_arguments(const ExperimentConfig& config,
                                          const std::filesystem::path& experiment_dir,
                                          const ArrayChunk& chunk,
                                          const std::filesystem::path& script, bool hold);

}  // namespace hpsweep::searcher
