// Reading and steering a submitted sweep: `hpsweep status|cancel|resubmit|list` (`logs`:
// trial_logs.cpp).
// Slurm is polled gently: one squeue and one sacct call per look at a whole experiment.

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "command_registry.hpp"
#include "experiment_arrays.hpp"
#include "experiment_list.hpp"
#include "experiment_lookup.hpp"
#include "experiment_wait.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/searcher/slurm_submission.hpp"
#include "hpsweep/strings.hpp"
#include "option_values.hpp"
#include "packing.hpp"
#include "resubmit_selection.hpp"
#include "slurm_calls.hpp"
#include "slurm_client.hpp"
#include "trial_diagnosis.hpp"
#include "trial_states.hpp"

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace hpsweep::cli {
namespace {

ordered_json trial_state_json(const sweep::TrialState& t, const TrialRecord* record) {
    ordered_json j{{"id", t.id}, {"state", t.state}, {"job", t.job}};
    if (!t.reason.empty())
        j["reason"] = t.reason;
    if (!t.expected_start.empty())
        j["expected_start"] = t.expected_start;
    if (!t.node.empty())
        j["node"] = t.node;
    j["exit_code"] = t.exit_code ? ordered_json(*t.exit_code) : ordered_json(nullptr);
    if (record)
        j["hyperparameters"] = record->hyperparameters;
    return j;
}

std::string compact_hyperparameters(const ordered_json& hps) {
    std::vector<std::string> parts;
    for (const auto& [k, v] : hps.items()) {
        parts.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
    }
    return join(parts, " ");
}

void status_command(const std::string& exp_arg) {
    const fs::path root = find_experiment(exp_arg);
    const ExperimentDir dir(root);
    const auto record = dir.read_record();
    const auto states = sweep::collect_states(dir, record);
    const auto trials = dir.read_trials();
    auto record_of = [&trials](long id) -> const TrialRecord* {
        return id >= 0 && static_cast<size_t>(id) < trials.size() ? &trials[static_cast<size_t>(id)]
                                                                  : nullptr;
    };
    const auto steps = reported_steps(root);
    const auto warnings = experiment_metric_warnings(root);
    auto diagnosis_of = [&](const sweep::TrialState& t) {
        const auto* trial = record_of(t.id);
        auto diagnosis =
            diagnose_trial(dir, t.id, t.state, t.exit_code,
                           trial && !trial->argv.empty() ? trial->argv.front() : std::string());
        if (const auto step = steps.find(t.id); step != steps.end() && t.state == "running")
            diagnosis.step = step->second;
        return diagnosis;
    };
    if (global_options().json) {
        ordered_json j;
        j["experiment"] = record.id.empty() ? root.filename().string() : record.id;
        j["path"] = root.string();
        j["num_trials"] = record.num_trials;
        j["counts"] = states.counts;
        j["arrays"] = to_json(record)["arrays"];
        if (!states.notes.empty())
            j["notes"] = states.notes;
        j["warnings"] = warnings;
        j["trials"] = ordered_json::array();
        for (const auto& t : states.trials) {
            j["trials"].push_back(trial_state_json(t, record_of(t.id)));
            j["trials"].back().update(to_json(diagnosis_of(t)));
        }
        std::cout << j.dump(2) << std::endl;
    } else {
        std::printf("%s (%s)\n", record.id.c_str(), root.c_str());
        std::printf("%ld trial(s): %s\n", record.num_trials,
                    sweep::format_counts(states.counts).c_str());
        for (const auto& note : states.notes) std::printf("note: %s\n", note.c_str());
        for (const auto& warning : warnings) std::printf("%s\n", warning.c_str());
        std::printf("%6s  %-13s %-12s %-6s %-4s  %s\n", "TRIAL", "STATE", "JOB", "NODE", "EXIT",
                    "DETAIL / HYPERPARAMETERS");
        for (const auto& t : states.trials) {
            std::string detail;
            if (t.state == "pending") {
                detail = "reason=" + t.reason +
                         (t.expected_start.empty() ? "" : " start=" + t.expected_start) + "  ";
            } else if (!t.reason.empty()) {
                detail = "(" + t.reason + ")  ";
            }
            if (const auto* r = record_of(t.id))
                detail += compact_hyperparameters(r->hyperparameters);
            std::printf("%6ld  %-13s %-12s %-6s %-4s  %s\n", t.id, t.state.c_str(), t.job.c_str(),
                        t.node.empty() ? "-" : t.node.c_str(),
                        t.exit_code ? std::to_string(*t.exit_code).c_str() : "-", detail.c_str());
            for (const auto& line : detail_lines(diagnosis_of(t)))
                std::printf("%6s  %s\n", "", line.c_str());
        }
    }
    if (states.unsuccessful() > 0)
        global_options().exit_code = 1;
}

void cancel_command(const std::string& exp_arg, const std::vector<long>& trial_ids) {
    const fs::path root = find_experiment(exp_arg);
    const ExperimentDir dir(root);
    auto record = dir.read_record();
    const long num_trials = record.num_trials;
    std::vector<std::string> targets;
    std::vector<long> packed;  // trials whose task runs on for its other trials
    if (trial_ids.empty()) {
        for (const auto& r : record.arrays) targets.push_back(r.job_id);
    } else {
        const auto jobs = sweep::trial_jobs(record);
        for (const long id : trial_ids) {
            if (id < 0 || id >= num_trials || !jobs[static_cast<size_t>(id)]) {
                throw Error(ErrorKind::usage,
                            fmt::format("trial {} is not in {}", id, root.string()));
            }
            const auto& job = *jobs[static_cast<size_t>(id)];
            if (job.packed) {
                packed.push_back(id);
            } else {
                targets.push_back(job.job_task());
            }
        }
    }
    // Record the request first: without it a trial cancelled while pending leaves no trace
    // but Slurm's accounting.
    record.cancellations.push_back(
        CancellationRecord{sweep::now_iso8601(), trial_ids.empty(), trial_ids});
    dir.write_record(record);
    if (!targets.empty()) {
        std::vector<std::string> argv = {"scancel"};
        argv.insert(argv.end(), targets.begin(), targets.end());
        sweep::run_slurm(argv);
    }
    for (const long id : packed) {
        request_packed_cancel(dir, id);
        targets.push_back(fmt::format("trial {} (in a packed task)", id));
    }
    if (global_options().json) {
        std::cout << ordered_json{{"experiment", record.id}, {"cancelled", targets}}.dump(2)
                  << std::endl;
    } else {
        std::printf("Cancelled %s\n", join(targets, " ").c_str());
    }
}

void resubmit_command(const std::string& exp_arg, const ResubmitRequest& request, bool wait) {
    if (request.trials.empty() && !request.failed)
        (void)trials_to_resubmit({}, {}, request);  // the usage error, before any lookup
    const fs::path root = find_experiment(exp_arg);
    const ExperimentDir dir(root);
    check_experiment_writable(root, "resubmit its trials");
    auto record = dir.read_record();
    const auto states = sweep::collect_states(dir, record);
    const auto ids = trials_to_resubmit(states, user_cancelled_trials(record), request);
    if (ids.empty()) {
        if (global_options().json) {
            std::cout << ordered_json{{"experiment", record.id},
                                      {"resubmitted", ordered_json::array()}}
                             .dump(2)
                      << std::endl;
        } else {
            std::printf("Nothing to resubmit: %s\n", sweep::format_counts(states.counts).c_str());
        }
        return;
    }
    // Resources come back from experiment.json so the new arrays match the first ones.
    searcher::ExperimentConfig config;
    config.name = record.name;
    config.resources = record.resources;
    config.resources.max_concurrent = record.max_concurrent;
    // Resubmitted trials run one per task, whatever the first arrays packed.
    config.resources.trials_per_task = 1;
    config.resources.trials_per_task_auto = false;
    config.resources.trials_per_gpu = 1;
    config.resources.gpus_per_task = 1;
    const long max_array_size = sweep::cluster_limits().max_array_size;
    const auto chunks = searcher::plan_arrays_for_trials(ids, max_array_size);
    std::vector<std::string> submitted;
    try {
        for (const auto& chunk : chunks) {
            const auto result = sweep::run_slurm(
                searcher::sbatch_arguments(config, root, chunk, dir.batch_script_path(), false));
            const std::string job_id = slurm::parse_sbatch_job_id(result.out);
            submitted.push_back(job_id);
            record.arrays.push_back(sweep::submitted_array(
                job_id, chunk, searcher::array_throttle(config), "resubmit"));
        }
        dir.write_record(record);
    } catch (...) {
        sweep::scancel(submitted);  // nothing half-submitted stays behind
        throw;
    }
    if (global_options().json) {
        std::cout << ordered_json{{"experiment", record.id},
                                  {"resubmitted", ids},
                                  {"job_ids", submitted}}
                         .dump(2)
                  << std::endl;
    } else {
        std::printf("Resubmitted %zu trial(s) in %zu job array(s) [%s]\n", ids.size(),
                    submitted.size(), join(submitted, ", ").c_str());
    }
    if (wait) {
        const auto final_states = sweep::wait_for_experiment(dir, global_options().json);
        if (!global_options().json) {
            std::printf("%s: %s\n", record.id.c_str(),
                        sweep::format_counts(final_states.counts).c_str());
        }
        if (final_states.unsuccessful() > 0)
            global_options().exit_code = 1;
    }
}

void add_watch_commands(CLI::App& app) {
    auto exp = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    auto set_json = [json] {
        if (*json)
            global_options().json = true;
    };

    auto* status =
        app.add_subcommand("status", "Trial states of an experiment (squeue + sacct + results)");
    status->add_option("experiment", *exp, "Experiment directory or name")->required();
    status->add_flag("--json", *json, "Machine-readable output");
    status->callback([exp, set_json] {
        set_json();
        status_command(*exp);
    });

    auto trials = std::make_shared<std::vector<long>>();
    auto* cancel = app.add_subcommand("cancel", "Cancel an experiment's arrays, or some trials");
    cancel->add_option("experiment", *exp, "Experiment directory or name")->required();
    accept_integer(cancel->add_option("trials", *trials, "Trial ids (default: every trial)"), {0});
    cancel->add_flag("--json", *json, "Machine-readable output");
    cancel->callback([exp, trials, set_json] {
        set_json();
        cancel_command(*exp, *trials);
    });

    auto again = std::make_shared<ResubmitRequest>();
    auto wait = std::make_shared<bool>(false);
    auto* resubmit =
        app.add_subcommand("resubmit", "Submit again given trials, or those that did not complete");
    resubmit->add_option("experiment", *exp, "Experiment directory or name")->required();
    accept_integer(resubmit->add_option("trials", again->trials, "Trial ids to submit again"), {0});
    resubmit->add_flag("--failed", again->failed,
                       "Failed, timed-out, preempted and lost trials (and cancelled ones you did "
                       "not cancel yourself)");
    resubmit->add_flag("--cancelled", again->cancelled,
                       "With --failed: also the trials you cancelled with hpsweep cancel");
    resubmit->add_flag("--wait", *wait, "Block until every trial ended; exit 1 if any failed");
    resubmit->add_flag("--json", *json, "Machine-readable output");
    resubmit->callback([exp, again, wait, set_json] {
        set_json();
        resubmit_command(*exp, *again, *wait);
    });

    auto* list = app.add_subcommand("list", "Your experiments: state, progress and best value");
    list->add_flag("--json", *json, "Machine-readable output");
    list->callback([set_json] {
        set_json();
        list_experiments();
    });
}

const CommandRegistrar registrar{"sweep-watch", &add_watch_commands};

}  // namespace
}  // namespace hpsweep::cli
