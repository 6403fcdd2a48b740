// `hpsweep results EXP` and `hpsweep report EXP -o report.html`: read commands over the
// experiment directory. All the work is in hpsweep::metrics (summary.hpp, html_report.hpp);
// this file resolves EXP, formats the table and maps errors.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "artifacts.hpp"
#include "command_registry.hpp"
#include "experiment_lookup.hpp"
#include "hpsweep/contracts/trial_result.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/metrics/html_report.hpp"
#include "hpsweep/metrics/summary.hpp"
#include "option_values.hpp"
#include "report_watch.hpp"
#include "result_states.hpp"
#include "results_table.hpp"
#include "trial_costs.hpp"
#include "trial_diagnosis.hpp"

namespace hpsweep::cli {
namespace {

namespace fs = std::filesystem;
using metrics::ExperimentResults;
using metrics::TrialResult;

std::string format_value(double value) {
    if (std::isnan(value))
        return "";
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.6g", value);
    return buffer;
}

std::string hp_text(const nlohmann::ordered_json& hyperparameters, const std::string& name) {
    const auto found = hyperparameters.find(name);
    if (found == hyperparameters.end())
        return "";
    return found->is_string() ? found->get<std::string>() : found->dump();
}

bool trial_failed(const TrialResult& trial) {
    if (ended_by_searcher(trial.status))
        return false;  // ASHA ended it on purpose; its signal's exit code is no failure
    return trial.status == "failed" || trial.status == "killed" || trial.status == "timeout" ||
           trial.status == "cancelled" || trial.status == "preempted" ||
           (trial.exit_code && *trial.exit_code != 0);
}

std::string csv_cell(const std::string& text) {
    if (text.find_first_of(",\"\n") == std::string::npos)
        return text;
    std::string quoted = "\"";
    for (const char c : text) {
        if (c == '"')
            quoted += '"';
        quoted += c;
    }
    return quoted + "\"";
}

struct ResultsOptions {
    std::string experiment;
    std::string metric;
    std::string sort;
    std::size_t top = 0;
    bool json = false;
    bool csv = false;
    bool final_value = false;  // best = the last value reported, not the peak
};

// Row order: by trial id, or by --sort (a metric: best first in its direction, missing last;
// a hyper-parameter: ascending; "trial": by id). --top N keeps the first N rows.
std::vector<std::size_t> row_order(const ExperimentResults& results, const ResultsOptions& options,
                                   const std::string& metric) {
    std::vector<std::size_t> order(results.trials.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::string sort = options.sort;
    if (sort.empty() && options.top > 0)
        sort = metric;
    if (!sort.empty() && sort != "trial") {
        const bool is_metric = std::find(results.metric_names.begin(), results.metric_names.end(),
                                         sort) != results.metric_names.end();
        const bool is_hp =
            std::find(results.hyperparameter_names.begin(), results.hyperparameter_names.end(),
                      sort) != results.hyperparameter_names.end();
        if (is_metric) {
            const bool smaller = results.direction(sort).smaller_is_better;
            std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
                const auto va = results.best_of(results.trials[a], sort);
                const auto vb = results.best_of(results.trials[b], sort);
                if (!va || !vb)
                    return va.has_value() && !vb.has_value();
                return smaller ? va->value < vb->value : va->value > vb->value;
            });
        } else if (is_hp) {
            std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
                const auto& ha = results.trials[a].hyperparameters;
                const auto& hb = results.trials[b].hyperparameters;
                const auto fa = ha.find(sort), fb = hb.find(sort);
                if (fa == ha.end() || fb == hb.end())
                    return fa != ha.end() && fb == hb.end();
                if (fa->is_number() && fb->is_number())
                    return fa->get<double>() < fb->get<double>();
                return hp_text(ha, sort) < hp_text(hb, sort);
            });
        } else if (!results.trials.empty()) {
            throw Error(ErrorKind::usage,
                        "--sort " + sort + ": not a metric or hyper-parameter of this experiment");
        }
    }
    if (options.top > 0 && order.size() > options.top)
        order.resize(options.top);
    return order;
}

