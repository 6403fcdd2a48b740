#include "trial_states.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "experiment_arrays.hpp"
#include "hpsweep/contracts/trial_result.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/strings.hpp"
#include "slurm_calls.hpp"
#include "slurm_client.hpp"

namespace fs = std::filesystem;

namespace hpsweep::cli::sweep {

bool is_terminal(const std::string& state) {
    return state != "pending" && state != "running";
}

bool is_success(const std::string& state) {
    return state == "completed" || state == "stopped_early";
}

long ExperimentStates::active() const {
    long n = 0;
    for (const char* s : {"pending", "running"}) {
        if (auto it = counts.find(s); it != counts.end())
            n += it->second;
    }
    return n;
}

long ExperimentStates::unsuccessful() const {
    long n = 0;
    for (const auto& [state, count] : counts) {
        if (is_terminal(state) && !is_success(state))
            n += count;
    }
    return n;
}

ExperimentStates collect_states(const ExperimentDir& dir, const ExperimentRecord& record) {
    ExperimentStates out;
    const long num_trials = record.num_trials;
    const auto jobs = trial_jobs(record);
    std::vector<std::string> job_ids;
    for (const auto& r : record.arrays) job_ids.push_back(r.job_id);
    const std::string id_list = join(job_ids, ",");

    std::map<std::string, slurm::QueuedTask> queued;  // "job_task" -> task
    std::map<std::string, slurm::AccountedTask> accounted;
    if (!job_ids.empty()) {
        // One squeue for everything still queued.
        queued = queued_tasks(id_list);
        // One sacct for everything that ended (or that squeue forgot).
        std::string sacct_failure;
        if (auto a = accounted_tasks(id_list, sacct_failure)) {
            accounted = std::move(*a);
        } else {
            out.notes.push_back("sacct is not available (" + sacct_failure +
                                "); states of ended trials come from result.json only");
        }
    }

    std::set<long> cancel_requested;
    bool cancel_all = false;
    for (const auto& c : record.cancellations) {
        cancel_all = cancel_all || c.all;
        cancel_requested.insert(c.trials.begin(), c.trials.end());
    }

    for (long id = 0; id < num_trials; ++id) {
        TrialState t;
        t.id = id;
        const auto& job = jobs[static_cast<size_t>(id)];
        if (!job) {
            t.state = "unknown";
            t.reason = "not submitted";
        } else {
            t.job = job->job_task();
            std::optional<TrialResultRecord> result;
            const auto result_path = dir.trial_result(id);
            if (fs::exists(result_path)) {
                try {
                    result = read_trial_result(result_path);
                } catch (const Error&) {
                    result.reset();  // being rewritten: Slurm's view decides this time
                }
            }
            // A result.json written by an earlier array (before a resubmission) is stale.
            const bool result_current = result && result->array_job_id == job->array_job_id;
            const std::string recorded = result_current ? result->status : "";
            // A packed task runs on after some of its trials ended: their own ends count.
            const bool ended_in_packed_task = job->packed && !recorded.empty() &&
                                              recorded != "running" && recorded != "preempted";
            if (auto q = queued.find(t.job); q != queued.end() && !ended_in_packed_task) {
                t.state = slurm::trial_state_from_squeue(q->second.state);
                if (job->packed && t.state == "running" && recorded.empty()) {
                    t.state = "pending";
                    t.reason = "waiting for a slot in packed task " + t.job;
                } else if (t.state == "pending") {
                    t.reason = q->second.reason;
                    t.expected_start = q->second.start;
                    // Pending again after a preemption notice: say so, rather than leave the
                    // user to read "BeginTime" as a trial that never started.
                    const bool requeued = starts_with(q->second.state, "REQUEUE");
                    if (requeued || (result_current && result->status == "preempted")) {
                        const long restarts = result_current ? result->restart_count + 1 : 1;
                        t.reason = fmt::format(
                            "requeued after preemption, restart {} waiting{}", restarts,
                            t.reason.empty() || t.reason == "None" ? ""
                                                                   : " (Slurm: " + t.reason + ")");
                    }
                } else {
                    t.node = q->second.node;
                }
            } else if (result_current && result->status != "running") {
                t.state = result->status;
                t.node = result->node;
                t.exit_code = result->exit_code;
            } else if (auto a = accounted.find(t.job); a != accounted.end()) {
                t.state = slurm::trial_state_from_sacct(a->second.state);
                t.node = a->second.node;
                t.exit_code = a->second.exit_code;
                if (result_current)
                    t.reason = "the launcher did not record an end";
            } else if (cancel_all || cancel_requested.count(id)) {
                t.state = "cancelled";
                t.reason = "cancelled with hpsweep cancel";
            } else {
                t.state = "unknown";
                t.reason = "not in squeue, sacct or result.json";
            }
        }
        ++out.counts[t.state];
        out.trials.push_back(std::move(t));
    }
    return out;
}

std::string format_counts(const std::map<std::string, long>& counts) {
    // A fixed order reads better than the map's alphabetical one.
    static const std::vector<std::string> order = {"pending",       "running",   "completed",
                                                   "stopped_early", "failed",    "cancelled",
                                                   "timeout",       "preempted", "unknown"};
    std::vector<std::string> parts;
    for (const auto& s : order) {
        if (auto it = counts.find(s); it != counts.end() && it->second > 0) {
            parts.push_back(fmt::format("{} {}", it->second, s));
        }
    }
    for (const auto& [s, n] : counts) {
        if (std::find(order.begin(), order.end(), s) == order.end() && n > 0) {
            parts.push_back(fmt::format("{} {}", n, s));
        }
    }
    return parts.empty() ? "no trials" : join(parts, ", ");
}

}  // namespace hpsweep::cli::sweep
