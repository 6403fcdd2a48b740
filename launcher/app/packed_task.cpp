#include "packed_task.hpp"

#include <filesystem>

#include "hpsweep/launcher/pack_supervisor.hpp"
#include "trial_hooks.hpp"
#include "trial_launch.hpp"

namespace hpsweep::launcher {

int run_packed_task(const LaunchOptions& options, const ContainerArguments& container) {
    PackOptions pack;
    pack.experiment = std::filesystem::absolute(*options.experiment);
    pack.first_trial = *options.pack_first;
    pack.count = options.pack_count;
    // Once for the task: every trial's launch runs in a fork of this process and finds it.
    ExperimentSetup setup = prepare_experiment(pack.experiment);
    setup.git_commit = trial_git_commit();
    if (setup.config)
        pack.trials_per_gpu = setup.config->resources.trials_per_gpu;
    pack.run_trial = [&setup, &container](const LaunchOptions& trial) {
        return launch_trial(setup, trial, container);
    };
    pack.policy = options.policy;
    pack.topology_file = options.topology_file;
    pack.gpus = options.gpus;
    pack.cpuset = options.cpuset;
    pack.ddp = options.ddp;
    return run_pack(pack);
}

}  // namespace hpsweep::launcher
