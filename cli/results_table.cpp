#include "results_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

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

std::optional<std::time_t> parse_utc(const std::string& text) {
    std::tm tm{};
    if (text.empty() || ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr)
        return std::nullopt;
    return ::timegm(&tm);
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

std::string run_time(const std::string& start, const std::string& end) {
    const auto from = parse_utc(start);
    if (!from)
        return "";
    const auto to = end.empty() ? std::optional<std::time_t>(std::time(nullptr)) : parse_utc(end);
    if (!to)
        return "";
    const long long seconds = std::max<long long>(0, static_cast<long long>(*to - *from));
    if (seconds >= 3600)
        return fmt::format("{}h{:02}m", seconds / 3600, seconds / 60 % 60);
    return fmt::format("{}m{:02}s", seconds / 60, seconds % 60);
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
    for (const char* column : {"steps", "time", "node"}) header.push_back(column);
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
        const std::string time = run_time(trial.start, trial.end);
        row.push_back(time.empty() ? "-" : time);
        row.push_back(trial.node.empty() ? "-" : trial.node);
        rows.push_back(std::move(row));
    }
    std::string best_note;
    if (best) {
        best_note = fmt::format(", best trial {} (*) by the {} value of {}",
                                results.trials[*best].id, final_value ? "last" : "peak", metric);
    }
    std::printf("experiment %s: %zu trials%s\n", results.name.c_str(), results.trials.size(),
                best_note.c_str());
    if (!constant.empty()) {
        std::string line = "same in every trial:";
        for (const auto& c : constant) line += " " + c;
        std::printf("%s\n", line.c_str());
    }
    print_rows(rows);
}

}  // namespace hpsweep::cli
