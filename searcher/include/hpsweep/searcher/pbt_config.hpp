#pragma once
// `searcher: {name: pbt, ...}` of the experiment file: what the loader checks and what the
// launcher runs it with (searcher/pbt.hpp holds the rule and its stores).

#include <optional>

#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/pbt.hpp"

namespace hpsweep::searcher {

bool is_pbt(const SearcherConfig& searcher);

// The pbt settings' own checks (metric, lengths in one unit, a ready point before the end,
// fractions in range, hyper-parameters given as flags). Throws Error(config) naming the key.
void check_pbt_searcher(const ExperimentConfig& config);

PbtSettings pbt_settings(const ExperimentConfig& config);

// The ready point a record at `step` reaches: k >= 1 when k * perturb_every <= step <
// (k + 1) * perturb_every and step < max_length (nothing to exploit once the budget is
// spent); nullopt before the first one and at the end.
std::optional<long> pbt_ready_point(const ExperimentConfig& config, long long step);

}  // namespace hpsweep::searcher
