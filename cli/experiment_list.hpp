#pragma once
// `hpsweep list`: every experiment found in experiment_lookup.hpp's places, with its state
// (from Slurm and the trials' results), progress (finished / all trials) and best value of
// its primary metric.

namespace hpsweep::cli {

void list_experiments();

}  // namespace hpsweep::cli
