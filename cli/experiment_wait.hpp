#pragma once
// `run`, `submit` and `resubmit` with --wait: polling an experiment until every trial ended.

#include "hpsweep/experiment_dir.hpp"
#include "trial_states.hpp"

namespace hpsweep::cli::sweep {

// Blocks until no trial is pending or running, polling gently. On a terminal, keeps one live
// line on stderr. Returns the final states.
ExperimentStates wait_for_experiment(const ExperimentDir& dir, bool json_output);

}  // namespace hpsweep::cli::sweep
