#include "hpsweep/metrics/trial_cost.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>

#include "hpsweep/contracts/trial_result.hpp"
#include "hpsweep/metrics/summary.hpp"

namespace hpsweep::metrics {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

double price(double gpu_hours, double cpu_hours, const CostRates& rates) {
    if (!rates.any())
        return nan;
    double total = 0;
    if (rates.gpu_hour)
        total += gpu_hours * *rates.gpu_hour;
    if (rates.cpu_hour && std::isfinite(cpu_hours))
        total += cpu_hours * *rates.cpu_hour;
    return total;
}

}  // namespace

TrialCost::TrialCost()
    : queue_wait_seconds(nan),
      run_seconds(nan),
      gpus(nan),
      cpus(nan),
      gpu_hours(nan),
      cpu_hours(nan),
      cost(nan) {}

CostTotals::CostTotals() : cost(nan), early_stopping_saved_gpu_hours(nan) {}

std::optional<std::int64_t> parse_utc_seconds(const std::string& text) {
    std::tm tm{};
    if (text.empty() || ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr)
        return std::nullopt;
    return static_cast<std::int64_t>(::timegm(&tm));
}

TrialCost trial_cost(const TrialResult& trial, const TrialUsage& usage, const CostRates& rates,
                     std::int64_t now) {
    TrialCost cost;
    const auto own_start = parse_utc_seconds(trial.start);
    const auto own_end = parse_utc_seconds(trial.end);
    const bool packed = usage.share < 1;
    if (usage.from_accounting && !packed && usage.elapsed_seconds) {
        // Alone in its task: the allocation is what the trial cost, set-up included.
        cost.run_seconds = *usage.elapsed_seconds;
        cost.source = "sacct";
    } else if (own_start) {
        const std::int64_t end = own_end ? *own_end : now;
        cost.run_seconds = static_cast<double>(std::max<std::int64_t>(0, end - *own_start));
        cost.source = usage.from_accounting ? "sacct" : "launcher";
    }
    if (usage.submit) {
        // A packed trial waits for its task, then for a free slot in it.
        const auto started = packed && own_start ? own_start : usage.start;
        if (started)
            cost.queue_wait_seconds =
                static_cast<double>(std::max<std::int64_t>(0, *started - *usage.submit));
    }
    if (std::isnan(cost.run_seconds))
        return cost;
    cost.gpus = usage.gpus * usage.share;
    cost.cpus = usage.cpus * usage.share;
    cost.gpu_hours = cost.run_seconds * cost.gpus / 3600.0;
    cost.cpu_hours = cost.cpus > 0 ? cost.run_seconds * cost.cpus / 3600.0 : nan;
    cost.cost = price(cost.gpu_hours, cost.cpu_hours, rates);
    return cost;
}

CostTotals cost_totals(const ExperimentResults& results, const CostRates& rates, bool adaptive) {
    CostTotals totals;
    for (const auto& trial : results.trials) {
        const auto& c = trial.cost;
        if (std::isfinite(c.queue_wait_seconds))
            totals.queue_wait_seconds += c.queue_wait_seconds;
        if (std::isnan(c.run_seconds))
            continue;
        ++totals.trials_counted;
        totals.run_seconds += c.run_seconds;
        if (std::isfinite(c.gpu_hours))
            totals.gpu_hours += c.gpu_hours;
        if (std::isfinite(c.cpu_hours))
            totals.cpu_hours += c.cpu_hours;
    }
    totals.cost = price(totals.gpu_hours, totals.cpu_hours, rates);
    if (!adaptive)
        return totals;
    for (const auto& trial : results.trials) {
        if (trial.status == "completed")
            totals.full_length_steps = std::max(totals.full_length_steps, trial.last_step());
    }
    if (totals.full_length_steps <= 0)
        return totals;  // nothing ran to the end: no full length to measure against
    totals.early_stopping_saved_gpu_hours = 0;
    for (const auto& trial : results.trials) {
        const auto steps = trial.last_step();
        if (!ended_by_searcher(trial.status) || steps <= 0 || !std::isfinite(trial.cost.gpu_hours))
            continue;
        const auto missing = std::max<std::int64_t>(0, totals.full_length_steps - steps);
        totals.early_stopping_saved_gpu_hours +=
            trial.cost.gpu_hours / static_cast<double>(steps) * static_cast<double>(missing);
    }
    return totals;
}

std::string duration_text(double seconds) {
    if (!std::isfinite(seconds))
        return "";
    const auto whole = static_cast<long long>(std::llround(std::max(0.0, seconds)));
    if (whole >= 3600)
        return fmt::format("{}h{:02}m", whole / 3600, whole / 60 % 60);
    return fmt::format("{}m{:02}s", whole / 60, whole % 60);
}

}  // namespace hpsweep::metrics
