#include "hpsweep/metrics/summary.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <set>

#include "hpsweep/error.hpp"
#include "hpsweep/contracts/trial_result.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/metrics/h5.hpp"
#include "summary_columns.hpp"

namespace hpsweep::metrics {

namespace {

// What the summary needs of experiment.json: the name and the searcher's metric with its
// direction. A directory made by hand for the launcher may have no experiment.json; then
// the directory's name stands in and every direction follows the metric's name.
ExperimentRecord read_experiment_settings(const ExperimentDir& dir) {
    std::error_code ec;
    ExperimentRecord record;
    if (std::filesystem::exists(dir.metadata_path(), ec))
        record = dir.read_record();
    if (record.name.empty())
        record.name = dir.root().filename().string();
    return record;
}

void read_result_json(const std::filesystem::path& path, TrialResult& trial) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return;
    const TrialResultRecord result = read_trial_result(path);
    trial.status = result.status;
    if (result.exit_code)
        trial.exit_code = *result.exit_code;
    trial.node = result.node;
    trial.start = result.start;
    trial.end = result.end;
}

std::string column_for_metric(std::string_view metric, std::string_view field) {
    return "metric." + dataset_name_for_metric(metric) + "." + std::string(field);
}

enum class ColumnKind { integer, floating, boolean, string };

ColumnKind hyperparameter_kind(const std::vector<TrialResult>& trials, const std::string& name) {
    bool all_int = true, all_number = true, all_bool = true, any = false, missing = false;
    for (const auto& trial : trials) {
        const auto found = trial.hyperparameters.find(name);
        if (found == trial.hyperparameters.end()) {
            missing = true;
            continue;
        }
        any = true;
        all_int = all_int && found->is_number_integer();
        all_number = all_number && found->is_number();
        all_bool = all_bool && found->is_boolean();
    }
    if (!any)
        return ColumnKind::string;
    if (all_bool && !missing)
        return ColumnKind::boolean;
    if (all_int && !missing)
        return ColumnKind::integer;
    if (all_number)
        return ColumnKind::floating;  // missing ones are NaN
    return ColumnKind::string;
}

}  // namespace

bool smaller_is_better_by_name(std::string_view metric) noexcept {
    std::string lower(metric);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower.find("loss") != std::string::npos || lower.find("err") != std::string::npos;
}

const MetricStats* TrialResult::metric(std::string_view name) const {
    const auto found =
        std::lower_bound(metrics.begin(), metrics.end(), name,
                         [](const MetricStats& s, std::string_view n) { return s.name < n; });
    return found != metrics.end() && found->name == name ? &*found : nullptr;
}

std::int64_t TrialResult::last_step() const {
    std::int64_t step = -1;
    for (const auto& stats : metrics) step = std::max(step, stats.last_step);
    return step;
}

MetricDirection ExperimentResults::direction(std::string_view metric) const {
    if (const auto found = directions.find(metric); found != directions.end())
        return found->second;
    return {smaller_is_better_by_name(metric), "name"};
}

std::string ExperimentResults::primary_metric() const {
    if (!searcher_metric.empty())
        return searcher_metric;
    return metric_names.empty() ? std::string() : metric_names.front();
}

std::optional<BestValue> ExperimentResults::best_of(const TrialResult& trial,
                                                    std::string_view metric) const {
    const MetricStats* stats = trial.metric(metric);
    if (stats == nullptr || stats->count == 0)
        return std::nullopt;
    if (direction(metric).smaller_is_better) {
        if (stats->min_step < 0)
            return std::nullopt;
        return BestValue{stats->min_value, stats->min_step};
    }
    if (stats->max_step < 0)
        return std::nullopt;
    return BestValue{stats->max_value, stats->max_step};
}

std::optional<std::size_t> ExperimentResults::best_trial(std::string_view metric) const {
    std::optional<std::size_t> best;
    std::optional<BestValue> best_value;
    const bool smaller = direction(metric).smaller_is_better;
    for (std::size_t i = 0; i < trials.size(); ++i) {
        const auto value = best_of(trials[i], metric);
        if (!value)
            continue;
        if (!best_value ||
            (smaller ? value->value < best_value->value : value->value > best_value->value)) {
            best = i;
            best_value = value;
        }
    }
    return best;
}

