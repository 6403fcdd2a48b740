#pragma once
// `hpsweep run`'s options and the experiment config they make: SCRIPT ARGS..., whose
// `--flag value` words are hyper-parameters with sweep expressions, and the searcher,
// resources and metrics that options give.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/searcher/config.hpp"

namespace hpsweep::cli {

struct RunOptions {
    int gpus = 0;
    int nodes = 1;
    int cpus_per_gpu = 0;
    std::string mem, time, partition, account, name, strategy = "grid_search",
                                                     python = "/usr/bin/python3";
    int max_concurrent = 0;
    std::string pack;  // N or "auto" (docs/packing.md)
    int trials_per_gpu = 1, pack_gpus = 1;
    std::vector<std::string> datastores;
    std::vector<std::string> metric_regexes;  // NAME=REGEX
    std::string lightning_csv;
    std::string container;  // image every trial runs in
    std::optional<std::uint64_t> seed;
    std::optional<long long> num_trials;
    // --strategy asha (Determined's adaptive_asha)
    std::string metric, max_length, mode = "standard";
    long long divisor = 4, max_rungs = 5;
    bool larger_is_better = false;
};

// The program's words from words[first] on: every `--flag value` (or --flag=value) is a
// hyper-parameter whose value may be a sweep expression; the other words (positional ones,
// a lone switch such as --verbose) stay fixed, in order. Error(config) naming a bad expression.
struct ProgramWords {
    std::vector<searcher::Hyperparameter> hyperparameters;
    std::vector<std::string> fixed;
};
ProgramWords split_program_words(const std::vector<std::string>& words, size_t first);

// Error(usage|config) naming the option or word that is wrong.
searcher::ExperimentConfig config_from_run(const RunOptions& o,
                                           const std::vector<std::string>& words);

}  // namespace hpsweep::cli
