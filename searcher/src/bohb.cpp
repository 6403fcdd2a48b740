#include "hpsweep/searcher/bohb.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "hpsweep/searcher/tpe_store.hpp"

namespace hpsweep::searcher {

std::optional<int> bohb_model_rung(const BohbObservations& by_rung, long min_points) {
    for (auto k = static_cast<long>(by_rung.size()) - 1; k >= 0; --k) {
        const auto& rung = by_rung[static_cast<size_t>(k)];
        const auto finite = std::count_if(rung.begin(), rung.end(),
                                          [](const auto& o) { return std::isfinite(o.value); });
        if (finite >= std::max(1L, min_points))
            return static_cast<int>(k);
    }
    return std::nullopt;
}

bool bohb_draws_at_random(std::uint64_t seed) {
    Random coin(derive_seed(seed, "bohb#random-fraction"));
    return coin.uniform01() < bohb_random_fraction;
}

BohbSuggestion suggest_bohb(const std::vector<Hyperparameter>& space,
                            const BohbObservations& by_rung, const TpeSettings& settings,
                            std::uint64_t seed, const TakenConfigurations& taken,
                            const std::vector<nlohmann::ordered_json>& running) {
    BohbSuggestion out;
    if (!bohb_draws_at_random(seed))
        out.rung = bohb_model_rung(by_rung, settings.startup_trials);
    // A random draw is TPE's own startup draw (an empty history), so the random phase of
    // BOHB draws exactly what a TPE sweep with the same seed would.
    static const std::vector<TpeObservation> none;
    out.tpe = suggest_tpe(space, out.rung ? by_rung[static_cast<size_t>(*out.rung)] : none,
                          settings, seed, taken, running);
    return out;
}

BohbObservations bohb_observations(const AshaSchedule& schedule,
                                   const std::filesystem::path& experiment_dir) {
    return bohb_observations(schedule, experiment_dir,
                             chosen_configurations(ExperimentDir(experiment_dir)));
}

BohbObservations bohb_observations(const AshaSchedule& schedule,
                                   const std::filesystem::path& experiment_dir,
                                   const std::map<long, nlohmann::ordered_json>& chosen) {
    const AshaStore store(experiment_dir, schedule);

    const auto rungs = schedule.rung_lengths().size();
    BohbObservations by_rung(rungs);
    for (size_t k = 0; k < rungs; ++k) {
        std::map<long, TpeObservation> at_rung;  // one per trial, in trial order
        for (const auto& result : store.results_at(static_cast<int>(k))) {
            const auto hps = chosen.find(result.trial_id);
            if (hps != chosen.end() && !at_rung.count(result.trial_id))
                at_rung[result.trial_id] =
                    TpeObservation{result.trial_id, hps->second, result.value};
        }
        if (k + 1 == rungs) {
            // A completed trial's final value is its value at the full budget.
            for (auto& completed : TpeStore(experiment_dir).completed())
                at_rung[completed.trial_id] = std::move(completed);
        }
        for (auto& [trial, observation] : at_rung) by_rung[k].push_back(std::move(observation));
    }
    return by_rung;
}

}  // namespace hpsweep::searcher