ExperimentResults collect_results(const std::filesystem::path& experiment_root) {
    const ExperimentDir dir(experiment_root);
    ExperimentResults results;
    results.root = experiment_root;
    const ExperimentRecord experiment = read_experiment_settings(dir);
    const SearcherConfig& searcher = experiment.searcher;
    results.name = experiment.name;
    results.searcher_metric = searcher.metric;
    if (!searcher.metric.empty()) {
        results.directions[searcher.metric] =
            MetricDirection{searcher.smaller_is_better, "config"};
    }
    std::set<std::string> metric_names;
    std::set<std::string> seen_hyperparameters;
    for (const auto& record : dir.read_trials()) {
        TrialResult trial;
        trial.id = record.id;
        trial.hyperparameters = record.hyperparameters;
        for (const auto& [name, value] : record.hyperparameters.items()) {
            if (seen_hyperparameters.insert(name).second)
                results.hyperparameter_names.push_back(name);
        }
        read_result_json(dir.trial_result(record.id), trial);
        const auto metrics_path = dir.trial_metrics(record.id);
        std::error_code ec;
        if (std::filesystem::exists(metrics_path, ec)) {
            trial.has_metrics_file = true;
            try {
                TrialFileSummary summary = read_trial_file_summary(metrics_path);
                if (trial.status.empty())
                    trial.status = summary.status;
                if (!trial.exit_code && summary.exit_code >= 0 && summary.status != "running") {
                    trial.exit_code = summary.exit_code;
                }
                if (trial.start.empty())
                    trial.start = format_utc(summary.start_unix);
                if (trial.end.empty())
                    trial.end = format_utc(summary.end_unix);
                trial.metrics = std::move(summary.metrics);
                for (const auto& stats : trial.metrics) metric_names.insert(stats.name);
            } catch (const Error& e) {
                trial.metrics_error = e.what();
            }
        }
        if (trial.status.empty()) {
            trial.status =
                std::filesystem::exists(dir.trial_dir(record.id), ec) ? "started" : "pending";
        }
        results.trials.push_back(std::move(trial));
    }
    std::sort(results.trials.begin(), results.trials.end(),
              [](const TrialResult& a, const TrialResult& b) { return a.id < b.id; });
    if (!results.searcher_metric.empty()) {
        results.metric_names.push_back(results.searcher_metric);
        metric_names.erase(results.searcher_metric);
    }
    results.metric_names.insert(results.metric_names.end(), metric_names.begin(),
                                metric_names.end());
    for (const auto& name : results.metric_names) {
        results.directions.try_emplace(name,
                                       MetricDirection{smaller_is_better_by_name(name), "name"});
    }
    return results;
}

std::filesystem::path summary_path(const std::filesystem::path& experiment_root) {
    return experiment_root / "summary.h5";
}

