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

namespace hpsweep::searcher {

// A numeric setting ("MaxArraySize", "MaxJobCount") from `scontrol show config` output;
// nullopt when the line is missing or not a number.
std::optional<long> parse_slurm_config_number(const std::string& scontrol_show_config,
                                              const std::string& key);
std::optional<long> parse_max_array_size(const std::string& scontrol_show_config);

// The batch script every chunk runs (one file per experiment; the offset comes from the
// environment, set per chunk with sbatch --export).
std::string render_batch_script(const ExperimentConfig& config,
                                const std::filesystem::path& experiment_dir,
                                const std::filesystem::path& launcher);

// sbatch arguments for one chunk, script path last. `hold` submits it held (released once
// the experiment directory is in place).
std::vector<std::string> sbatch_arguments(const ExperimentConfig& config,
                                          const std::filesystem::path& experiment_dir,
                                          const ArrayChunk& chunk,
                                          const std::filesystem::path& script, bool hold);

}  // namespace hpsweep::searcher
