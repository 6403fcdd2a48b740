#include "result_states.hpp"

#include "hpsweep/error.hpp"
#include "trial_states.hpp"

namespace hpsweep::cli {

void apply_slurm_states(const std::filesystem::path& root, metrics::ExperimentResults& results) {
    const ExperimentDir dir(root);
    if (!std::filesystem::exists(dir.metadata_path()))
        return;  // made by hand for the launcher: no arrays to ask Slurm about
    sweep::ExperimentStates states;
    try {
        states = sweep::collect_states(dir, dir.read_record());
    } catch (const Error&) {
        return;
    }
    for (auto& trial : results.trials) {
        if (trial.status != "pending" && trial.status != "running")
            continue;
        if (trial.id < 0 || static_cast<std::size_t>(trial.id) >= states.trials.size())
            continue;
        const auto& slurm = states.trials[static_cast<std::size_t>(trial.id)];
        if (slurm.state == "unknown" || slurm.state == trial.status)
            continue;
        trial.status = slurm.state;
        if (slurm.exit_code && !trial.exit_code)
            trial.exit_code = *slurm.exit_code;
        if (!slurm.node.empty() && trial.node.empty())
            trial.node = slurm.node;
    }
}

}  // namespace hpsweep::cli