namespace {

// One value per trial, in table order.
template <typename Getter>
auto column_of(const std::vector<TrialResult>& trials, Getter getter) {
    using T = decltype(getter(trials.front()));
    std::vector<T> values;
    values.reserve(trials.size());
    for (const auto& trial : trials) values.push_back(getter(trial));
    return values;
}

void write_summary_attributes(hid_t root, const ExperimentResults& results) {
    h5::write_attribute(root, "format", std::string_view("hpsweep-summary"));
    h5::write_attribute(root, "format_version", std::int64_t{summary_format_version});
    h5::write_attribute(root, "experiment", std::string_view(results.name));
    h5::write_attribute(root, "searcher_metric", std::string_view(results.searcher_metric));
    h5::write_attribute(root, "trial_count", static_cast<std::int64_t>(results.trials.size()));
    nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
    for (const auto& name : results.metric_names) {
        const auto direction = results.direction(name);
        metrics[name] = {{"smaller_is_better", direction.smaller_is_better},
                         {"direction_from", direction.source}};
    }
    h5::write_attribute(root, "metrics", std::string_view(metrics.dump()));
}

// trial_id, status, exit_code, node, start and end.
void write_trial_columns(hid_t group, const std::vector<TrialResult>& trials) {
    write_column(group, "trial_id", H5T_NATIVE_INT64,
                 column_of(trials, [](const TrialResult& t) { return t.id; }));
    write_string_column(group, "status",
                        column_of(trials, [](const TrialResult& t) { return t.status; }));
    write_column(group, "exit_code", H5T_NATIVE_INT64,
                 column_of(trials, [](const TrialResult& t) { return t.exit_code.value_or(-1); }));
    write_string_column(group, "node",
                        column_of(trials, [](const TrialResult& t) { return t.node; }));
    write_string_column(group, "start",
                        column_of(trials, [](const TrialResult& t) { return t.start; }));
    write_string_column(group, "end",
                        column_of(trials, [](const TrialResult& t) { return t.end; }));
}

// hp.NAME, typed by the values the trials have.
void write_hyperparameter_column(hid_t group, const std::vector<TrialResult>& trials,
                                 const std::string& name) {
    const std::string column_name = "hp." + name;
    switch (hyperparameter_kind(trials, name)) {
        case ColumnKind::integer:
            write_column(group, column_name, H5T_NATIVE_INT64,
                         column_of(trials, [&](const TrialResult& t) {
                             return t.hyperparameters.at(name).get<std::int64_t>();
                         }));
            break;
        case ColumnKind::floating:
            write_column(group, column_name, H5T_NATIVE_DOUBLE,
                         column_of(trials, [&](const TrialResult& t) {
                             const auto found = t.hyperparameters.find(name);
                             return found == t.hyperparameters.end()
                                        ? std::numeric_limits<double>::quiet_NaN()
                                        : found->get<double>();
                         }));
            break;
        case ColumnKind::boolean: {
            const h5::Datatype type = h5::bool_type();
            write_column(
                group, column_name, type.get(), column_of(trials, [&](const TrialResult& t) {
                    return static_cast<std::int8_t>(t.hyperparameters.at(name).get<bool>());
                }));
            break;
        }
        case ColumnKind::string:
            write_string_column(group, column_name, column_of(trials, [&](const TrialResult& t) {
                                    const auto found = t.hyperparameters.find(name);
                                    if (found == t.hyperparameters.end())
                                        return std::string();
                                    return found->is_string() ? found->get<std::string>()
                                                              : found->dump();
                                }));
            break;
    }
}

// METRIC.count, .last_value, .last_step, .best_value (with the metric's direction) and
// .best_step.
void write_metric_columns(hid_t group, const ExperimentResults& results, const std::string& name) {
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    const auto& trials = results.trials;
    auto stats_field = [&](auto field, auto missing) {
        return column_of(trials, [&](const TrialResult& t) {
            const MetricStats* stats = t.metric(name);
            return stats != nullptr && stats->count > 0 ? field(*stats) : missing;
        });
    };
    write_column(group, column_for_metric(name, "count"), H5T_NATIVE_INT64,
                 stats_field([](const MetricStats& s) { return s.count; }, std::int64_t{0}));
    write_column(group, column_for_metric(name, "last_value"), H5T_NATIVE_DOUBLE,
                 stats_field([](const MetricStats& s) { return s.last_value; }, nan));
    write_column(group, column_for_metric(name, "last_step"), H5T_NATIVE_INT64,
                 stats_field([](const MetricStats& s) { return s.last_step; }, std::int64_t{-1}));
    write_column(group, column_for_metric(name, "best_value"), H5T_NATIVE_DOUBLE,
                 column_of(trials, [&](const TrialResult& t) {
                     const auto best = results.best_of(t, name);
                     return best ? best->value : nan;
                 }));
    write_column(group, column_for_metric(name, "best_step"), H5T_NATIVE_INT64,
                 column_of(trials, [&](const TrialResult& t) {
                     const auto best = results.best_of(t, name);
                     return best ? best->step : std::int64_t{-1};
                 }));
    const std::string best_column = column_for_metric(name, "best_value");
    const h5::Dataset best(H5Dopen2(group, best_column.c_str(), H5P_DEFAULT),
                           "cannot reopen " + best_column);
    h5::write_attribute_bool(best.get(), "smaller_is_better",
                             results.direction(name).smaller_is_better);
    h5::write_attribute(best.get(), "metric", std::string_view(name));
}

}  // namespace

void write_summary_file(const ExperimentResults& results, const std::filesystem::path& path) {
    h5::write_atomically(path, [&](const std::filesystem::path& temporary) {
        h5::MemoryFile file(temporary.string(), 1 << 20);
        const hid_t root = file.get();
        write_summary_attributes(root, results);
        h5::Group table(H5Gcreate2(root, "trials", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                        "cannot create group trials");
        const hid_t group = table.get();
        if (results.trials.empty()) {
            write_column(group, "trial_id", H5T_NATIVE_INT64, std::vector<std::int64_t>{});
            return file.close();
        }
        write_trial_columns(group, results.trials);
        for (const auto& name : results.hyperparameter_names)
            write_hyperparameter_column(group, results.trials, name);
        for (const auto& name : results.metric_names) write_metric_columns(group, results, name);
        if (results.cost_totals)
            write_cost_columns(root, group, results);
        table.reset();
        file.close();
    });
}

ExperimentResults rebuild_summary(const std::filesystem::path& experiment_root) {
    ExperimentResults results = collect_results(experiment_root);
    write_summary_file(results, summary_path(experiment_root));
    return results;
}

}  // namespace hpsweep::metrics
