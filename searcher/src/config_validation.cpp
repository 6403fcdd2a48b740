#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/pack_plan.hpp"
#include "hpsweep/searcher/pbt_config.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::searcher {

std::string ExperimentConfig::location_of(const std::string& key) const {
    const auto it = locations.find(key);
    return it != locations.end() ? it->second : source;
}

namespace {

[[noreturn]] void invalid(const ExperimentConfig& c, const std::string& key,
                          const std::string& message) {
    throw Error(ErrorKind::config, c.location_of(key) + ": " + message);
}

void check_hyperparameter_passing(const ExperimentConfig& c) {
    if (c.hyperparameters_as != "flags" && c.hyperparameters_as != "env" &&
        c.hyperparameters_as != "none") {
        invalid(c, "hyperparameters_as",
                fmt::format("hyperparameters_as must be flags, env or none, got '{}'",
                            c.hyperparameters_as));
    }
    if (c.flag_style != "underscore" && c.flag_style != "dash") {
        invalid(c, "flag_style",
                fmt::format("flag_style must be underscore or dash, got '{}'", c.flag_style));
    }
    if (!c.budget_flag.empty()) {
        const bool word = std::all_of(c.budget_flag.begin(), c.budget_flag.end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
        });
        if (!word || c.budget_flag.front() == '-') {
            invalid(c, "budget_flag",
                    fmt::format("budget_flag must be a flag name without dashes (epochs), got "
                                "'{}'",
                                c.budget_flag));
        }
        if (!c.searcher.max_length) {
            invalid(c, "budget_flag",
                    "budget_flag needs searcher.max_length (the budget it passes)");
        }
    }
}

}  // namespace

bool is_valid_experiment_name(const std::string& name) {
    if (name.empty() || name.size() > 100)
        return false;
    if (!std::isalnum(static_cast<unsigned char>(name.front())))
        return false;
    return name.find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
               "0123456789_-.") == std::string::npos;
}

bool is_valid_slurm_time(const std::string& text) {
    if (text == "UNLIMITED" || text == "unlimited" || text == "infinite")
        return true;
    std::string rest = text;
    const auto dash = rest.find('-');
    if (dash != std::string::npos) {
        const std::string days = rest.substr(0, dash);
        if (days.empty() || days.find_first_not_of("0123456789") != std::string::npos)
            return false;
        rest = rest.substr(dash + 1);
    }
    const auto parts = split(rest, ':');
    if (parts.empty() || parts.size() > 3)
        return false;
    for (const auto& p : parts) {
        if (p.empty() || p.find_first_not_of("0123456789") != std::string::npos)
            return false;
    }
    return true;
}

