#pragma once
// What hpsweep-launch adds around a trial, beyond the launcher library: the trial's HDF5
// metrics file (hpsweep::metrics) and adaptive search decisions (hpsweep::searcher's ASHA
// rung store). Kept out of hpsweep::launcher so that library needs neither HDF5 nor YAML
// (the SPANK plugin links it).

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "hpsweep/launcher/launch.hpp"
#include "hpsweep/searcher/config.hpp"

namespace hpsweep::launcher {

// The experiment's resolved config (EXP/experiment.yaml), or nullopt when the directory has
// none (a hand-made trial table): the trial then runs without adaptive search.
std::optional<searcher::ExperimentConfig> load_trial_config(
    const std::filesystem::path& experiment);

// Variables the training program sees from the config: HPSWEEP_MAX_LENGTH (its budget in the
// unit its steps count: searcher.step_unit converted it when loading) and
// HPSWEEP_MAX_LENGTH_UNIT. Set in our own environment before launch().
void export_config_environment(const searcher::ExperimentConfig& config);

// The git commit metrics.h5 records: the one recorded at submit when the trial runs a code
// snapshot (HPSWEEP_SNAPSHOT_COMMIT, the copy has no .git), else the working directory's.
std::string trial_git_commit();

// HPSWEEP_STOP_GRACE_SECONDS (10 s when unset or invalid, with a warning): how long a child
// the launcher stops has to checkpoint before SIGKILL.
std::chrono::milliseconds stop_grace_from_environment();

// The LaunchHooks::for_trial factory: rank 0 of the step records metrics (and, for an
// adaptive_asha experiment, reports each rung it reaches and stops the child when told to);
// other ranks get no hooks. `git_commit`: trial_git_commit() when the caller already asked.
LaunchHooks trial_hooks(std::optional<searcher::ExperimentConfig> config,
                        std::optional<std::string> git_commit = std::nullopt);

}  // namespace hpsweep::launcher
