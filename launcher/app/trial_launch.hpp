#pragma once
// What hpsweep-launch does for a trial of an experiment around launch(), in two parts: what
// holds for the whole experiment (its config, staged datastores and code snapshot), which a
// packed task prepares once for all its trials, and the launch of one trial.

#include <filesystem>
#include <optional>
#include <string>

#include "hpsweep/launcher/launch.hpp"
#include "hpsweep/searcher/config.hpp"
#include "trial_container.hpp"
#include "trial_datastores.hpp"
#include "trial_snapshot.hpp"

namespace hpsweep::launcher {

// Keep alive until the trials have ended: it holds the cache leases of what it staged.
struct ExperimentSetup {
    std::optional<searcher::ExperimentConfig> config;  // none: a hand-made trial table
    StagedDatastores datastores;
    std::optional<StagedSnapshot> snapshot;
    // The commit metrics.h5 records, when already known (a packed task asks git once).
    std::optional<std::string> git_commit;
};

// Loads EXP/experiment.yaml, exports its variables, stages the datastores and the code
// snapshot (which may change the working directory and sets HPSWEEP_SNAPSHOT_*), all into
// this process. Throws Error and no trial should start.
ExperimentSetup prepare_experiment(const std::filesystem::path& experiment);

// Launches options.trial of options.experiment (or, without an experiment, the command) as
// hpsweep-launch does: the trial's configuration chosen (tpe), its container, the metrics
// and search hooks. Returns the exit code.
int launch_trial(const ExperimentSetup& setup, LaunchOptions options,
                 const ContainerArguments& container);

}  // namespace hpsweep::launcher
