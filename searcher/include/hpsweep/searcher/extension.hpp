#pragma once
// `hpsweep extend EXP`: more trials for an experiment that finished or is running, from more
// --num-trials or a widened search space. This part decides what is added; the CLI writes and
// submits it. No Slurm, no files.
//
//   grid           the widened grid minus the configurations already in the table
//   random/single  N more draws from the widened space, skipping configurations already in
//   adaptive_asha  the table; the draws come from a stream seeded by the sweep's seed and the
//                  table's size, so the same extend of the same experiment draws the same
//                  trials (a second extend, on the larger table, draws on)
//   tpe            N more placeholder rows (each trial chooses when it starts)
//   pbt            refused: the population is fixed when the experiment starts
//
// "The same configuration" is hyperparameter_hash() (contracts/trial_record.hpp).

#include <cstdint>
#include <optional>
#include <vector>

#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/searcher/config.hpp"

namespace hpsweep::searcher {

// Throws Error(config) naming the first difference between the experiment's config and
// WIDENED that is not a widening: a different entrypoint or searcher (or any other setting
// than the hyper-parameters and max_trials), a hyper-parameter removed or added, a domain
// that does not contain every value the experiment's could take (a narrowed list, a changed
// fixed value). SEED is the experiment's seed (sampled grids are drawn from it).
void check_widening(const ExperimentConfig& experiment, const ExperimentConfig& widened,
                    std::uint64_t seed);

// How many trials to add: --num-trials N when given, else (an experiment file) the rise of
// searcher.max_trials; 0 for a grid (the widened grid says). Error(usage) for --num-trials on
// a grid, and for a random/asha/tpe extension that says neither; Error(config) for pbt.
long trials_to_add(const ExperimentConfig& experiment, const ExperimentConfig& widened,
                   std::optional<long long> num_trials);

// The rows to add after EXISTING (ids existing.size(), ...), each with its hp_hash. A grid
// gives every configuration of the widened grid not in EXISTING; random draws give at most
// MORE (fewer when the finite space has fewer left). Empty: nothing new to run. Error(config)
// when the widened grid is larger than 2^32 configurations.
std::vector<TrialRecord> extension_trials(const ExperimentConfig& widened, std::uint64_t seed,
                                          const std::vector<TrialRecord>& existing, long more);

}  // namespace hpsweep::searcher
