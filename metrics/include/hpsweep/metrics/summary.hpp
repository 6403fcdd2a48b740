#pragma once
// Results of a whole experiment: the trial table (EXP/trials.jsonl) joined with each trial's
// result.json (written by the launcher) and metrics.h5 (only its attributes are read, so
// 1,000 trials summarise in well under a second). Written as EXP/summary.h5 on demand
// (`hpsweep results`, `hpsweep report`) and by the launcher at the end of each trial.
//
// Direction of each metric: EXP/experiment.json `searcher.metric` + `searcher.smaller_is_better`
// (contracts/experiment_record.hpp); any other metric is smaller-is-better when its
// name contains "loss" or "err" (case-insensitive), larger-is-better otherwise.

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hpsweep/metrics/trial_cost.hpp"
#include "hpsweep/metrics/trial_file.hpp"

namespace hpsweep::metrics {

inline constexpr int summary_format_version = 1;

struct TrialResult {
    std::int64_t id = 0;
    nlohmann::ordered_json hyperparameters = nlohmann::ordered_json::object();
    std::string status;  // result.json, else metrics.h5, else "pending"
    std::optional<std::int64_t> exit_code;
    std::string node;
    std::string start;  // ISO-8601 UTC or "" when unknown
    std::string end;
    bool has_metrics_file = false;
    std::string metrics_error;         // why metrics.h5 could not be read ("" when fine)
    std::vector<MetricStats> metrics;  // sorted by name
    // Filled by the CLI (it asks sacct): time and cost, and the files in trials/<id>/artifacts/.
    TrialCost cost;
    std::vector<std::string> artifacts;

    const MetricStats* metric(std::string_view name) const;
    // Highest step reached over all metrics, -1 when none.
    std::int64_t last_step() const;
};

struct MetricDirection {
    bool smaller_is_better = true;
    std::string source;  // "config" or "name" (the loss/err rule)
};

struct BestValue {
    double value = 0;
    std::int64_t step = -1;
};

struct ExperimentResults {
    std::filesystem::path root;
    std::string name;
    std::string searcher_metric;                    // "" when the config names none
    std::vector<std::string> metric_names;          // searcher metric first, then by name
    std::vector<std::string> hyperparameter_names;  // in trial-table order
    std::vector<TrialResult> trials;                // by id
    std::map<std::string, MetricDirection, std::less<>> directions;
    // Set when the trials' costs were computed (trial_cost.hpp); summary.h5 and the report
    // then carry the time and cost columns.
    std::optional<CostTotals> cost_totals;

    MetricDirection direction(std::string_view metric) const;
    // The metric tables and reports rank by: --metric, else the searcher metric, else the
    // first metric; "" when no trial reported anything.
    std::string primary_metric() const;
    std::optional<BestValue> best_of(const TrialResult& trial, std::string_view metric) const;
    // Index into trials of the best trial for `metric`.
    std::optional<std::size_t> best_trial(std::string_view metric) const;
};

// Reads the experiment directory. Throws Error(io/data) when the trial table is missing or
// broken; a trial whose files are missing is "pending", one whose metrics.h5 is unreadable
// keeps the reason in metrics_error.
ExperimentResults collect_results(const std::filesystem::path& experiment_root);

std::filesystem::path summary_path(const std::filesystem::path& experiment_root);
// Atomically (re)writes the summary file (layout: docs/metrics-format.md).
void write_summary_file(const ExperimentResults& results, const std::filesystem::path& path);
// collect_results + write_summary_file(summary_path(root)).
ExperimentResults rebuild_summary(const std::filesystem::path& experiment_root);

// The direction rule for metrics the config does not name.
bool smaller_is_better_by_name(std::string_view metric) noexcept;

}  // namespace hpsweep::metrics
