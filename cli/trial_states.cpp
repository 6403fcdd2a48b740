#include "trial_states.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "experiment_arrays.hpp"
#include "hpsweep/contracts/trial_result.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/searcher/asha.hpp"
#include "hpsweep/strings.hpp"
#include "slurm_calls.hpp"
#include "slurm_client.hpp"

namespace fs = std::filesystem;

namespace hpsweep::cli::sweep {

bool is_terminal(const std::string& state) {
    return state != "pending" && state != "running";
}

bool is_success(const std::string& state) {
    return state == "completed" || ended_by_searcher(state);
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

namespace {

// What Slurm says of an experiment's arrays: one squeue for everything still queued, one
// sacct for everything that ended (or that squeue forgot).
struct SlurmView {
    std::map<std::string, slurm::QueuedTask> queued;  // "job_task" -> task
    std::map<std::string, slurm::AccountedTask> accounted;
};

SlurmView ask_slurm(const ExperimentRecord& record, std::vector<std::string>& notes) {
    SlurmView view;
    std::vector<std::string> job_ids;
    for (const auto& r : record.arrays) job_ids.push_back(r.job_id);
    if (job_ids.empty())
        return view;
    const std::string id_list = join(job_ids, ",");
    view.queued = queued_tasks(id_list);
    std::string sacct_failure;
    if (auto a = accounted_tasks(id_list, sacct_failure)) {
        view.accounted = std::move(*a);
    } else {
        notes.push_back("sacct is not available (" + sacct_failure +
                        "); states of ended trials come from result.json only");
    }
    return view;
}

// The trials `hpsweep cancel` was asked to cancel.
struct CancelRequests {
    std::set<long> trials;
    bool all = false;
    bool cover(long id) const { return all || trials.count(id) > 0; }
};

CancelRequests cancel_requests(const ExperimentRecord& record) {
    CancelRequests requests;
    for (const auto& c : record.cancellations) {
        requests.all = requests.all || c.all;
        requests.trials.insert(c.trials.begin(), c.trials.end());
    }
    return requests;
}

// The trial's result.json, when the array that runs the trial now wrote it: one written by an
// earlier array (before a resubmission) is stale.
std::optional<TrialResultRecord> current_result(const ExperimentDir& dir, long id,
                                                const TrialJob& job) {
    const auto result_path = dir.trial_result(id);
    if (!fs::exists(result_path))
        return std::nullopt;
    std::optional<TrialResultRecord> result;
    try {
        result = read_trial_result(result_path);
    } catch (const Error&) {
        return std::nullopt;  // being rewritten: Slurm's view decides this time
    }
    if (result->array_job_id != job.array_job_id)
        return std::nullopt;
    return result;
}

// Slurm's pending reason, or, pending again after a preemption notice, a reason that says so
// rather than leave the user to read "BeginTime" as a trial that never started.
std::string pending_reason(const slurm::QueuedTask& queued,
                           const std::optional<TrialResultRecord>& result) {
    const bool requeued = starts_with(queued.state, "REQUEUE");
    if (!requeued && !(result && result->status == "preempted"))
        return queued.reason;
    const long restarts = result ? result->restart_count + 1 : 1;
    return fmt::format(
        "requeued after preemption, restart {} waiting{}", restarts,
        queued.reason.empty() || queued.reason == "None" ? "" : " (Slurm: " + queued.reason + ")");
}

// A trial squeue still lists. A packed task runs before its trial's launcher started (and
// recorded a status).
void take_squeue_state(TrialState& t, const slurm::QueuedTask& queued, const TrialJob& job,
                       const std::optional<TrialResultRecord>& result) {
    t.state = slurm::trial_state_from_squeue(queued.state);
    if (job.packed && t.state == "running" && (!result || result->status.empty())) {
        t.state = "pending";
        t.reason = "waiting for a slot in packed task " + t.job;
    } else if (t.state == "pending") {
        t.reason = pending_reason(queued, result);
        t.expected_start = queued.start;
    } else {
        t.node = queued.node;
    }
}

// ASHA's promotion form resumes a promoted trial in the task of the trial that promoted it
// (launcher/app/trial_promotion.hpp). Until it runs there it is pending; while it runs, the
// task its launcher recorded is the one squeue lists.
bool take_promotion_state(TrialState& t, const ExperimentDir& dir, const SlurmView& view,
                          const TrialResultRecord& result) {
    if (result.status == "paused" && result.paused_at_rung) {
        const auto promotion = searcher::read_promotion(dir.root(), t.id, *result.paused_at_rung);
        if (!promotion)
            return false;
        t.state = "pending";
        t.reason = fmt::format("promoted at rung {} by trial {}; resumes in its task",
                               promotion->rung, promotion->by);
        return true;
    }
    if (result.status != "running" || !result.array_job_id || !result.array_task_id)
        return false;
    const std::string host = *result.array_job_id + "_" + *result.array_task_id;
    const auto q = view.queued.find(host);
    if (host == t.job || q == view.queued.end())
        return false;
    t.state = slurm::trial_state_from_squeue(q->second.state);
    t.node = q->second.node;
    t.reason = "resumed after a promotion, in task " + host;
    return true;
}

// One trial's state: squeue's while it is queued, then the end its launcher recorded, then
// sacct's; a trial none of them knows was cancelled with `hpsweep cancel`, or is unknown.
TrialState trial_state(long id, const std::optional<TrialJob>& job, const ExperimentDir& dir,
                       const SlurmView& view, const CancelRequests& cancels) {
    TrialState t;
    t.id = id;
    if (!job) {
        t.state = "unknown";
        t.reason = "not submitted";
        return t;
    }
    t.job = job->job_task();
    const auto result = current_result(dir, id, *job);
    const std::string recorded = result ? result->status : "";
    // A packed task runs on after some of its trials ended: their own ends count.
    const bool ended_in_packed_task =
        job->packed && !recorded.empty() && recorded != "running" && recorded != "preempted";
    if (auto q = view.queued.find(t.job); q != view.queued.end() && !ended_in_packed_task) {
        take_squeue_state(t, q->second, *job, result);
    } else if (result && take_promotion_state(t, dir, view, *result)) {
        // pending or running in another trial's task
    } else if (result && result->status != "running") {
        t.state = result->status;
        t.node = result->node;
        t.exit_code = result->exit_code;
    } else if (auto a = view.accounted.find(t.job); a != view.accounted.end()) {
        t.state = slurm::trial_state_from_sacct(a->second.state);
        t.node = a->second.node;
        t.exit_code = a->second.exit_code;
        if (result)
            t.reason = "the launcher did not record an end";
    } else if (cancels.cover(id)) {
        t.state = "cancelled";
        t.reason = "cancelled with hpsweep cancel";
    } else {
        t.state = "unknown";
        t.reason = "not in squeue, sacct or result.json";
    }
    return t;
}

}  // namespace

ExperimentStates collect_states(const ExperimentDir& dir, const ExperimentRecord& record) {
    ExperimentStates out;
    const auto jobs = trial_jobs(record);
    const SlurmView view = ask_slurm(record, out.notes);
    const CancelRequests cancels = cancel_requests(record);
    for (long id = 0; id < record.num_trials; ++id) {
        TrialState t = trial_state(id, jobs[static_cast<size_t>(id)], dir, view, cancels);
        ++out.counts[t.state];
        out.trials.push_back(std::move(t));
    }
    return out;
}

std::string format_counts(const std::map<std::string, long>& counts) {
    // A fixed order reads better than the map's alphabetical one.
    static const std::vector<std::string> order = {
        "pending", "running",   "completed", "stopped_early", "paused",
        "failed",  "cancelled", "timeout",   "preempted",     "unknown"};
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
