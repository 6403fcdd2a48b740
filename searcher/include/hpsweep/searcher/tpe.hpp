#pragma once
// Tree-structured Parzen Estimator (Bergstra et al., "Algorithms for Hyper-Parameter
// Optimization", NeurIPS 2011), in the independent form Optuna's TPESampler uses by default:
// completed trials are split into the best gamma(n) ("below") and the rest ("above"); for each
// hyper-parameter a Parzen estimator l(x) is fitted to the below values and g(x) to the above
// values, candidates are drawn from l and the one with the largest l(x)/g(x) is chosen.
//
// It is a pure function of the search space, the completed results and a seed, so a trial
// that asks twice (a requeue) or a test that replays a history gets the same answer.
//
// Domains: lists are categorical; typed ranges and uniform()/loguniform() are continuous
// ranges (their count only matters to grid search), searched in log space for log ranges
// and rounded for integers.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <vector>

#include "hpsweep/searcher/config.hpp"

namespace hpsweep::searcher {

struct TpeSettings {
    bool smaller_is_better = true;
    // Random draws until this many trials have completed (Optuna's n_startup_trials).
    long startup_trials = 10;
    // Candidates drawn from l(x) per hyper-parameter (Optuna's n_ei_candidates).
    int candidates = 24;
    // Optuna's constant_liar: trials that are running (configuration chosen, no result yet)
    // join the "above" set as if they had finished with the worst value, so that tasks which
    // start while others run do not all fit the same model and propose the same region.
    bool constant_liar = true;
};

struct TpeObservation {
    long trial_id = 0;
    nlohmann::ordered_json hyperparameters;  // name -> typed value, as in the trial table
    double value = 0;                        // the searcher's metric at the trial's end
};

struct TpeSuggestion {
    std::vector<Value> values;  // in config.hyperparameters order
    long based_on = 0;          // completed trials the model was fitted to (0: random draw)
    // The configuration was already taken: every configuration of a finite space was (or no
    // untaken one was found among the draws of a space too large to list).
    bool repeat = false;
};

// The configurations other trials of the sweep already hold (started, running or done), as
// hyperparameter_hash() (contracts/trial_record.hpp) of their hyper-parameters: the hash
// `hpsweep extend` skips repeats by. On a finite space a repeated configuration wastes a
// whole trial, so the searcher does not propose one while an untaken one remains.
using TakenConfigurations = std::unordered_set<std::string>;

// The hash a suggestion is compared by: hyperparameter_hash() of {name: value} in space order.
std::string configuration_hash(const std::vector<Hyperparameter>& space,
                               const std::vector<Value>& values);

// Size of the "below" set among n completed trials: ceil(0.1 n), at most 25, at least 1
// (Optuna's default_gamma).
long tpe_below_count(long completed);

// The configuration to try next. Observations whose values do not fit the space (a widened
// or changed config) are ignored for that hyper-parameter.
//
// `running`: the hyper-parameters of the trials that chose a configuration and have no result
// yet. With settings.constant_liar they are modelled as Optuna's constant liar does: each joins
// g(x)'s "above" set (the worst value so far), never l(x)'s, and neither the startup count nor
// the size of the "below" set counts them, so without running trials the choice is exactly
// the one without the liar. Without constant_liar, or during the random startup, they are
// ignored.
//
// Never one in `taken` while an untaken one can be found: the modelled choice is the untaken
// combination of the per-hyper-parameter candidates with the largest l(x)/g(x) (the product
// over hyper-parameters, so with nothing taken it is exactly the independent choice); when
// every combination of candidates is taken, the untaken configuration of a finite space (up
// to 2^20 configurations, listed whole) with the largest l(x)/g(x). A random draw is redrawn
// from the same streams while taken, then drawn uniformly among the untaken configurations
// of a finite space. When every configuration is taken (or, in a space too large to list, no
// draw was untaken) the first choice is returned with `repeat` set: a repeated trial is
// another noisy observation, and an array task must not fail for it.
TpeSuggestion suggest_tpe(const std::vector<Hyperparameter>& space,
                          const std::vector<TpeObservation>& completed, const TpeSettings& settings,
                          std::uint64_t seed, const TakenConfigurations& taken = {},
                          const std::vector<nlohmann::ordered_json>& running = {});

}  // namespace hpsweep::searcher
