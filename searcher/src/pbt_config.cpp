#include "hpsweep/searcher/pbt_config.hpp"

#include <fmt/format.h>

#include "hpsweep/error.hpp"

namespace hpsweep::searcher {

namespace {

[[noreturn]] void invalid(const ExperimentConfig& c, const std::string& key,
                          const std::string& message) {
    throw Error(ErrorKind::config, c.location_of(key) + ": " + message);
}

}  // namespace

bool is_pbt(const SearcherConfig& searcher) {
    return searcher.strategy == Strategy::pbt;
}

void check_pbt_searcher(const ExperimentConfig& c) {
    const auto& s = c.searcher;
    const auto& pbt = s.pbt;
    if (!is_pbt(s))
        return;
    if (s.metric.empty())
        invalid(c, "searcher.name", "pbt needs 'metric' (the metric members are ranked by)");
    if (!s.max_length)
        invalid(c, "searcher.name",
                "pbt needs 'max_length' ({epochs|batches|steps: N}) or Determined's "
                "'num_rounds' with 'length_per_round'");
    if (!pbt.perturb_every)
        invalid(c, "searcher.name",
                "pbt needs 'perturb_every' ({epochs|batches|steps: N}, how often members "
                "compare) or Determined's 'length_per_round'");
    if (pbt.perturb_every->unit != s.max_length->unit)
        invalid(c, "searcher.perturb_every",
                fmt::format("'perturb_every' is in {} but 'max_length' in {}: use one unit",
                            pbt.perturb_every->unit, s.max_length->unit));
    if (pbt.perturb_every->value >= s.max_length->value)
        invalid(c, "searcher.perturb_every",
                fmt::format("'perturb_every' ({}) must be shorter than 'max_length' ({}): no "
                            "member could ever exploit another",
                            pbt.perturb_every->value, s.max_length->value));
    if (s.max_trials && *s.max_trials < 2)
        invalid(c, "searcher.max_trials", "a PBT population needs at least 2 trials");
    if (!(pbt.quantile > 0 && pbt.quantile <= 0.5))
        invalid(c, "searcher.quantile",
                fmt::format("'quantile' must be in (0, 0.5], got {}", pbt.quantile));
    if (!(pbt.resample_probability >= 0 && pbt.resample_probability <= 1))
        invalid(c, "searcher.resample_probability",
                fmt::format("'resample_probability' must be in [0, 1], got {}",
                            pbt.resample_probability));
    for (double factor : pbt.factors) {
        if (!(factor > 0))
            invalid(c, "searcher.perturbation_factors",
                    fmt::format("perturbation factors must be > 0, got {}", factor));
    }
    if (c.hyperparameters_as != "flags")
        invalid(c, "hyperparameters_as",
                "pbt restarts the program with the perturbed values as flags: "
                "hyperparameters_as must be 'flags'");
    if (c.hyperparameters.empty())
        invalid(c, "searcher.name", "pbt needs hyper-parameters to perturb");
}

PbtSettings pbt_settings(const ExperimentConfig& config) {
    const auto& s = config.searcher;
    PbtSettings settings;
    settings.smaller_is_better = s.smaller_is_better;
    settings.population_size = static_cast<long>(s.max_trials.value_or(settings.population_size));
    settings.perturb_every =
        s.pbt.perturb_every ? static_cast<long>(s.pbt.perturb_every->value) : 1;
    settings.quantile = s.pbt.quantile;
    settings.resample_probability = s.pbt.resample_probability;
    settings.factors = s.pbt.factors;
    return settings;
}

std::optional<long> pbt_ready_point(const ExperimentConfig& config, long long step) {
    const auto& s = config.searcher;
    if (!is_pbt(s) || !s.pbt.perturb_every || !s.max_length)
        return std::nullopt;
    const long long every = s.pbt.perturb_every->value;
    const long long k = step / every;
    if (k < 1 || step >= s.max_length->value)
        return std::nullopt;
    return static_cast<long>(k);
}

}  // namespace hpsweep::searcher
