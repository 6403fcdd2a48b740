#include "slurm_calls.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "command_registry.hpp"
#include "hpsweep/searcher/slurm_submission.hpp"
#include "hpsweep/strings.hpp"
#include "slurm_client.hpp"

namespace hpsweep::cli::sweep {

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

}  // namespace

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

}  // namespace hpsweep::cli::sweep
