#pragma once
// What the CLI reads back from Slurm's commands, as pure functions of their text output, so
// each parser is tested offline on recorded output (tests/data/slurm/). The command lines
// that produce the text sit next to the parser that reads it: a format string and its
// parser change together.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hpsweep::cli::slurm {

// `sbatch --parsable`: "123" or "123;cluster" -> "123". Throws Error(slurm) otherwise.
std::string parse_sbatch_job_id(std::string_view sbatch_output);

// `salloc --no-shell` says "salloc: Granted job allocation 123" on stderr once granted.
std::optional<std::string> parse_salloc_job_id(std::string_view salloc_stderr);

// The array tasks still queued: squeue -h -r -j IDS -o squeue_task_format, one task a line
// (-r lists pending array tasks one by one).
inline constexpr const char* squeue_task_format = "%F|%K|%T|%r|%S|%N";
struct QueuedTask {
    std::string state;   // Slurm's, "PENDING", "RUNNING", "REQUEUE_HOLD", ...
    std::string reason;  // pending reason, "Resources", "BeginTime", "None"
    std::string start;   // expected start, "" when Slurm has none (N/A)
    std::string node;    // the node list, "" while pending
};
// "job_task" ("123_4") -> task. Lines that do not have every field are skipped.
std::map<std::string, QueuedTask> parse_squeue_tasks(std::string_view squeue_output);

// The array tasks accounted for: sacct -n -P -X -j IDS -o sacct_task_fields.
inline constexpr const char* sacct_task_fields = "JobID,State,ExitCode,NodeList";
struct AccountedTask {
    std::string state;  // Slurm's, "COMPLETED", "FAILED", "CANCELLED by 0", ...
    std::string node;
    std::optional<int> exit_code;  // the first half of "1:0"
};
// "job_task" -> task. Rows of tasks that never started ("123_[4-9]") are skipped.
std::map<std::string, AccountedTask> parse_sacct_tasks(std::string_view sacct_output);

// The user's sessions: squeue -h -u USER -n NAME -o squeue_session_format.
inline constexpr const char* squeue_session_format = "%i|%T|%M|%L|%D|%N";
struct SessionRow {
    std::string id, state, elapsed, time_left, nodes, nodelist;
};
std::vector<SessionRow> parse_squeue_sessions(std::string_view squeue_output);

// hpsweep's trial state for a Slurm job state: pending, running, completed, failed,
// cancelled, timeout or preempted.
std::string trial_state_from_squeue(std::string_view slurm_state);
std::string trial_state_from_sacct(std::string_view slurm_state);

}  // namespace hpsweep::cli::slurm
