#include "trial_search.hpp"

#include <cstdio>

#include "hpsweep/searcher/tpe_store.hpp"

namespace hpsweep::launcher {

void choose_trial_configuration(const searcher::ExperimentConfig& config,
                                const std::filesystem::path& experiment, long trial_id) {
    if (!chooses_at_start(config.searcher.strategy))
        return;
    const TrialRecord chosen = searcher::choose_trial_config(config, experiment, trial_id);
    std::fprintf(stderr, "hpsweep-launch: trial %ld runs %s\n", trial_id,
                 chosen.hyperparameters.dump().c_str());
}

TpeResultPublisher::TpeResultPublisher(const searcher::ExperimentConfig& config,
                                       std::filesystem::path experiment, TrialRecord trial)
    : metric_(config.searcher.metric),
      experiment_(std::move(experiment)),
      trial_(std::move(trial)) {}

void TpeResultPublisher::observe(std::string_view metric, double value) {
    if (metric == metric_)
        last_ = value;
}

void TpeResultPublisher::trial_ended(const std::string& status) const {
    if (status != "completed")
        return;
    if (!last_) {
        std::fprintf(stderr,
                     "hpsweep-launch: warning: trial %ld completed without reporting '%s'; the "
                     "TPE model will not learn from it\n",
                     trial_.id, metric_.c_str());
        return;
    }
    searcher::TpeStore(experiment_).publish(trial_.id, trial_.hyperparameters, *last_);
}

}  // namespace hpsweep::launcher