nlohmann::ordered_json trial_json(const ExperimentResults& results, const TrialResult& trial,
                                  bool is_best) {
    nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
    for (const auto& stats : trial.metrics) {
        const auto best = results.best_of(trial, stats.name);
        metrics[stats.name] = {{"best", best ? nlohmann::ordered_json(best->value) : nullptr},
                               {"best_step", best ? nlohmann::ordered_json(best->step) : nullptr},
                               {"last", stats.last_value},
                               {"last_step", stats.last_step},
                               {"count", stats.count}};
    }
    nlohmann::ordered_json out = {
        {"trial", trial.id},
        {"status", trial.status},
        {"exit_code", trial.exit_code ? nlohmann::ordered_json(*trial.exit_code) : nullptr},
        {"node", trial.node},
        {"start", trial.start},
        {"end", trial.end},
        {"best", is_best},
        {"hyperparameters", trial.hyperparameters},
        {"metrics", metrics}};
    if (!trial.metrics_error.empty())
        out["metrics_error"] = trial.metrics_error;
    out["time_and_cost"] = time_and_cost_json(trial.cost);
    out["artifacts"] =
        to_json(list_artifacts(ExperimentDir(results.root).trial_artifacts(trial.id)));
    return out;
}

// The experiment's results, with Slurm's view of the trials still queued and their time and
// cost. The summary file is rebuilt on demand; a reader without write access still gets them.
ExperimentResults load_results(const fs::path& root) {
    ExperimentResults results = metrics::collect_results(root);
    apply_slurm_states(root, results);
    add_time_and_cost(root, results);
    try {
        metrics::write_summary_file(results, metrics::summary_path(root));
    } catch (const Error& e) {
        if (global_options().verbose)
            std::fprintf(stderr, "hpsweep: warning: %s\n", e.what());
    }
    return results;
}

// --metric names a metric some trial reported (when any trial did).
void check_metric_reported(const ExperimentResults& results, const std::string& metric) {
    if (results.trials.empty() ||
        std::find(results.metric_names.begin(), results.metric_names.end(), metric) !=
            results.metric_names.end())
        return;
    std::string known;
    for (const auto& name : results.metric_names) known += (known.empty() ? "" : ", ") + name;
    throw Error(ErrorKind::usage, "--metric " + metric + ": no trial reported it (metrics: " +
                                      (known.empty() ? std::string("none yet") : known) + ")");
}

// A plain index (no_best_trial: none) rather than an optional: GCC 12 misreads optionals here.
constexpr std::size_t no_best_trial = static_cast<std::size_t>(-1);

void print_results_json(const ExperimentResults& results, const fs::path& root,
                        const ResultsOptions& options, const std::string& metric,
                        const std::vector<std::size_t>& order, std::size_t best) {
    nlohmann::ordered_json out = {
        {"experiment", results.name},
        {"directory", root.string()},
        {"metric", metric},
        {"smaller_is_better",
         metric.empty() ? nlohmann::ordered_json(nullptr)
                        : nlohmann::ordered_json(results.direction(metric).smaller_is_better)},
        {"direction_from", metric.empty() ? std::string() : results.direction(metric).source},
        {"best_trial",
         best != no_best_trial ? nlohmann::ordered_json(results.trials[best].id) : nullptr},
        {"best_by", options.final_value ? "last" : "peak"},
        {"trials", nlohmann::ordered_json::array()},
        {"totals", time_and_cost_json(*results.cost_totals)},
        {"warnings", experiment_metric_warnings(root)}};
    for (const auto index : order) {
        out["trials"].push_back(trial_json(results, results.trials[index], best == index));
    }
    std::printf("%s\n", out.dump(2).c_str());
}

void print_csv_line(const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t c = 0; c < cells.size(); ++c) line += (c ? "," : "") + csv_cell(cells[c]);
    std::printf("%s\n", line.c_str());
}

