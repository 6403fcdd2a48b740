#include "hpsweep/launcher/trial_run.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/launcher/trial_hparams.hpp"
#include "hpsweep/output_timeline.hpp"

namespace hpsweep::launcher {

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

std::string final_status(const ChildStatus& status) {
    if (!status.stop_reason.empty())
        return status.stop_reason;  // the launcher ended it on purpose (ASHA: stopped_early)
    if (status.exit_code == 0 && status.signal == 0)
        return "completed";
    const int s = status.signal;
    // Not SIGKILL: alone it is kill -9 or the OOM killer (a failure); Slurm's cancellation
    // sends SIGTERM first, which the launcher forwarded (checked below).
    if (s == SIGTERM || s == SIGINT || s == SIGHUP)
        return "cancelled";
    const auto& f = status.forwarded_signals;
    if (std::find(f.begin(), f.end(), SIGTERM) != f.end() ||
        std::find(f.begin(), f.end(), SIGINT) != f.end()) {
        return "cancelled";
    }
    return "failed";
}

namespace {

std::optional<std::string> env_or_null(const char* name) {
    const char* value = std::getenv(name);
    if (!value || !*value)
        return std::nullopt;
    return value;
}

// SLURM_RESTART_COUNT: how often Slurm requeued this job (preemption, scontrol requeue,
// node failure); 0 for a first run and outside Slurm.
long restart_count() {
    const char* text = std::getenv("SLURM_RESTART_COUNT");
    return text != nullptr ? std::atol(text) : 0;
}

std::string node_name() {
    if (const char* n = std::getenv("SLURMD_NODENAME"); n && *n)
        return n;
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0)
        return "unknown";
    return host;
}

}  // namespace

TrialRun::TrialRun(std::filesystem::path experiment_dir, long trial_id, int rank)
    : experiment_(std::move(experiment_dir)),
      trial_id_(trial_id),
      rank_(rank),
      record_(experiment_.read_trial(trial_id)) {}

void TrialRun::prepare() const {
    for (const auto& dir :
         {experiment_.trial_checkpoints(trial_id_), experiment_.trial_artifacts(trial_id_)}) {
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec)
            throw Error(ErrorKind::io, "cannot create " + dir.string() + ": " + ec.message());
    }
    // Every rank writes the same bytes through a rename, so readers never see a partial file.
    write_file_atomic(hyperparameters_file(),
                      nested_hyperparameters(record_.hyperparameters).dump(2) + "\n");
}

std::filesystem::path TrialRun::hyperparameters_file() const {
    return experiment_.trial_dir(trial_id_) / "hparams.json";
}

std::map<std::string, std::string> TrialRun::environment() const {
    auto variables = hyperparameter_variables(record_.hyperparameters);
    variables["HPSWEEP_HPARAMS"] = std::filesystem::absolute(hyperparameters_file()).string();
    variables.merge(std::map<std::string, std::string>{
        {"HPSWEEP_EXPERIMENT_DIR", std::filesystem::absolute(experiment_.root()).string()},
        {"HPSWEEP_TRIAL_ID", std::to_string(trial_id_)},
        {"HPSWEEP_TRIAL_DIR", std::filesystem::absolute(experiment_.trial_dir(trial_id_)).string()},
        {"HPSWEEP_CHECKPOINT_DIR",
         std::filesystem::absolute(experiment_.trial_checkpoints(trial_id_)).string()},
        {"HPSWEEP_ARTIFACTS_DIR",
         std::filesystem::absolute(experiment_.trial_artifacts(trial_id_)).string()},
    });
    return variables;
}

std::filesystem::path TrialRun::stdout_log() const {
    if (rank_ == 0)
        return experiment_.trial_stdout(trial_id_);
    return experiment_.trial_dir(trial_id_) / ("stdout.rank" + std::to_string(rank_) + ".log");
}

std::filesystem::path TrialRun::stderr_log() const {
    if (rank_ == 0)
        return experiment_.trial_stderr(trial_id_);
    return experiment_.trial_dir(trial_id_) / ("stderr.rank" + std::to_string(rank_) + ".log");
}

std::filesystem::path TrialRun::output_timeline() const {
    return output_timeline_path(experiment_.trial_dir(trial_id_), rank_);
}

TrialResultRecord TrialRun::base_result() const {
    TrialResultRecord result;
    result.trial = trial_id_;
    result.status = "running";
    result.start = iso8601_utc(start_);
    result.node = node_name();
    result.job_id = env_or_null("SLURM_JOB_ID");
    result.array_job_id = env_or_null("SLURM_ARRAY_JOB_ID");
    result.array_task_id = env_or_null("SLURM_ARRAY_TASK_ID");
    result.step_id = env_or_null("SLURM_STEP_ID");
    result.rank = rank_;
    result.restart_count = restart_count();
    return result;
}

void TrialRun::record_start() {
    start_ = std::chrono::system_clock::now();
    if (!writes_result())
        return;
    write_trial_result(experiment_.trial_result(trial_id_), base_result());
}

void TrialRun::record_end(const ChildStatus& status) {
    if (!writes_result())
        return;
    auto result = base_result();
    result.status = final_status(status);
    if (result.status == "paused")
        result.paused_at_rung = paused_at_rung_;
    result.exit_code = status.exit_code;
    if (status.signal != 0)
        result.signal = status.signal;
    result.end = iso8601_utc(std::chrono::system_clock::now());
    write_trial_result(experiment_.trial_result(trial_id_), result);
}

void TrialRun::record_launch_failure(const Error& error) {
    const std::string line = std::string("hpsweep-launch: error: ") + error.what() + "\n";
    if (FILE* log = std::fopen(stderr_log().c_str(), "ae")) {
        std::fputs(line.c_str(), log);
        std::fclose(log);
    }
    if (!writes_result())
        return;
    start_ = std::chrono::system_clock::now();
    auto result = base_result();
    result.status = "failed";
    result.exit_code = error.exit_code();
    result.end = iso8601_utc(start_);
    result.error = error.what();
    write_trial_result(experiment_.trial_result(trial_id_), result);
}

}  // namespace hpsweep::launcher
