#pragma once
// The text table of `hpsweep results`: hyper-parameters that differ between trials as
// columns (the ones every trial shares listed once above the table), the metric's best and
// last value side by side (six significant digits), the step reached, run time and node.
//
// "Best" is the peak of each trial's curve by default; with --final trials are compared on
// the last value they reported, which is what a model saved at the end of training holds.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/metrics/summary.hpp"

namespace hpsweep::cli {

// The index of the best trial on METRIC's last value (for --final); nullopt when none has it.
std::optional<std::size_t> best_trial_by_final(const metrics::ExperimentResults& results,
                                               const std::string& metric);

// "1m05s", "2h03m"; "" when START is not known. A running trial (END empty) counts to now.
std::string run_time(const std::string& start, const std::string& end);

void print_results_table(const metrics::ExperimentResults& results,
                         const std::vector<std::size_t>& order, const std::string& metric,
                         std::optional<std::size_t> best, bool final_value);

}  // namespace hpsweep::cli