std::vector<std::string> csv_header(const ExperimentResults& results) {
    std::vector<std::string> header{"trial", "status", "exit_code", "best"};
    for (const auto& name : results.hyperparameter_names) header.push_back(name);
    for (const auto& name : results.metric_names) {
        for (const char* field : {"best", "best_step", "last", "last_step"})
            header.push_back(name + "." + field);
    }
    for (const char* field : {"queue_wait_seconds", "run_seconds", "gpus", "gpu_hours", "cost"})
        header.push_back(field);
    return header;
}

std::vector<std::string> csv_row(const ExperimentResults& results, const TrialResult& trial,
                                 bool is_best) {
    std::vector<std::string> cells{std::to_string(trial.id), trial.status,
                                   trial.exit_code ? std::to_string(*trial.exit_code) : "",
                                   is_best ? "1" : "0"};
    for (const auto& name : results.hyperparameter_names)
        cells.push_back(hp_text(trial.hyperparameters, name));
    for (const auto& name : results.metric_names) {
        const auto value = results.best_of(trial, name);
        const auto* stats = trial.metric(name);
        const bool has = stats != nullptr && stats->count > 0;
        cells.push_back(value ? format_value(value->value) : "");
        cells.push_back(value ? std::to_string(value->step) : "");
        cells.push_back(has ? format_value(stats->last_value) : "");
        cells.push_back(has ? std::to_string(stats->last_step) : "");
    }
    const auto& cost = trial.cost;
    for (const double value :
         {cost.queue_wait_seconds, cost.run_seconds, cost.gpus, cost.gpu_hours, cost.cost})
        cells.push_back(format_value(value));
    return cells;
}

void print_results_csv(const ExperimentResults& results, const std::vector<std::size_t>& order,
                       std::size_t best) {
    print_csv_line(csv_header(results));
    for (const auto index : order)
        print_csv_line(csv_row(results, results.trials[index], best == index));
}

void print_results_warnings(const ExperimentResults& results, const fs::path& root) {
    for (const auto& warning : experiment_metric_warnings(root))
        std::fprintf(stderr, "hpsweep: %s\n", warning.c_str());
    for (const auto& trial : results.trials) {
        if (!trial.metrics_error.empty()) {
            std::fprintf(stderr, "hpsweep: warning: trial %lld: %s\n",
                         static_cast<long long>(trial.id), trial.metrics_error.c_str());
        }
    }
}

void run_results(const ResultsOptions& options) {
    const fs::path root = find_experiment(options.experiment);
    const ExperimentResults results = load_results(root);
    const std::string metric = options.metric.empty() ? results.primary_metric() : options.metric;
    if (!options.metric.empty())
        check_metric_reported(results, metric);
    const std::size_t best = metric.empty()
                                 ? no_best_trial
                                 : (options.final_value ? best_trial_by_final(results, metric)
                                                        : results.best_trial(metric))
                                       .value_or(no_best_trial);
    const auto order = row_order(results, options, metric);
    for (const auto& trial : results.trials) {
        if (trial_failed(trial))
            global_options().exit_code = 1;
    }

    if (options.json || global_options().json) {
        print_results_json(results, root, options, metric, order, best);
    } else if (options.csv) {
        print_results_csv(results, order, best);
    } else {
        print_results_table(results, order, metric,
                            best != no_best_trial ? std::optional<std::size_t>(best) : std::nullopt,
                            options.final_value);
        print_results_warnings(results, root);
    }
}

struct ReportCommandOptions {
    std::string experiment;
    std::string output;
    std::string metric;
    bool watch = false;
    int interval = 5;  // seconds between rewrites with --watch
};

