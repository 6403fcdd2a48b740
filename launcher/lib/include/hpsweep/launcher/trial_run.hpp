#pragma once
// The launcher's side of the experiment-directory contract (common/experiment_dir.hpp):
// find the trial, create trials/<id>/ and checkpoints/, export the HPSWEEP_* variables,
// and keep trials/<id>/result.json up to date (written atomically, by global rank 0 only).
//
// result.json's fields: contracts/trial_result.hpp. Its status is "preempted" when the launcher
// received the preemption notice (SIGUSR2) and the child ended within its grace time or was
// killed after it.

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "hpsweep/contracts/trial_result.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/launcher/supervisor.hpp"

namespace hpsweep::launcher {

// "2026-11-22T01:58:17Z"
std::string iso8601_utc(std::chrono::system_clock::time_point t);

// The status word result.json records for a child that ended this way: the stop reason
// when the launcher stopped it on purpose ("stopped_early"); "completed" on
// exit 0; "cancelled" when it died of SIGTERM/SIGINT/SIGHUP or ended in any way
// after we forwarded SIGTERM/SIGINT to it (scancel); "failed" otherwise (also a SIGKILL
// nobody announced: kill -9, the OOM killer); "preempted" after a SIGUSR2 notice.
std::string final_status(const ChildStatus& status);

class TrialRun {
public:
    // Reads the trial from EXP/trials.jsonl (throws Error(data) when it is not there).
    // `rank` is the global rank of this process in its step: only rank 0 writes result.json.
    TrialRun(std::filesystem::path experiment_dir, long trial_id, int rank);

    const TrialRecord& record() const noexcept { return record_; }
    const ExperimentDir& experiment() const noexcept { return experiment_; }

    // Creates trials/<id>/, trials/<id>/checkpoints/ and trials/<id>/hparams.json
    // (trial_hparams.hpp); idempotent, every rank may call it.
    void prepare() const;
    // HPSWEEP_EXPERIMENT_DIR, HPSWEEP_TRIAL_ID, HPSWEEP_TRIAL_DIR, HPSWEEP_CHECKPOINT_DIR,
    // HPSWEEP_HPARAMS (that file) and one HPSWEEP_HP_<NAME> per hyper-parameter.
    std::map<std::string, std::string> environment() const;
    std::filesystem::path hyperparameters_file() const;
    // stdout.log/stderr.log for rank 0, stdout.rank<N>.log/stderr.rank<N>.log for rank N.
    std::filesystem::path stdout_log() const;
    std::filesystem::path stderr_log() const;
    // When each chunk reached those logs (hpsweep/output_timeline.hpp).
    std::filesystem::path output_timeline() const;

    bool writes_result() const noexcept { return rank_ == 0; }
    // result.json with status "running" (rank 0 only; a no-op on other ranks).
    void record_start();
    // result.json with the final status (rank 0 only).
    void record_end(const ChildStatus& status);
    // ASHA's promotion form paused the trial at this rung: record_end writes it as
    // "paused_at_rung" when the child was stopped with the reason "paused".
    void record_pause(int rung) noexcept { paused_at_rung_ = rung; }
    // The trial could not be started (its container image is missing...): result.json says
    // "failed" with the error's exit code and message (rank 0), and every rank appends the
    // message to its stderr log, where the user looks first.
    void record_launch_failure(const Error& error);

private:
    TrialResultRecord base_result() const;

    ExperimentDir experiment_;
    long trial_id_;
    int rank_;
    TrialRecord record_;
    std::chrono::system_clock::time_point start_{};
    std::optional<int> paused_at_rung_;
};

}  // namespace hpsweep::launcher
