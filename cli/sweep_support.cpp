#include "sweep_support.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <set>
#include <thread>

#include "hpsweep/contracts/trial_result.hpp"
#include "command_registry.hpp"
#include "experiment_lookup.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/metrics/summary.hpp"
#include "hpsweep/searcher/pack_plan.hpp"
#include "hpsweep/strings.hpp"
#include "slurm_client.hpp"
#include "slurm_json.hpp"

namespace fs = std::filesystem;

namespace hpsweep::cli::sweep {

std::string now_iso8601() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

ProcessResult run_slurm(const std::vector<std::string>& argv) {
    ProcessResult result;
    try {
        result = run_process(argv);
    } catch (const Error& e) {
        throw Error(ErrorKind::slurm, std::string(e.what()) + " (is Slurm installed and on PATH?)");
    }
    if (!result.ok()) {
        throw Error(ErrorKind::slurm,
                    fmt::format("{} failed (exit {}): {}", argv[0], result.exit_code,
                                std::string(trim(result.err + result.out))));
    }
    return result;
}

SlurmBatchResult run_slurm_parallel(const std::vector<std::vector<std::string>>& commands,
                                    std::size_t max_workers) {
    SlurmBatchResult batch;
    batch.results.resize(commands.size());
    batch.errors.resize(commands.size());
    std::vector<std::optional<Error>> failures(commands.size());
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
        for (std::size_t i = next++; i < commands.size(); i = next++) {
            try {
                batch.results[i] = run_slurm(commands[i]);
            } catch (const Error& e) {
                batch.errors[i] = e.what();
                failures[i] = e;
            }
        }
    };
    const std::size_t workers = std::clamp<std::size_t>(max_workers, 1, commands.size());
    std::vector<std::thread> threads;
    for (std::size_t w = 1; w < workers; ++w) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    for (auto& f : failures) {
        if (f) {
            batch.first_error = std::move(f);
            break;
        }
    }
    return batch;
}

ClusterLimits cluster_limits() {
    const auto result = run_slurm({"scontrol", "show", "config"});
    const auto size = searcher::parse_max_array_size(result.out);
    if (!size) {
        throw Error(ErrorKind::slurm, "scontrol show config did not report MaxArraySize");
    }
    return ClusterLimits{*size, searcher::parse_slurm_config_number(result.out, "MaxJobCount")};
}

long controller_job_records() {
    const auto result = run_slurm({"squeue", "-h", "-r", "-t", "all", "-o", "%i"});
    long n = 0;
    for (char c : result.out) n += c == '\n';
    return n;
}

bool scancel(const std::vector<std::string>& ids) {
    if (ids.empty())
        return true;
    std::vector<std::string> argv = {"scancel"};
    argv.insert(argv.end(), ids.begin(), ids.end());
    try {
        return run_process(argv).ok();
    } catch (const Error&) {
        return false;
    }
}

ArrayRecord submitted_array(const std::string& job_id, const searcher::ArrayChunk& chunk,
                            int throttle, const std::string& kind) {
    return ArrayRecord{job_id,   chunk.offset,   chunk.array_spec(throttle), chunk.count(),
                       kind,     now_iso8601(), chunk.pack};
}

std::vector<searcher::IndexRange> array_tasks(const ArrayRecord& array) {
    try {
        return searcher::parse_array_spec(array.array);
    } catch (const Error& e) {
        throw Error(ErrorKind::data, fmt::format("experiment.json: array of job {}: {}",
                                                 array.job_id, e.what()));
    }
}

std::vector<std::optional<TrialJob>> trial_jobs(const ExperimentRecord& record) {
    const long num_trials = record.num_trials;
    std::vector<std::optional<TrialJob>> jobs(static_cast<size_t>(std::max(0L, num_trials)));
    // Later arrays (resubmissions) override earlier ones.
    for (const auto& r : record.arrays) {
        for (const auto& [first, last] : array_tasks(r)) {
            for (long task = first; task <= last; ++task) {
                const auto share = searcher::pack_share(r.offset, task, r.pack, num_trials);
                for (long trial = std::max(share.first, 0L); trial < share.end; ++trial) {
                    jobs[static_cast<size_t>(trial)] = TrialJob{r.job_id, task, r.pack > 1};
                }
            }
        }
    }
    return jobs;
}

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

