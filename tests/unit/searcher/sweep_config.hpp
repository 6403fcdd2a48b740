#pragma once
// A validated experiment config from `hpsweep run`-style flags, for the strategy tests.

#include <string>
#include <utility>
#include <vector>

#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/expression.hpp"

// train.py with one hyper-parameter per (name, sweep expression) flag.
inline hpsweep::searcher::ExperimentConfig sweep_config(
    const std::vector<std::pair<std::string, std::string>>& flags,
    const std::string& strategy = "grid", long long max_trials = 0) {
    using namespace hpsweep::searcher;
    ExperimentConfig c;
    c.name = "t";
    c.source = "test";
    c.entrypoint = {"/usr/bin/python3", "train.py"};
    for (const auto& [name, expr] : flags) {
        c.hyperparameters.push_back(
            Hyperparameter{name, parse_sweep_expression(expr), "--" + name});
    }
    c.searcher.strategy = *hpsweep::parse_strategy(strategy);
    if (max_trials)
        c.searcher.max_trials = max_trials;
    validate_experiment_config(c);
    return c;
}
