#pragma once
// The pieces of the trial table generate_trials (strategy.cpp) builds from, shared with
// `hpsweep extend`'s selection (extension.cpp). Internal to the searcher library.

#include <cstdint>
#include <optional>
#include <vector>

#include "hpsweep/searcher/config.hpp"

namespace hpsweep::searcher::detail {

// Product of the grid sizes (saturating); nullopt when some domain is continuous.
std::optional<std::uint64_t> grid_product(const ExperimentConfig& config);
// The grid values of each hyper-parameter, in declared order.
std::vector<std::vector<Value>> grids(const ExperimentConfig& config, std::uint64_t seed);
// Mixed-radix decoding: index -> one value per hyper-parameter, the last one fastest.
std::vector<Value> combination(const std::vector<std::vector<Value>>& grid, std::uint64_t index);
// The row of trial `id` running `values` (same order as config.hyperparameters).
TrialRecord make_trial(const ExperimentConfig& config, long id, const std::vector<Value>& values);
// A row whose configuration the trial chooses when it starts (tpe): no hyper-parameters yet.
TrialRecord make_placeholder(const ExperimentConfig& config, long id);
// k distinct indices of [0, n), ascending.
std::vector<std::uint64_t> distinct_indices(std::uint64_t n, std::uint64_t k, Random& rng);

}  // namespace hpsweep::searcher::detail
