#pragma once
// Search strategies: the experiment config becomes the trial table.
//   grid           every combination, first hyper-parameter varying slowest (Determined's order)
//   random         max_trials trials; distinct combinations when every domain is finite
//                  (Grid.ai's random_search picks num_trials of the grid), independent draws
//                  when some domain is continuous
//   single         one trial, drawn like random
//   adaptive_asha  max_trials trials drawn like random; early stopping happens at run time
//   tpe            max_trials placeholder rows; each trial chooses its configuration when it
//                  starts, from the results so far (searcher/tpe_store.hpp)
//   bohb           like tpe, and its trials are judged at ASHA's rungs (searcher/bohb.hpp)
// Every random choice comes from the seed, so the same config and seed give the same table.

#include <cstdint>
#include <vector>

#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/searcher/config.hpp"

namespace hpsweep::searcher {

// Number of trials the config expands to, without building them (saturates at UINT64_MAX),
// so a huge grid can be refused before any memory is spent on it.
std::uint64_t count_trials(const ExperimentConfig& config);

// The trial table: ids 0..n-1, hyper-parameters in declared order, argv = entrypoint words
// followed by `--name value` for each hyper-parameter. `seed` is the sweep's seed.
std::vector<TrialRecord> generate_trials(const ExperimentConfig& config, std::uint64_t seed);

// The command line of one assignment of values (same order as config.hyperparameters).
std::vector<std::string> trial_argv(const ExperimentConfig& config,
                                    const std::vector<Value>& values);

}  // namespace hpsweep::searcher
