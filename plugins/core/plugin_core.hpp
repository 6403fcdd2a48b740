#pragma once
// The Slurm-free half of the SPANK plugin: parsing option values and turning a trial of an
// experiment directory into the environment a plain sbatch script sees. Everything here
// is unit-tested (tests/unit/plugins/plugin_core.tests.cpp); src/ only moves data between
// these functions and Slurm.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/site_config.hpp"

namespace hpsweep::plugin {

// The plugin's view of a job's environment (from spank_get_item(S_JOB_ENV) in slurmstepd).
using JobEnvironment = std::map<std::string, std::string, std::less<>>;
JobEnvironment environment_from_envp(const char* const* envp);
std::optional<std::string> lookup(const JobEnvironment& env, std::string_view name);

// --gpu-affinity=closest|none|verbose. Throws Error(usage).
GpuAffinity parse_affinity_option(std::string_view text);

// --datastore=NAME[:VERSION|:TAG][,NAME...]: the references in order. Each one is checked
// with the datastore library's reference syntax; an empty item or a dataset named twice
// is an error. Throws Error(usage) naming the item.
std::vector<std::string> parse_datastore_option(std::string_view text);
// The dataset name part of a reference ("cifar10:3" -> "cifar10").
std::string datastore_name(std::string_view reference);
// HPSWEEP_DATASTORE_<NAME>: upper case, every character outside [A-Z0-9] becomes '_'.
std::string datastore_variable(std::string_view dataset_name);

// --hpsweep-trial=EXPDIR: must name a directory holding trials.jsonl. A relative EXPDIR is
// resolved against `base` (the submit directory). Throws Error(usage).
std::filesystem::path parse_trial_option(std::string_view text, const std::filesystem::path& base);

// --hpsweep-container=IMAGE where the user submits (sbatch/srun, the user's own rights): the
// name's grammar (hpsweep/container_image.hpp); a local image (relative to `cwd`) must exist
// and be a regular file or a directory; the runtime must be known from the site's
// container_runtime or the image's form. Returns the image as the nodes get it (absolute).
// Throws Error(usage) naming the value. slurmstepd (root) only checks the grammar again: it
// never opens the image (hpsweep-launch does, as the user).
std::string check_container_option(std::string_view text, const std::filesystem::path& cwd,
                                   std::string_view site_runtime);

// Which trial an array task runs: HPSWEEP_TRIAL_OFFSET (default 0) + SLURM_ARRAY_TASK_ID
// (the offset lets one sweep span several arrays when it exceeds MaxArraySize). Throws
// Error(usage) outside a job array or naming the variable that is not a number.
long trial_id_for(const JobEnvironment& env);

// The trial's hyper-parameter flags ("--lr 0.01 --backbone resnet18"), each word
// shell-quoted only when it needs it, so that both `python3 train.py $HPSWEEP_TRIAL_ARGS`
// (plain values) and `eval "python3 train.py $HPSWEEP_TRIAL_ARGS"` (any value) work.
// The words are the tail of the trial's argv when it ends in the `--name value` pairs
// the searcher writes (so the text is exactly what `hpsweep submit` would run), else they
// are formatted from the hyper-parameter values.
std::string trial_arguments(const TrialRecord& trial);
// The (name, value text) pairs behind trial_arguments, in the table's order.
std::vector<std::pair<std::string, std::string>> trial_flags(const TrialRecord& trial);

// Creates EXP/trials/<id>/ and its checkpoints/ (idempotent). Called as the job's user.
void prepare_trial_directories(const ExperimentDir& experiment, long trial_id);

// Everything --hpsweep-trial exports: HPSWEEP_EXPERIMENT_DIR, HPSWEEP_TRIAL_ID,
// HPSWEEP_TRIAL_DIR, HPSWEEP_CHECKPOINT_DIR, HPSWEEP_TRIAL_ARGS and HPSWEEP_HP_<NAME> for
// each hyper-parameter (name upper-cased, other characters '_'; value as in the flags).
std::map<std::string, std::string> trial_environment(const ExperimentDir& experiment,
                                                     const TrialRecord& trial);

}  // namespace hpsweep::plugin
