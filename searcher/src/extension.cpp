#include "hpsweep/searcher/extension.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_set>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/pbt_config.hpp"
#include "hpsweep/strings.hpp"
#include "trial_space.hpp"

namespace hpsweep::searcher {
namespace {

using namespace detail;

const char* const not_a_widening =
    "extend only adds trials of the same experiment: hyper-parameter domains may widen and "
    "max_trials may rise; submit a new experiment for anything else";

[[noreturn]] void refuse(const ExperimentConfig& widened, const std::string& what) {
    throw Error(ErrorKind::config, fmt::format("{}: {}; {}", widened.source, what, not_a_widening));
}

// A setting's value on one line, as messages show it: "[python3, train.py]".
std::string flow_text(const YAML::Node& node) {
    YAML::Emitter out;
    out.SetSeqFormat(YAML::Flow);
    out.SetMapFormat(YAML::Flow);
    out << node;
    return out.c_str();
}

// The settings that must not change, as the experiment.yaml text of each (searcher keys one
// by one, "searcher.metric"): the config with its hyper-parameters, name and trial count
// left out.
std::vector<std::pair<std::string, std::string>> fixed_settings(ExperimentConfig config) {
    config.hyperparameters.clear();
    config.name = "x";
    config.description.clear();
    config.searcher.max_trials.reset();
    config.searcher.seed.reset();
    std::vector<std::pair<std::string, std::string>> out;
    const YAML::Node root = YAML::Load(to_yaml(config));
    for (const auto& entry : root) {
        const auto key = entry.first.as<std::string>();
        if (key == "name" || key == "hyperparameters")
            continue;
        if (entry.second.IsMap()) {
            for (const auto& inner : entry.second) {
                out.emplace_back(key + "." + inner.first.as<std::string>(),
                                 flow_text(inner.second));
            }
            out.emplace_back(key, "{...}");  // the block itself, so a missing block is named
        } else {
            out.emplace_back(key, flow_text(entry.second));
        }
    }
    return out;
}

void check_fixed_settings(const ExperimentConfig& experiment, const ExperimentConfig& widened) {
    const auto before = fixed_settings(experiment);
    const auto after = fixed_settings(widened);
    auto find = [](const auto& settings, const std::string& key) -> const std::string* {
        for (const auto& [k, v] : settings)
            if (k == key)
                return &v;
        return nullptr;
    };
    for (const auto& [key, value] : before) {
        const std::string* now = find(after, key);
        if (!now)
            refuse(widened, fmt::format("{} is not set (the experiment has {})", key, value));
        if (*now != value)
            refuse(widened, fmt::format("{} is {} (the experiment has {})", key, *now, value));
    }
    for (const auto& [key, value] : after) {
        if (!find(before, key))
            refuse(widened, fmt::format("{} is {} (the experiment does not set it)", key, value));
    }
}

bool is_range(Domain::Kind kind) {
    return kind == Domain::Kind::int_range || kind == Domain::Kind::double_range ||
           kind == Domain::Kind::log_range;
}

// Whether a continuous range (no count) can draw V.
bool range_contains(const Domain& range, const Value& v) {
    if (!v.typed.is_number())
        return false;
    const double x = v.typed.get<double>();
    // Values written to experiment.yaml and read back may differ in the last digit.
    const double slack = 1e-12 * std::max({1.0, std::fabs(range.minval), std::fabs(range.maxval)});
    switch (range.kind) {
        case Domain::Kind::int_range:
            return x == std::floor(x) && x >= range.minval && x <= range.maxval;
        case Domain::Kind::double_range:
            return x >= range.minval - slack && x <= range.maxval + slack;
        case Domain::Kind::log_range: {
            if (x <= 0)
                return false;
            const double exponent = std::log(x) / std::log(range.base);
            return exponent >= range.minval - 1e-9 && exponent <= range.maxval + 1e-9;
        }
        default:
            return false;
    }
}

// Whether every value BEFORE can take, AFTER can take too.
void check_domain_widens(const ExperimentConfig& widened, const Hyperparameter& before,
                         const Hyperparameter& after, std::uint64_t seed) {
    const auto hp_seed = derive_seed(seed, before.name);
    const bool was_finite = before.domain.grid_size().has_value();
    const bool is_finite = after.domain.grid_size().has_value();
    const std::string shown =
        fmt::format("hyper-parameter '{}' is {} (the experiment has {})", after.name,
                    after.domain.describe(), before.domain.describe());
    if (!was_finite) {
        const auto& a = after.domain;
        const auto& b = before.domain;
        if (is_finite || a.kind != b.kind ||
            (a.kind == Domain::Kind::log_range && a.base != b.base) || a.minval > b.minval ||
            a.maxval < b.maxval) {
            refuse(widened,
                   shown + ", which does not contain every value the experiment's can take");
        }
        return;
    }
    std::set<std::string> allowed;
    if (is_finite) {
        for (const auto& v : after.domain.grid_values(hp_seed))
            allowed.insert(canonical_json(v.typed));
    }
    for (const auto& v : before.domain.grid_values(hp_seed)) {
        const bool contained = is_finite
                                   ? allowed.count(canonical_json(v.typed)) != 0
                                   : is_range(after.domain.kind) && range_contains(after.domain, v);
        if (!contained)
            refuse(widened, fmt::format("{}, without the experiment's value {}", shown, v.text));
    }
}

// Same names as the experiment (none removed, none added), each domain a widening.
void check_hyperparameters(const ExperimentConfig& experiment, const ExperimentConfig& widened,
                           std::uint64_t seed) {
    for (const auto& before : experiment.hyperparameters) {
        const auto it =
            std::find_if(widened.hyperparameters.begin(), widened.hyperparameters.end(),
                         [&](const Hyperparameter& h) { return h.name == before.name; });
        if (it == widened.hyperparameters.end()) {
            refuse(widened,
                   fmt::format("the experiment's hyper-parameter '{}' is missing (removing "
                               "one is not a widening)",
                               before.name));
        }
        check_domain_widens(widened, before, *it, seed);
    }
    for (const auto& after : widened.hyperparameters) {
        const bool known =
            std::any_of(experiment.hyperparameters.begin(), experiment.hyperparameters.end(),
                        [&](const Hyperparameter& h) { return h.name == after.name; });
        if (!known) {
            refuse(widened, fmt::format("hyper-parameter '{}' ({}) is not in the experiment "
                                        "(adding one is not a widening)",
                                        after.name, after.origin));
        }
    }
}

bool is_random_draw(Strategy s) {
    return s == Strategy::random || s == Strategy::single || s == Strategy::adaptive_asha;
}

// Adds TRIAL after the rows so far when its configuration is new.
bool add_if_new(std::vector<TrialRecord>& out, std::unordered_set<std::string>& taken,
                TrialRecord trial) {
    std::string hash = hyperparameter_hash(trial.hyperparameters);
    if (!taken.insert(hash).second)
        return false;
    trial.hp_hash = std::move(hash);
    out.push_back(std::move(trial));
    return true;
}

// Finite spaces up to this many configurations are listed whole, so that "every remaining
// configuration" is exact; larger ones (and continuous ones) are drawn from, skipping repeats.
constexpr std::uint64_t listed_space_limit = 1ULL << 20;
// Draws per wanted trial before a nearly exhausted huge space is given up on.
constexpr long draws_per_trial = 100;

std::vector<TrialRecord> random_extension(const ExperimentConfig& config, std::uint64_t seed,
                                          std::unordered_set<std::string>& taken, long first_id,
                                          long more) {
    // The extension's own stream: the sweep's seed and the table's size, so the same
    // extension of the same table is reproducible and the next one draws other values.
    Random rng(derive_seed(seed, "#extend@" + std::to_string(first_id)));
    std::vector<TrialRecord> out;
    const auto product = grid_product(config);
    if (product && *product <= listed_space_limit) {
        const auto grid = grids(config, seed);
        std::vector<TrialRecord> fresh;
        std::unordered_set<std::string> seen = taken;
        for (std::uint64_t i = 0; i < *product; ++i)
            add_if_new(fresh, seen, make_trial(config, 0, combination(grid, i)));
        std::vector<std::uint64_t> chosen;
        if (fresh.size() <= static_cast<size_t>(more)) {
            for (std::uint64_t i = 0; i < fresh.size(); ++i) chosen.push_back(i);
        } else {
            chosen = distinct_indices(fresh.size(), static_cast<std::uint64_t>(more), rng);
        }
        for (const auto index : chosen) {
            auto& trial = fresh[static_cast<size_t>(index)];
            trial.id = first_id + static_cast<long>(out.size());
            taken.insert(trial.hp_hash);
            out.push_back(std::move(trial));
        }
        return out;
    }
    std::vector<std::optional<std::vector<Value>>> finite;
    for (const auto& hp : config.hyperparameters) {
        if (hp.domain.grid_size())
            finite.emplace_back(hp.domain.grid_values(derive_seed(seed, hp.name)));
        else
            finite.emplace_back(std::nullopt);
    }
    for (long draw = 0; static_cast<long>(out.size()) < more && draw < more * draws_per_trial;
         ++draw) {
        std::vector<Value> values;
        for (size_t i = 0; i < config.hyperparameters.size(); ++i) {
            values.push_back(finite[i] ? (*finite[i])[rng.below(finite[i]->size())]
                                       : config.hyperparameters[i].domain.sample(rng));
        }
        add_if_new(out, taken,
                   make_trial(config, first_id + static_cast<long>(out.size()), values));
    }
    if (static_cast<long>(out.size()) < more) {
        throw Error(ErrorKind::config,
                    fmt::format("{}: found only {} new configuration(s) in {} draws; the space "
                                "has few left that have not run",
                                config.source, out.size(), more * draws_per_trial));
    }
    return out;
}

}  // namespace

void check_widening(const ExperimentConfig& experiment, const ExperimentConfig& widened,
                    std::uint64_t seed) {
    check_fixed_settings(experiment, widened);
    check_hyperparameters(experiment, widened, seed);
}

long trials_to_add(const ExperimentConfig& experiment, const ExperimentConfig& widened,
                   std::optional<long long> num_trials) {
    const auto& s = widened.searcher;
    if (is_pbt(s)) {
        throw Error(ErrorKind::config,
                    "a pbt experiment cannot be extended: its population is fixed when it starts "
                    "(searcher.max_trials); submit a new experiment");
    }
    if (s.strategy == Strategy::grid) {
        if (num_trials) {
            throw Error(ErrorKind::usage,
                        "--num-trials is for random_search, asha and tpe experiments; a grid "
                        "extension runs every configuration of the widened grid that has not run "
                        "(widen a hyper-parameter: --lr \"[0.1, 0.01, 0.001]\")");
        }
        return 0;
    }
    if (num_trials) {
        if (*num_trials < 1)
            throw Error(ErrorKind::usage, "--num-trials must be at least 1");
        return static_cast<long>(*num_trials);
    }
    const long long before = experiment.searcher.max_trials.value_or(0);
    const long long after = s.max_trials.value_or(0);
    if (after > before)
        return static_cast<long>(after - before);
    throw Error(ErrorKind::usage,
                fmt::format("extending a {} experiment needs --num-trials N (how many trials to "
                            "add), or a larger searcher.max_trials in the experiment file",
                            strategy_name(s.strategy)));
}

std::vector<TrialRecord> extension_trials(const ExperimentConfig& widened, std::uint64_t seed,
                                          const std::vector<TrialRecord>& existing, long more) {
    std::unordered_set<std::string> taken;
    for (const auto& t : existing) {
        // A placeholder of model-based search that has not started holds no configuration.
        if (!(t.chosen_at_start && t.hyperparameters.empty()))
            taken.insert(hyperparameter_hash(t.hyperparameters));
    }
    const long first_id = static_cast<long>(existing.size());
    const auto strategy = widened.searcher.strategy;
    std::vector<TrialRecord> out;
    if (strategy == Strategy::grid) {
        const auto product = grid_product(widened);
        if (!product || *product > (1ULL << 32)) {
            throw Error(ErrorKind::config,
                        widened.source + ": the widened grid has too many configurations");
        }
        const auto grid = grids(widened, seed);
        for (std::uint64_t i = 0; i < *product; ++i) {
            add_if_new(out, taken,
                       make_trial(widened, first_id + static_cast<long>(out.size()),
                                  combination(grid, i)));
        }
        return out;
    }
    if (strategy == Strategy::tpe) {
        for (long i = 0; i < more; ++i) out.push_back(make_placeholder(widened, first_id + i));
        return out;
    }
    if (!is_random_draw(strategy)) {
        throw Error(ErrorKind::config,
                    fmt::format("a {} experiment cannot be extended", strategy_name(strategy)));
    }
    return random_extension(widened, seed, taken, first_id, more);
}

}  // namespace hpsweep::searcher
