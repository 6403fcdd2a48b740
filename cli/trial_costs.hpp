#pragma once
// Time and cost per trial for `hpsweep results` and `hpsweep report`: one sacct call per
// experiment (submit, start, elapsed, allocated GPUs and CPUs of every array task), the
// launcher's start and end of each trial, and the site's gpu_hour_cost / cpu_hour_cost. The
// arithmetic is metrics/trial_cost.hpp; this file gathers its inputs.

#include <filesystem>
#include <nlohmann/json.hpp>

#include "hpsweep/metrics/summary.hpp"

namespace hpsweep::cli {

// Fills each trial's cost and artifacts and results.cost_totals. sacct failing (no
// accounting) is no error: the launcher's times and the GPUs the experiment asked for are
// used, and each trial's cost.source says so.
void add_time_and_cost(const std::filesystem::path& root, metrics::ExperimentResults& results);

// The `time_and_cost` object of each trial and the `totals` of `hpsweep results --json`
// (unknown values are null).
nlohmann::ordered_json time_and_cost_json(const metrics::TrialCost& cost);
nlohmann::ordered_json time_and_cost_json(const metrics::CostTotals& totals);

}  // namespace hpsweep::cli
