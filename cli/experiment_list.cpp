#include "experiment_list.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command_registry.hpp"
#include "experiment_lookup.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/metrics/summary.hpp"
#include "hpsweep/strings.hpp"
#include "trial_states.hpp"

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace hpsweep::cli {

namespace {

// One word for the whole experiment: running while any trial runs, pending while any waits,
// then failed when any trial did not succeed, else completed.
std::string experiment_state(const sweep::ExperimentStates& states) {
    auto count = [&](const char* state) {
        const auto it = states.counts.find(state);
        return it == states.counts.end() ? 0L : it->second;
    };
    if (count("running") > 0)
        return "running";
    if (count("pending") > 0)
        return "pending";
    if (states.unsuccessful() > 0)
        return "failed";
    return "completed";
}

ordered_json describe(const fs::path& dir) {
    const ExperimentDir exp(dir);
    const auto record = exp.read_record();
    ordered_json row{{"experiment", record.id.empty() ? dir.filename().string() : record.id},
                     {"name", record.name},
                     {"created", record.created},
                     {"num_trials", record.num_trials},
                     {"path", dir.string()}};
    try {
        const auto states = sweep::collect_states(exp, record);
        const long total = static_cast<long>(states.trials.size());
        row["state"] = experiment_state(states);
        row["finished"] = total - states.active();
        row["counts"] = states.counts;
    } catch (const Error& e) {
        row["state"] = "unknown";
        row["finished"] = nullptr;
        row["state_error"] = e.what();
    }
    try {
        const auto results = metrics::collect_results(dir);
        const std::string metric = results.primary_metric();
        row["metric"] = metric;
        row["best"] = nullptr;
        if (const auto best = metric.empty() ? std::nullopt : results.best_trial(metric)) {
            const auto value = results.best_of(results.trials[*best], metric);
            if (value) {
                row["best"] = value->value;
                row["best_trial"] = results.trials[*best].id;
            }
        }
    } catch (const Error&) {
        row["metric"] = "";
        row["best"] = nullptr;
    }
    return row;
}

}  // namespace

void list_experiments() {
    std::vector<ordered_json> rows;
    for (const auto& dir : all_experiments()) {
        try {
            rows.push_back(describe(dir));
        } catch (const Error&) {
            continue;  // not ours or damaged: list what can be read
        }
    }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
        return a["created"].template get<std::string>() < b["created"].template get<std::string>();
    });
    std::vector<std::string> searched;
    for (const auto& home : experiment_homes()) searched.push_back(home.string());
    if (global_options().json) {
        std::cout << ordered_json{{"home", default_experiments_home().string()},
                                  {"searched", searched},
                                  {"experiments", rows}}
                         .dump(2)
                  << std::endl;
        return;
    }
    if (rows.empty()) {
        std::printf("No experiments in %s (set HPSWEEP_HOME to look elsewhere)\n",
                    join(searched, ", ").c_str());
        return;
    }
    std::printf("%-44s %-20s %-10s %9s  %s\n", "EXPERIMENT", "CREATED", "STATE", "PROGRESS",
                "BEST");
    for (const auto& r : rows) {
        const std::string progress =
            r["finished"].is_null()
                ? "?"
                : fmt::format("{}/{}", r["finished"].get<long>(), r["num_trials"].get<long>());
        std::string best = "-";
        if (!r["best"].is_null()) {
            best = fmt::format("{}={:.6g} (trial {})", r["metric"].get<std::string>(),
                               r["best"].get<double>(), r["best_trial"].get<long>());
        }
        std::printf("%-44s %-20s %-10s %9s  %s\n", r["experiment"].get<std::string>().c_str(),
                    r["created"].get<std::string>().c_str(), r["state"].get<std::string>().c_str(),
                    progress.c_str(), best.c_str());
    }
}

}  // namespace hpsweep::cli
