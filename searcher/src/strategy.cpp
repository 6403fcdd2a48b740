#include "hpsweep/searcher/strategy.hpp"

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/pbt_config.hpp"
#include "trial_space.hpp"

namespace hpsweep::searcher {

namespace {

constexpr std::uint64_t saturated = std::numeric_limits<std::uint64_t>::max();

std::uint64_t saturating_multiply(std::uint64_t a, std::uint64_t b) {
    if (a != 0 && b > saturated / a)
        return saturated;
    return a * b;
}

}  // namespace

namespace detail {

// Product of the grid sizes; nullopt when some domain is continuous.
std::optional<std::uint64_t> grid_product(const ExperimentConfig& config) {
    std::uint64_t product = 1;
    for (const auto& hp : config.hyperparameters) {
        const auto size = hp.domain.grid_size();
        if (!size)
            return std::nullopt;
        product = saturating_multiply(product, *size);
    }
    return product;
}

std::vector<std::vector<Value>> grids(const ExperimentConfig& config, std::uint64_t seed) {
    std::vector<std::vector<Value>> out;
    for (const auto& hp : config.hyperparameters) {
        out.push_back(hp.domain.grid_values(derive_seed(seed, hp.name)));
    }
    return out;
}

// Mixed-radix decoding: index -> one value per hyper-parameter, the last one fastest.
std::vector<Value> combination(const std::vector<std::vector<Value>>& grid, std::uint64_t index) {
    std::vector<Value> values(grid.size());
    for (size_t i = grid.size(); i-- > 0;) {
        values[i] = grid[i][index % grid[i].size()];
        index /= grid[i].size();
    }
    return values;
}

TrialRecord make_trial(const ExperimentConfig& config, long id, const std::vector<Value>& values) {
    TrialRecord trial;
    trial.id = id;
    for (size_t i = 0; i < values.size(); ++i) {
        trial.hyperparameters[config.hyperparameters[i].name] = values[i].typed;
    }
    trial.argv = trial_argv(config, values);
    // A PBT trial's exploits replace its configuration in trials/<id>/trial.json, which
    // then supersedes this row (the starting point).
    trial.chosen_at_start = is_pbt(config.searcher);
    return trial;
}

TrialRecord make_placeholder(const ExperimentConfig& config, long id) {
    TrialRecord placeholder;
    placeholder.id = id;
    placeholder.argv = config.entrypoint;
    placeholder.chosen_at_start = true;
    return placeholder;
}

// Robert Floyd's algorithm: k distinct indices of [0, n) with k draws, whatever n is.
std::vector<std::uint64_t> distinct_indices(std::uint64_t n, std::uint64_t k, Random& rng) {
    std::unordered_set<std::uint64_t> chosen;
    chosen.reserve(static_cast<size_t>(k) * 2);
    for (std::uint64_t j = n - k; j < n; ++j) {
        const std::uint64_t t = rng.below(j + 1);
        if (!chosen.insert(t).second)
            chosen.insert(j);
    }
    std::vector<std::uint64_t> out(chosen.begin(), chosen.end());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace detail

using namespace detail;

std::uint64_t count_trials(const ExperimentConfig& config) {
    const auto& s = config.searcher;
    const auto product = grid_product(config);
    if (s.strategy == Strategy::grid)
        return product.value_or(saturated);
    if (s.strategy == Strategy::single)
        return 1;
    if (chooses_at_start(s.strategy))  // continuous to the model: as many trials as asked for
        return static_cast<std::uint64_t>(s.max_trials.value_or(1));
    const auto wanted = static_cast<std::uint64_t>(s.max_trials.value_or(1));
    return product ? std::min(wanted, *product) : wanted;
}

std::vector<std::string> trial_argv(const ExperimentConfig& config,
                                    const std::vector<Value>& values) {
    std::vector<std::string> argv = config.entrypoint;
    if (config.hyperparameters_as == "flags") {
        for (size_t i = 0; i < values.size(); ++i) {
            std::string flag = config.hyperparameters[i].name;
            if (config.flag_style == "dash")
                std::replace(flag.begin(), flag.end(), '_', '-');
            argv.push_back("--" + flag);
            argv.push_back(values[i].text);
        }
    }
    if (!config.budget_flag.empty() && config.searcher.max_length) {
        argv.push_back("--" + config.budget_flag);
        argv.push_back(std::to_string(config.searcher.max_length->value));
    }
    return argv;
}

std::vector<TrialRecord> generate_trials(const ExperimentConfig& config, std::uint64_t seed) {
    const std::uint64_t n = count_trials(config);
    if (n > static_cast<std::uint64_t>(std::numeric_limits<long>::max()) || n > (1ULL << 32)) {
        throw Error(ErrorKind::config, config.source + ": the search space has too many trials");
    }
    std::vector<TrialRecord> trials;
    trials.reserve(static_cast<size_t>(n));
    const auto product = grid_product(config);
    const auto& s = config.searcher;
    if (s.strategy == Strategy::grid) {
        const auto grid = grids(config, seed);
        for (std::uint64_t i = 0; i < n; ++i) {
            trials.push_back(make_trial(config, static_cast<long>(i), combination(grid, i)));
        }
        return trials;
    }
    if (chooses_at_start(s.strategy)) {
        // Chosen by each trial when it starts (searcher/tpe_store.hpp); the table holds
        // placeholders until then.
        for (std::uint64_t i = 0; i < n; ++i)
            trials.push_back(make_placeholder(config, static_cast<long>(i)));
        return trials;
    }
    if (s.strategy != Strategy::single && product) {
        // Every domain is finite: n distinct combinations of the grid.
        const auto grid = grids(config, seed);
        Random rng(derive_seed(seed, "#combinations"));
        long id = 0;
        for (const std::uint64_t index : distinct_indices(*product, n, rng)) {
            trials.push_back(make_trial(config, id++, combination(grid, index)));
        }
        return trials;
    }
    // Independent draws: one random stream per hyper-parameter (draw t belongs to trial t).
    std::vector<Random> streams;
    std::vector<std::optional<std::vector<Value>>> finite;
    for (const auto& hp : config.hyperparameters) {
        streams.emplace_back(derive_seed(seed, hp.name + "#draws"));
        if (hp.domain.grid_size()) {
            finite.emplace_back(hp.domain.grid_values(derive_seed(seed, hp.name)));
        } else {
            finite.emplace_back(std::nullopt);
        }
    }
    for (std::uint64_t t = 0; t < n; ++t) {
        std::vector<Value> values;
        for (size_t i = 0; i < config.hyperparameters.size(); ++i) {
            if (finite[i]) {
                values.push_back((*finite[i])[streams[i].below(finite[i]->size())]);
            } else {
                values.push_back(config.hyperparameters[i].domain.sample(streams[i]));
            }
        }
        trials.push_back(make_trial(config, static_cast<long>(t), values));
    }
    return trials;
}

}  // namespace hpsweep::searcher