// Writes the report once; true while trials are pending or running. A watch says nothing
// about the pages it rewrites while trials run (unless --verbose), only about the last one.
bool write_report(const fs::path& root, const fs::path& output, const std::string& metric,
                  int refresh_seconds, bool watching) {
    ExperimentResults results = metrics::collect_results(root);
    apply_slurm_states(root, results);
    add_time_and_cost(root, results);
    try {
        metrics::write_summary_file(results, metrics::summary_path(root));
    } catch (const Error& e) {
        if (global_options().verbose)
            std::fprintf(stderr, "hpsweep: warning: %s\n", e.what());
    }
    const bool active =
        std::any_of(results.trials.begin(), results.trials.end(),
                    [](const auto& t) { return t.status == "pending" || t.status == "running"; });
    metrics::ReportOptions report_options;
    report_options.metric = metric;
    report_options.refresh_seconds = active ? refresh_seconds : 0;
    write_file_atomic(output, metrics::render_html_report(results, report_options));
    if (watching && report_options.refresh_seconds > 0 && !global_options().verbose)
        return active;
    if (global_options().json) {
        std::printf("%s\n", nlohmann::json{{"report", output.string()},
                                           {"trials", results.trials.size()},
                                           {"metrics", results.metric_names},
                                           {"reloads", report_options.refresh_seconds > 0}}
                                .dump()
                                .c_str());
    } else {
        std::printf("wrote %s (%zu trials, %zu metrics%s)\n", output.c_str(), results.trials.size(),
                    results.metric_names.size(),
                    report_options.refresh_seconds > 0 ? ", trials running: reloads itself" : "");
    }
    std::fflush(stdout);
    return active;
}

void run_report(const ReportCommandOptions& options) {
    const fs::path root = find_experiment(options.experiment);
    const fs::path output =
        options.output.empty() ? root / "report.html" : fs::path(options.output);
    if (!options.watch) {
        write_report(root, output, options.metric, 0, false);
        return;
    }
    watch_report(options.interval, [&](int refresh_seconds) {
        return write_report(root, output, options.metric, refresh_seconds, true);
    });
}

// The EXP that `results` and `report` take.
void add_experiment_argument(CLI::App* command, std::string& experiment) {
    command
        ->add_option("experiment", experiment,
                     "Experiment directory, or a name under $HPSWEEP_HOME or ./hpsweep-runs")
        ->required();
}

void add_results_commands(CLI::App& app) {
    auto results_options = std::make_shared<ResultsOptions>();
    auto* results = app.add_subcommand(
        "results", "Table of trials: hyper-parameters, status, best value, step reached");
    add_experiment_argument(results, results_options->experiment);
    results->add_option("--metric", results_options->metric,
                        "Metric to show and rank by (default: searcher metric)");
    results->add_option("--sort", results_options->sort,
                        "Sort by a metric (best first), a hyper-parameter or 'trial'");
    add_integer_option(results, "--top", results_options->top,
                       "Only the first N rows (sorted by the metric unless --sort)", 1);
    results->add_flag("--final", results_options->final_value,
                      "Rank trials by the last value of the metric instead of its peak");
    auto* json_flag = results->add_flag("--json", results_options->json, "JSON on stdout");
    results->add_flag("--csv", results_options->csv, "CSV on stdout")->excludes(json_flag);
    results->callback([results_options] { run_results(*results_options); });

    auto report_options = std::make_shared<ReportCommandOptions>();
    auto* report = app.add_subcommand(
        "report", "Self-contained HTML report: learning curves, parallel coordinates, table");
    add_experiment_argument(report, report_options->experiment);
    report->add_option("-o,--output", report_options->output,
                       "Output file (default: EXP/report.html)");
    report->add_option("--metric", report_options->metric,
                       "Metric for the best trial and the parallel view");
    report->add_flag("--watch", report_options->watch,
                     "Rewrite the report every few seconds while trials run (the page reloads "
                     "itself); stops when the experiment is done or on Ctrl-C");
    add_integer_option(report, "--interval", report_options->interval,
                       "Seconds between rewrites with --watch (default 5)", 1);
    report->callback([report_options] { run_report(*report_options); });
}

const CommandRegistrar registrar{"results", &add_results_commands};

}  // namespace
}  // namespace hpsweep::cli
