// The time and cost columns of summary.h5 (docs/metrics-format.md), written when the caller
// computed the trials' costs (hpsweep results / report, which ask sacct).

#include <cmath>
#include <functional>

#include "summary_columns.hpp"

namespace hpsweep::metrics {

void write_cost_columns(hid_t root, hid_t trials_group, const ExperimentResults& results) {
    const auto column = [&](const std::string& name,
                            const std::function<double(const TrialCost&)>& field) {
        std::vector<double> values;
        values.reserve(results.trials.size());
        for (const auto& trial : results.trials) values.push_back(field(trial.cost));
        write_column(trials_group, name, H5T_NATIVE_DOUBLE, values);
    };
    column("queue_wait_seconds", [](const TrialCost& c) { return c.queue_wait_seconds; });
    column("run_seconds", [](const TrialCost& c) { return c.run_seconds; });
    column("gpus", [](const TrialCost& c) { return c.gpus; });
    column("gpu_hours", [](const TrialCost& c) { return c.gpu_hours; });
    column("cpu_hours", [](const TrialCost& c) { return c.cpu_hours; });
    std::vector<std::string> sources;
    for (const auto& trial : results.trials) sources.push_back(trial.cost.source);
    write_string_column(trials_group, "cost_source", sources);

    const CostTotals& totals = *results.cost_totals;
    if (!std::isnan(totals.cost))
        column("cost", [](const TrialCost& c) { return c.cost; });
    h5::write_attribute(root, "total_queue_wait_seconds", totals.queue_wait_seconds);
    h5::write_attribute(root, "total_run_seconds", totals.run_seconds);
    h5::write_attribute(root, "total_gpu_hours", totals.gpu_hours);
    h5::write_attribute(root, "total_cpu_hours", totals.cpu_hours);
    if (!std::isnan(totals.cost))
        h5::write_attribute(root, "total_cost", totals.cost);
    if (!std::isnan(totals.early_stopping_saved_gpu_hours)) {
        h5::write_attribute(root, "early_stopping_saved_gpu_hours",
                            totals.early_stopping_saved_gpu_hours);
        h5::write_attribute(root, "early_stopping_full_length_steps", totals.full_length_steps);
    }
}

}  // namespace hpsweep::metrics
