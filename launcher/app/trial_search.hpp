#pragma once
// Model-based search in hpsweep-launch (searcher: {name: tpe} or {name: bohb}): before the trial
// runs, its configuration is chosen from the results published so far and recorded in
// trials/<id>/trial.json; when it completes, its final value of the searcher's metric is
// published for the trials that start after it (searcher/tpe_store.hpp).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/searcher/config.hpp"

namespace hpsweep::launcher {

// Chooses and records the trial's configuration when the experiment's searcher picks it at
// start (tpe, bohb); a no-op for every other searcher and for a trial that already has one.
void choose_trial_configuration(const searcher::ExperimentConfig& config,
                                const std::filesystem::path& experiment, long trial_id);

// Follows the searcher's metric during a TPE or BOHB trial and publishes its last value when the
// trial completes. Trials that fail, are cancelled, stopped or preempted publish nothing:
// a value from a cut-short run would mislead the model.
class TpeResultPublisher {
public:
    TpeResultPublisher(const searcher::ExperimentConfig& config, std::filesystem::path experiment,
                       TrialRecord trial);

    void observe(std::string_view metric, double value);
    void trial_ended(const std::string& status) const;

private:
    std::string metric_;
    std::filesystem::path experiment_;
    TrialRecord trial_;
    std::optional<double> last_;
};

}  // namespace hpsweep::launcher
