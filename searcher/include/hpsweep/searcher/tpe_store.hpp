#pragma once
// Model-based search without a driver: the files through which the trials of a TPE sweep
// share what they learned, in the experiment directory.
//
//   EXP/tpe/results/<id>.json   {"trial", "hyperparameters", "value"}: a completed trial's
//                               final value of the searcher's metric (atomic rename)
//   EXP/trials/<id>/trial.json  the trial's configuration, chosen when its task starts:
//                               {"id", "hyperparameters", "argv", "sampler": {"name": "tpe",
//                               "based_on": N completed trials, "seed"}}; linked once, so a
//                               requeued task, or the other ranks of the step, run the
//                               configuration the first one chose
//
// ExperimentDir::read_trials() shows trial.json in place of the table's placeholder row, so
// status, results, resubmit and the report read a TPE sweep like any other.

#include <filesystem>
#include <map>
#include <optional>
#include <vector>

#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/tpe.hpp"

namespace hpsweep::searcher {

TpeSettings tpe_settings(const ExperimentConfig& config);

class TpeStore {
public:
    explicit TpeStore(std::filesystem::path experiment_dir);

    // Records a completed trial's final value (replaces an earlier record of the same trial).
    void publish(long trial_id, const nlohmann::ordered_json& hyperparameters, double value) const;
    // Every published result, in trial order. Records that cannot be read (another
    // filesystem's leftovers, a hand edit) are skipped: one bad file must not stop the sweep.
    std::vector<TpeObservation> completed() const;

private:
    std::filesystem::path results_dir() const;

    std::filesystem::path root_;
};

// The hyper-parameters trials/<id>/trial.json records for `trial`; nullopt when there is none
// or it cannot be read (not started by a searcher that chooses at start, or damaged): one bad
// file must not stop the sweep, so such a trial is left out, as TpeStore's bad files are.
std::optional<nlohmann::ordered_json> chosen_hyperparameters(const ExperimentDir& dir, long trial);

// The hyper-parameters every readable trials/<id>/trial.json records, by trial id: what the
// sweep's trials already chose, read once for both the taken set and the running trials.
std::map<long, nlohmann::ordered_json> chosen_configurations(const ExperimentDir& dir);

// The configurations the sweep's trials already chose (chosen_configurations), which a new
// choice must not repeat (suggest_tpe).
TakenConfigurations taken_configurations(const std::map<long, nlohmann::ordered_json>& chosen);

// The trial's configuration: the one recorded in trials/<id>/trial.json if there is one,
// otherwise a new suggestion recorded there first: TPE's from the results published so far,
// or for bohb BOHB's from the rung records and results (bohb.hpp; the sampler record then
// says {"name": "bohb", "based_on", "rung", "budget", "seed"}, rung and budget null for a
// random draw). Not a configuration another trial already chose (taken_configurations and
// the results' hyper-parameters), while an untaken one is left; a repeat of a finite space
// whose every configuration is taken is recorded as "repeat": true in the sampler record.
// With searcher.constant_liar (the default) the trials that chose a configuration, have no
// result yet (for bohb: no record at any rung either) and have not ended (their result.json
// is missing or says "running") are the model's constant liars (suggest_tpe), so tasks that
// start together spread out.
TrialRecord choose_trial_config(const ExperimentConfig& config,
                                const std::filesystem::path& experiment_dir, long trial_id);

}  // namespace hpsweep::searcher
