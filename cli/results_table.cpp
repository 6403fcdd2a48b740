#include "results_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hpsweep::cli {

namespace {

std::string six_digits(double value) {
    if (std::isnan(value))
        return "";
    return fmt::format("{:.6g}", value);
}

std::string hp_text(const nlohmann::ordered_json& hyperparameters, const std::string& name) {
    const auto found = hyperparameters.find(name);
    if (found == hyperparameters.end())
        return "";
    if (found->is_number_float())
        return six_digits(found->get<double>());
    return found->is_string() ? found->get<std::string>() : found->dump();
}

std::string or_dash(const std::string& text) {
    return text.empty() ? "-" : text;
}

// The first few artifact names; the rest counted.
std::string artifact_list(const std::vector<std::string>& artifacts) {
    constexpr std::size_t shown = 3;
    std::string text;
    for (std::size_t i = 0; i < artifacts.size() && i < shown; ++i)
        text += (i ? "," : "") + artifacts[i];
    if (artifacts.size() > shown)
        text += fmt::format(" (+{} more)", artifacts.size() - shown);
    return text;
}

std::string totals_line(const metrics::CostTotals& totals) {
    std::string line = fmt::format("total: run {}, {} GPU-hours",
                                   or_dash(metrics::duration_text(totals.run_seconds)),
                                   six_digits(totals.gpu_hours));
    if (totals.cpu_hours > 0)
        line += fmt::format(", {} CPU-hours", six_digits(totals.cpu_hours));
    if (!std::isnan(totals.cost))
        line += fmt::format(", cost {}", six_digits(totals.cost));
    line +=
        fmt::format(", queue wait {}", or_dash(metrics::duration_text(totals.queue_wait_seconds)));
    if (!std::isnan(totals.early_stopping_saved_gpu_hours)) {
        line += fmt::format(
            "\nearly stopping saved about {} GPU-hours (each stopped trial's GPU-hours per step x "
            "the steps it did not run, to the {} steps of the longest completed trial)",
            six_digits(totals.early_stopping_saved_gpu_hours), totals.full_length_steps);
    }
    return line;
}

void print_rows(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
        widths.resize(std::max(widths.size(), row.size()));
        for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
    }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c) {
            line += row[c];
            if (c + 1 < row.size())
                line += std::string(widths[c] - row[c].size() + 2, ' ');
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        std::printf("%s\n", line.c_str());
    }
}

}  // namespace

std::optional<std::size_t> best_trial_by_final(const metrics::ExperimentResults& results,
                                               const std::string& metric) {
    const bool smaller = results.direction(metric).smaller_is_better;
    std::optional<std::size_t> best;
    double best_value = 0;
    for (std::size_t i = 0; i < results.trials.size(); ++i) {
        const auto* stats = results.trials[i].metric(metric);
        if (stats == nullptr || stats->count == 0 || std::isnan(stats->last_value))
            continue;
        if (!best || (smaller ? stats->last_value < best_value : stats->last_value > best_value)) {
            best = i;
            best_value = stats->last_value;
        }
    }
    return best;
}

void print_results_table(const metrics::ExperimentResults& results,
                         const std::vector<std::size_t>& order, const std::string& metric,
                         std::optional<std::size_t> best, bool final_value) {
    // A hyper-parameter with one value over several trials says nothing per row.
    std::vector<std::string> varying, constant;
    for (const auto& name : results.hyperparameter_names) {
        bool same = results.trials.size() > 1;
        for (const auto& trial : results.trials) {
            if (hp_text(trial.hyperparameters, name) !=
                hp_text(results.trials.front().hyperparameters, name)) {
                same = false;
                break;
            }
        }
        if (same)
            constant.push_back(name + "=" + hp_text(results.trials.front().hyperparameters, name));
        else
            varying.push_back(name);
    }

    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> header{"", "trial", "status"};
    for (const auto& name : varying) header.push_back(name);
    if (!metric.empty()) {
        const bool smaller = results.direction(metric).smaller_is_better;
        header.push_back(fmt::format("{} ({})", metric, smaller ? "min" : "max"));
        header.push_back("at step");
        header.push_back("last");
    }
    const bool costs = results.cost_totals.has_value();
    const bool priced = costs && !std::isnan(results.cost_totals->cost);
    header.push_back("steps");
    if (costs) {
        for (const char* column : {"wait", "run", "GPU-h"}) header.push_back(column);
        if (priced)
            header.push_back("cost");
    }
    header.push_back("node");
    header.push_back("artifacts");
    rows.push_back(header);
    for (const auto index : order) {
        const auto& trial = results.trials[index];
        std::vector<std::string> row{best == index ? "*" : "", std::to_string(trial.id),
                                     trial.status};
        for (const auto& name : varying) row.push_back(hp_text(trial.hyperparameters, name));
        if (!metric.empty()) {
            const auto value = results.best_of(trial, metric);
            const auto* stats = trial.metric(metric);
            row.push_back(value ? six_digits(value->value) : "-");
            row.push_back(value ? std::to_string(value->step) : "-");
            row.push_back(stats != nullptr && stats->count > 0 ? six_digits(stats->last_value)
                                                               : "-");
        }
        const auto steps = trial.last_step();
        row.push_back(steps >= 0 ? std::to_string(steps) : "-");
        if (costs) {
            const auto& cost = trial.cost;
            row.push_back(or_dash(metrics::duration_text(cost.queue_wait_seconds)));
            row.push_back(or_dash(metrics::duration_text(cost.run_seconds)));
            row.push_back(or_dash(six_digits(cost.gpu_hours)));
            if (priced)
                row.push_back(or_dash(six_digits(cost.cost)));
        }
        row.push_back(trial.node.empty() ? "-" : trial.node);
        row.push_back(or_dash(artifact_list(trial.artifacts)));
        rows.push_back(std::move(row));
    }
    std::string best_note;
    if (best) {
        const bool smaller = results.direction(metric).smaller_is_better;
        best_note =
            final_value
                ? fmt::format(", best trial {} (*) by the last {} reported ({} is better)",
                              results.trials[*best].id, metric, smaller ? "lower" : "higher")
                : fmt::format(", best trial {} (*) by its {} {}", results.trials[*best].id,
                              smaller ? "lowest" : "highest", metric);
    }
    std::printf("experiment %s: %zu trials%s\n", results.name.c_str(), results.trials.size(),
                best_note.c_str());
    if (!constant.empty()) {
        std::string line = "same in every trial:";
        for (const auto& c : constant) line += " " + c;
        std::printf("%s\n", line.c_str());
    }
    print_rows(rows);
    if (costs)
        std::printf("%s\n", totals_line(*results.cost_totals).c_str());
}

}  // namespace hpsweep::cli