namespace {

// Everything in the config ends up in JSON files, which only hold UTF-8 (command-line configs
// do not pass through the file check of the reader).
void check_text_is_utf8(const ExperimentConfig& c) {
    auto utf8 = [&](const std::string& key, const std::string& text) {
        if (invalid_utf8_offset(text) != std::string::npos)
            invalid(c, key, fmt::format("'{}' is not valid UTF-8", key));
    };
    utf8("description", c.description);
    for (const auto& word : c.entrypoint) utf8("entrypoint", word);
    for (const auto& hp : c.hyperparameters) {
        bool valid = invalid_utf8_offset(hp.name) == std::string::npos;
        for (const auto& v : hp.domain.values)
            valid = valid && invalid_utf8_offset(v.text) == std::string::npos;
        if (!valid) {
            throw Error(ErrorKind::config, fmt::format("{}: hyperparameter '{}' is not valid UTF-8",
                                                       hp.origin, hp.name));
        }
    }
    utf8("searcher.metric", c.searcher.metric);
    for (const auto& [key, value] : {std::pair{"resources.mem", &c.resources.mem},
                                     std::pair{"resources.time", &c.resources.time},
                                     std::pair{"resources.partition", &c.resources.partition},
                                     std::pair{"resources.account", &c.resources.account}}) {
        utf8(key, *value);
    }
    for (const auto& ds : c.datastores) utf8("datastores", ds);
}

void check_names_are_unique(const ExperimentConfig& c) {
    std::set<std::string> regex_metric_names;
    for (const auto& m : c.metrics.regex) {
        if (!regex_metric_names.insert(m.name).second) {
            throw Error(ErrorKind::config,
                        fmt::format("{}: regex metric '{}' is given twice", m.origin, m.name));
        }
    }
    std::set<std::string> names;
    for (const auto& hp : c.hyperparameters) {
        if (!names.insert(hp.name).second) {
            throw Error(ErrorKind::config,
                        fmt::format("{}: hyperparameter '{}' is given twice", hp.origin, hp.name));
        }
    }
}

// What each strategy needs: grid a finite range, random, ASHA, TPE and BOHB a trial count,
// the model-based ones a metric, the early-stopping ones (ASHA, BOHB) a metric and a length.
void check_searcher(const ExperimentConfig& c) {
    const auto& s = c.searcher;
    if (s.strategy == Strategy::grid) {
        for (const auto& hp : c.hyperparameters) {
            if (!hp.domain.grid_size()) {
                throw Error(ErrorKind::config,
                            fmt::format("{}: hyperparameter '{}' is a continuous range: grid "
                                        "search needs 'count' (how many values to take)",
                                        hp.origin, hp.name));
            }
        }
    } else if (s.strategy == Strategy::random || s.strategy == Strategy::adaptive_asha ||
               s.strategy == Strategy::tpe || s.strategy == Strategy::pbt ||
               s.strategy == Strategy::bohb) {
        if (!s.max_trials) {
            invalid(c, "searcher.name",
                    fmt::format("the {} searcher needs max_trials (how many trials to run)",
                                strategy_name(s.strategy)));
        }
    }
    check_pbt_searcher(c);
    const auto name = strategy_name(s.strategy);
    // Only a model has liars; a key that changes nothing is more likely a wrong searcher name.
    if (!s.constant_liar && !chooses_at_start(s.strategy)) {
        invalid(
            c, "searcher.constant_liar",
            fmt::format("constant_liar applies to the tpe and bohb searchers only, not {}", name));
    }
    if (chooses_at_start(s.strategy) && s.metric.empty()) {
        invalid(c, "searcher.name",
                fmt::format("{} needs 'metric' (the metric its model learns from)", name));
    }
    // The promotion form resumes a paused trial in the allocation of the trial whose result
    // promoted it, one trial per task: bohb's model and packed tasks have no such hand-over.
    if (!s.stop_once && s.strategy != Strategy::adaptive_asha) {
        invalid(c, "searcher.stop_once",
                fmt::format("stop_once: false (ASHA's promotion form) applies to the "
                            "adaptive_asha searcher only, not {}",
                            name));
    }
    if (!s.stop_once && is_packed(c.resources)) {
        invalid(c, "searcher.stop_once",
                "stop_once: false (ASHA's promotion form) runs one trial per task: it cannot "
                "be combined with packing (resources.trials_per_task, trials_per_gpu)");
    }
    if (stops_early(s.strategy)) {
        if (s.metric.empty())
            invalid(c, "searcher.name",
                    fmt::format("{} needs 'metric' (the metric to compare)", name));
        if (!s.max_length) {
            invalid(c, "searcher.name",
                    fmt::format("{} needs 'max_length' ({{epochs|batches|steps: N}})", name));
        }
    }
}

void check_resources(const ExperimentConfig& c) {
    const auto& r = c.resources;
    if (r.slots_per_trial < 0)
        invalid(c, "resources.slots_per_trial", "slots_per_trial must be >= 0");
    if (r.nodes < 1)
        invalid(c, "resources.nodes", "nodes must be >= 1");
    if (r.slots_per_trial > 0 && r.slots_per_trial % r.nodes != 0) {
        invalid(c, "resources.slots_per_trial",
                fmt::format("slots_per_trial ({}) must be a multiple of nodes ({}): every node of "
                            "a trial gets the same number of GPUs",
                            r.slots_per_trial, r.nodes));
    }
    if (r.cpus_per_gpu < 0)
        invalid(c, "resources.cpus_per_gpu", "cpus_per_gpu must be >= 0");
    if (r.max_concurrent < 0)
        invalid(c, "resources.max_concurrent", "max_concurrent must be >= 0");
    check_packing(c);
    if (!r.mem.empty()) {
        try {
            (void)parse_size(r.mem);
        } catch (const Error&) {
            invalid(c, "resources.mem",
                    fmt::format("mem '{}' is not a size (examples: 16G, 512M, 64000)", r.mem));
        }
    }
    if (!r.time.empty() && !is_valid_slurm_time(r.time)) {
        invalid(c, "resources.time",
                fmt::format("time '{}' is not a Slurm time (examples: 30, 1:00:00, 2-00:00:00)",
                            r.time));
    }
    for (const auto& [key, value] : {std::pair{"resources.partition", &r.partition},
                                     std::pair{"resources.account", &r.account}}) {
        if (value->find_first_of(" \t\n=") != std::string::npos) {
            invalid(c, key, fmt::format("'{}' must not contain spaces or '='", *value));
        }
    }
}

}  // namespace

void validate_experiment_config(const ExperimentConfig& c) {
    if (!is_valid_experiment_name(c.name)) {
        invalid(c, "name",
                fmt::format("experiment name '{}' may only use letters, digits, '_', "
                            "'-' and '.', start with a letter or digit, and have at "
                            "most 100 characters",
                            c.name));
    }
    if (c.entrypoint.empty())
        invalid(c, "entrypoint", "the entrypoint (command) is empty");
    check_hyperparameter_passing(c);
    validate_container_config(c.container, c.location_of("container"));
    check_text_is_utf8(c);
    check_names_are_unique(c);
    check_searcher(c);
    check_resources(c);
}

}  // namespace hpsweep::searcher