namespace {

// Which form squeue and sacct are asked for, decided once per process from `squeue --version`
// (it reads slurm.conf but queries no daemon); a failed call means text, which every release
// prints.
std::atomic<bool> slurm_json_refused{false};

bool ask_slurm_for_json() {
    static const bool release_speaks_json = [] {
        bool json = false;
        std::string release = "no answer";
        try {
            const auto version = run_process({"squeue", "--version"});
            release = std::string(trim(version.out));
            json = version.ok() &&
                   slurm::output_form_for_release(version.out) == slurm::OutputForm::json;
        } catch (const Error&) {
        }
        if (global_options().verbose)
            std::fprintf(stderr,
                         "hpsweep: squeue and sacct are read as %s (squeue --version: %s)\n",
                         json ? "JSON" : "text", release.c_str());
        return json;
    }();
    return release_speaks_json && !slurm_json_refused;
}

void fall_back_to_text(const char* command) {
    slurm_json_refused = true;
    if (global_options().verbose)
        std::fprintf(stderr, "hpsweep: %s --json printed no document; reading text from now on\n",
                     command);
}

// A release that should print JSON but cannot (a site built without the serializer/json
// plugin) fails without printing a document: use text from then on.
bool printed_no_document(const ProcessResult& result) {
    return !result.ok() && trim(result.out).rfind('{', 0) != 0;
}

// squeue names a single job id it has already forgotten ("Invalid job id specified") on
// stderr or, as JSON, in the document's errors. That is no error: sacct knows the job.
bool forgotten_job(std::string_view said) {
    return said.find("Invalid job id") != std::string_view::npos;
}

// The tasks still queued, "job_task" -> task.
std::map<std::string, slurm::QueuedTask> queued_tasks(const std::string& id_list) {
    if (ask_slurm_for_json()) {
        const auto q = run_process({"squeue", "--json", "-j", id_list});
        if (!printed_no_document(q)) {
            try {
                auto tasks = slurm::parse_squeue_tasks_json(q.out);
                if (!q.ok())
                    throw Error(ErrorKind::slurm, fmt::format("squeue --json failed (exit {}): {}",
                                                              q.exit_code, trim(q.err)));
                return tasks;
            } catch (const Error& e) {
                if (forgotten_job(q.err) || forgotten_job(e.what()))
                    return {};
                throw;
            }
        }
        if (forgotten_job(q.err))
            return {};
        fall_back_to_text("squeue");
    }
    // -r lists pending array tasks one per line.
    const auto q =
        run_process({"squeue", "-h", "-r", "-j", id_list, "-o", slurm::squeue_task_format});
    if (q.ok())
        return slurm::parse_squeue_tasks(q.out);
    if (forgotten_job(q.err))
        return {};
    throw Error(ErrorKind::slurm, "squeue failed: " + std::string(trim(q.err)));
}

// The tasks accounted for, "job_task" -> task; nullopt with the reason when sacct fails
// (no accounting storage on the cluster).
std::optional<std::map<std::string, slurm::AccountedTask>> accounted_tasks(
    const std::string& id_list, std::string& failure) {
    if (ask_slurm_for_json()) {
        const auto a = run_process({"sacct", "--json", "-j", id_list});
        if (a.ok())
            return slurm::parse_sacct_tasks_json(a.out);
        if (!printed_no_document(a)) {
            // The document says why (e.g. slurmdbd unreachable).
            try {
                slurm::parse_sacct_tasks_json(a.out);
                failure = fmt::format("exit {}: {}", a.exit_code, trim(a.err));
            } catch (const Error& e) {
                failure = e.what();
            }
            return std::nullopt;
        }
        fall_back_to_text("sacct");
    }
    const auto a =
        run_process({"sacct", "-n", "-P", "-X", "-j", id_list, "-o", slurm::sacct_task_fields});
    if (a.ok())
        return slurm::parse_sacct_tasks(a.out);
    failure = std::string(trim(a.err));
    return std::nullopt;
}

}  // namespace

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

namespace {

// "best val_loss 0.231 (trial 7)" for the live line. Reading every trial's metrics file
// attributes is cheap for hundreds of trials but not for 10,000 on a slow shared file system,
// so when a refresh costs more than a quarter of the polling interval the next ones are
// skipped in proportion, and the last answer is shown meanwhile.
class BestSoFar {
public:
    std::string refresh(const fs::path& root, double interval_s) {
        if (skip_ > 0) {
            --skip_;
            return text_;
        }
        const auto start = std::chrono::steady_clock::now();
        try {
            const auto results = metrics::collect_results(root);
            const std::string metric = results.primary_metric();
            if (const auto index = metric.empty() ? std::nullopt : results.best_trial(metric)) {
                const auto& trial = results.trials[*index];
                if (const auto value = results.best_of(trial, metric)) {
                    text_ =
                        fmt::format("best {} {:.6g} (trial {})", metric, value->value, trial.id);
                }
            }
        } catch (const Error&) {
            // A trial table being rewritten or a file being created: try again next time.
        }
        const double took =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        skip_ = static_cast<int>(took / (interval_s / 4));
        return text_;
    }

private:
    std::string text_;
    int skip_ = 0;
};

}  // namespace

ExperimentStates wait_for_experiment(const ExperimentDir& dir, bool json_output) {
    (void)json_output;  // the live line goes to stderr, so JSON on stdout stays clean
    // stdout is block-buffered into a pipe: what the command printed before waiting (the
    // "Submitted ..." lines) would otherwise reach the reader after every progress line.
    std::fflush(stdout);
    const bool tty = ::isatty(2) == 1;
    std::string last_line;
    double interval_s = 1.0;
    BestSoFar best_so_far;
    for (;;) {
        const auto record = dir.read_record();
        auto states = collect_states(dir, record);
        const long done = states.counts["completed"] + states.counts["stopped_early"];
        std::string line = fmt::format("{}: {} pending, {} running, {} done, {} failed",
                                       record.id.empty() ? dir.root().filename().string()
                                                         : record.id,
                                       states.counts["pending"], states.counts["running"], done,
                                       states.unsuccessful());
        if (const std::string best = best_so_far.refresh(dir.root(), interval_s); !best.empty())
            line += ", " + best;
        if (tty) {
            std::fprintf(stderr, "\r\033[K%s", line.c_str());
        } else if (line != last_line) {
            std::fprintf(stderr, "%s\n", line.c_str());
        }
        std::fflush(stderr);
        last_line = line;
        if (states.active() == 0) {
            if (tty)
                std::fputc('\n', stderr);
            // Drop the zero entries operator[] added above.
            std::erase_if(states.counts, [](const auto& kv) { return kv.second == 0; });
            return states;
        }
        std::this_thread::sleep_for(std::chrono::duration<double>(interval_s));
        interval_s = std::min(interval_s * 1.5, 10.0);  // poll gently on long sweeps
    }
}

}  // namespace hpsweep::cli::sweep
