#pragma once
// EXP/trials/<id>/result.json: how a trial's run went, written atomically by the launcher's
// global rank 0 (at start with status "running", again at the end), read by `hpsweep status`
// and the summary.
//
// {"trial", "status": "running"|"completed"|"failed"|"cancelled"|"preempted"|"stopped_early"
// |"paused", "exit_code", "signal", "start", "end" (ISO-8601 UTC, end null while running), "node",
// "job_id", "array_job_id", "array_task_id", "step_id", "rank", "restart_count"}; Slurm ids
// are null outside Slurm; restart_count is SLURM_RESTART_COUNT (0 for the first run);
// "error" (only when set) says why the launcher could not start the trial; "paused_at_rung"
// (only with status "paused": ASHA's promotion form paused the trial at that rung, and
// asha/rung<K>/promoted/<trial> appears if a later result promotes it).

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace hpsweep {

struct TrialResultRecord {
    long trial = 0;
    std::string status = "running";
    std::optional<int> exit_code;
    std::optional<int> signal;
    std::string start;  // ISO-8601 UTC; "" when unknown
    std::string end;    // "" while running
    std::string node;
    std::optional<std::string> job_id;
    std::optional<std::string> array_job_id;
    std::optional<std::string> array_task_id;
    std::optional<std::string> step_id;
    int rank = 0;
    long restart_count = 0;
    std::string error;  // why the launcher could not start the trial; "" when it did
    std::optional<int> paused_at_rung;
};

nlohmann::ordered_json to_json(const TrialResultRecord& result);
// Throws Error(data) naming `source` and the field. Only "trial" and "status" are required
// (files written by hand or by older launchers have fewer fields); `start` and `end` may also
// be seconds since the epoch.
TrialResultRecord trial_result_from_json(const nlohmann::ordered_json& j,
                                         const std::string& source);

// A status the searcher gave a trial it ended on purpose before max_length: "stopped_early"
// (ASHA's stop-once form) or "paused" (its promotion form). Neither is a failure, whatever
// exit code the signal that ended the child left.
bool ended_by_searcher(std::string_view status) noexcept;

// Whole-file read (Error(io) when unreadable, Error(data) when invalid) and atomic write.
TrialResultRecord read_trial_result(const std::filesystem::path& path);
void write_trial_result(const std::filesystem::path& path, const TrialResultRecord& result);

}  // namespace hpsweep
