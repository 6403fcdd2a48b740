#pragma once
// Experiment configs for the searcher tests.

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

// An experiment file with one hyper-parameter `lr` and `searcher_mapping` as its searcher,
// parsed as the file `file_name`: an error about the searcher names line 3.
inline hpsweep::searcher::ExperimentConfig config_with_searcher(const std::string& searcher_mapping,
                                                                const std::string& file_name) {
    return hpsweep::searcher::parse_experiment_config(
        "entrypoint: train\nhyperparameters: {lr: {type: double, minval: 0, maxval: 1}}\n"
        "searcher: " +
            searcher_mapping + "\n",
        file_name);
}
