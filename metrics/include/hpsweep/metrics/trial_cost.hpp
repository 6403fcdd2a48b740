#pragma once
// Time and cost of each trial (queue wait, run time, GPU-hours, cost) and their totals per
// experiment, for `hpsweep results`, summary.h5 and the report. Pure arithmetic over numbers
// the caller gathers (the CLI asks sacct once per experiment, see cli/trial_costs.cpp): no
// Slurm dependency here, so every rule is unit-tested.
//
// Rules (docs/user-guide.md, "Time and cost"):
// - A trial alone in its array task is billed for the task: run time = sacct's elapsed time,
//   GPUs = the task's allocated GPUs (AllocTRES gres/gpu), queue wait = Start - Submit.
// - A packed trial (docs/packing.md) shares its task: run time = its own run (the launcher's
//   start and end in result.json), GPUs = its slot's share of the task's GPUs, queue wait =
//   its own start - the task's Submit (waiting for a slot counts as waiting).
// - Without accounting (sacct failed or does not know the task), the launcher's start and
//   end and the GPUs the experiment asked for are used; `source` says which.
// - GPU-hours = run time x GPUs / 3600; CPU-hours likewise; cost = GPU-hours x gpu_hour_cost
//   + CPU-hours x cpu_hour_cost (a rate that is not set counts as 0; no rate: no cost).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hpsweep::metrics {

struct TrialResult;
struct ExperimentResults;

struct TrialCost {
    // NaN when unknown (a trial that has not started has no run time).
    double queue_wait_seconds;
    double run_seconds;
    double gpus;  // GPUs the trial held; a fraction for a trial that shared a GPU
    double cpus;
    double gpu_hours;
    double cpu_hours;
    double cost;         // NaN when the site sets no rate
    std::string source;  // "sacct", "launcher" or "" (nothing known yet)
    TrialCost();
};

// What is known of the allocation a trial ran in.
struct TrialUsage {
    std::optional<std::int64_t> submit;     // Unix seconds (sacct's Submit)
    std::optional<std::int64_t> start;      // sacct's Start (the task's, not the trial's)
    std::optional<double> elapsed_seconds;  // sacct's ElapsedRaw (so far, while it runs)
    double gpus = 0;                        // allocated to the task (AllocTRES gres/gpu)
    double cpus = 0;                        // allocated to the task (AllocTRES cpu)
    // The fraction of the task this trial held: 1 unpacked; 1 / slots when packed.
    double share = 1;
    bool from_accounting = false;  // false: gpus/cpus are what the experiment asked for
};

struct CostRates {
    std::optional<double> gpu_hour;
    std::optional<double> cpu_hour;
    bool any() const { return gpu_hour.has_value() || cpu_hour.has_value(); }
};

struct CostTotals {
    double queue_wait_seconds = 0;
    double run_seconds = 0;
    double gpu_hours = 0;
    double cpu_hours = 0;
    double cost;  // NaN when no rate is set
    // Adaptive search (ASHA) only, else NaN: GPU-hours that early stopping saved, estimated as
    // each stopped trial's GPU-hours per step x the steps it did not run, the full length
    // being the most steps a completed trial reached.
    double early_stopping_saved_gpu_hours;
    std::int64_t full_length_steps = -1;  // the full length that estimate used
    std::size_t trials_counted = 0;       // trials with a known run time
    CostTotals();
};

// `now` (Unix seconds) ends the run of a trial that is still running.
TrialCost trial_cost(const TrialResult& trial, const TrialUsage& usage, const CostRates& rates,
                     std::int64_t now);

// Sums the trials' costs; `adaptive` asks for the early-stopping estimate.
CostTotals cost_totals(const ExperimentResults& results, const CostRates& rates, bool adaptive);

// "2h05m", "3m07s", "" for NaN: how the table and the report print durations.
std::string duration_text(double seconds);

// ISO-8601 UTC ("2026-12-05T02:56:10Z", as result.json writes it) -> Unix seconds.
std::optional<std::int64_t> parse_utc_seconds(const std::string& text);

}  // namespace hpsweep::metrics
