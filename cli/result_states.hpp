#pragma once
// `results` and `report` read the trials' own files (result.json, metrics.h5); a trial
// cancelled or lost before it started has none and would read "pending" forever, while
// `status` (which asks Slurm) says cancelled. This joins Slurm's view in, so that every
// command shows the same state and exits the same way.

#include <filesystem>

#include "hpsweep/metrics/summary.hpp"

namespace hpsweep::cli {

// Trials that the files call pending or running take Slurm's state (and exit code, node)
// when Slurm has them in another state. Slurm not answering leaves RESULTS as they are.
void apply_slurm_states(const std::filesystem::path& root, metrics::ExperimentResults& results);

}  // namespace hpsweep::cli
