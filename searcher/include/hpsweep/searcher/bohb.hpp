#pragma once
// BOHB (Falkner, Klein and Hutter, "BOHB: Robust and Efficient Hyperparameter Optimization at
// Scale", ICML 2018) without a driver: TPE chooses each trial's configuration when its task
// starts, as `searcher: {name: tpe}` does (tpe_store.hpp), and ASHA judges the trial at its
// rungs, as `adaptive_asha` does (asha.hpp). What BOHB adds is the budget the model learns
// from: the observations of a rung are the values AshaStore recorded there, joined with each
// trial's chosen hyper-parameters (trials/<id>/trial.json); completed trials' final values
// (tpe/results/) count as the last rung. The model is fitted to the largest rung that holds
// at least `startup_trials` observations (BOHB's "largest budget with enough points"); until
// one does, the configuration is a random draw. After that, a fixed share of the
// configurations (BOHB's random fraction) are still random draws.
//
// Like TPE's, the choice is a pure function of these files, the space and a seed.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <vector>

#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/searcher/asha.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/tpe.hpp"

namespace hpsweep::searcher {

// by_rung[k]: the observations at rung k of the ASHA schedule, one per trial; the last rung
// also holds the final values of completed trials.
using BohbObservations = std::vector<std::vector<TpeObservation>>;

// BOHB's budget rule: the largest rung with at least `min_points` finite observations, or
// nullopt while no rung has that many (min_points < 1 counts as 1).
std::optional<int> bohb_model_rung(const BohbObservations& by_rung, long min_points);

// BOHB's random fraction, the paper's default: this share of the configurations is drawn at
// random even once a rung has enough observations. Without it a model fitted to a handful of
// early points settles on one region, ASHA stops everything else at the first rung, and the
// model never sees a new point at its budget (bench/search.bench.cpp showed it: BOHB without
// random draws lost to ASHA on random configurations).
inline constexpr double bohb_random_fraction = 1.0 / 3.0;

// Whether the trial whose draws use `seed` is one of the random fraction: a pure function of
// the seed, so a requeued task and a replay decide alike.
bool bohb_draws_at_random(std::uint64_t seed);

struct BohbSuggestion {
    TpeSuggestion tpe;        // the values; based_on = observations the model was fitted to
    std::optional<int> rung;  // the rung whose observations were used; nullopt: a random draw
};

// The configuration to try next: TPE (settings as for tpe; startup_trials is the rule's
// min_points) fitted to the rung bohb_model_rung chooses, else (no rung has enough, or the
// seed falls in the random fraction) TPE's random startup draw. Either way none in `taken`
// while an untaken one can be found (suggest_tpe). `running`: the hyper-parameters of trials
// that chose a configuration and have reported at no rung yet, the model's constant liars
// (suggest_tpe): a trial with a record at a lower rung is already judged there by ASHA and
// is that rung's observation; lying about it at a higher rung would count it twice.
BohbSuggestion suggest_bohb(const std::vector<Hyperparameter>& space,
                            const BohbObservations& by_rung, const TpeSettings& settings,
                            std::uint64_t seed, const TakenConfigurations& taken = {},
                            const std::vector<nlohmann::ordered_json>& running = {});

// The observations of a sweep as its files hold them: AshaStore's rung records joined with
// the trial.json of each trial (trials without one, or whose record cannot be read, are left
// out: one bad file must not stop the sweep), plus TpeStore's completed results at the last
// rung (a completed trial's final value replaces its record there). In trial order.
BohbObservations bohb_observations(const AshaSchedule& schedule,
                                   const std::filesystem::path& experiment_dir);
// The same, joined with trial.json records already read (chosen_configurations), so that a
// choice reads each trial.json once.
BohbObservations bohb_observations(const AshaSchedule& schedule,
                                   const std::filesystem::path& experiment_dir,
                                   const std::map<long, nlohmann::ordered_json>& chosen);

}  // namespace hpsweep::searcher
