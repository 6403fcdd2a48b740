#include "trial_launch.hpp"

#include <utility>

#include "trial_hooks.hpp"
#include "trial_promotion.hpp"
#include "trial_search.hpp"

namespace hpsweep::launcher {

ExperimentSetup prepare_experiment(const std::filesystem::path& experiment) {
    ExperimentSetup setup;
    setup.config = load_trial_config(experiment);
    if (setup.config) {
        export_config_environment(*setup.config);
        setup.datastores = stage_trial_datastores(setup.config->datastores);
    }
    setup.snapshot = stage_trial_snapshot(experiment);
    return setup;
}

int launch_trial(const ExperimentSetup& setup, LaunchOptions options,
                 const ContainerArguments& container) {
    if (setup.config && !setup.config->searcher.stop_once && options.experiment && options.trial &&
        !options.explain &&
        !trial_runs_in_promotion_form(*setup.config, *options.experiment, *options.trial,
                                      stop_grace_from_environment()))
        return 0;
    if (setup.config && options.experiment && options.trial)
        choose_trial_configuration(*setup.config, *options.experiment, *options.trial);
    if (!options.explain)
        options.container = trial_container(container, setup.config ? &*setup.config : nullptr);
    auto hooks = trial_hooks(setup.config, setup.git_commit);
    if (setup.snapshot) {
        hooks.rewrite_command = [&snapshot = *setup.snapshot](std::vector<std::string> command) {
            return snapshot.rewrite(std::move(command));
        };
    }
    return launch(options, std::move(hooks));
}

}  // namespace hpsweep::launcher
