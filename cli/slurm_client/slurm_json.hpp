#pragma once
// What the CLI reads back from `squeue --json` and `sacct --json`, into the same structs as
// the text parsers (slurm_client.hpp), so the callers do not care which form Slurm gave.
//
// Two layouts are read. data_parser (Slurm 23.02 on; recorded from 25.05.8) writes a
// state as an array of flags (["RUNNING","COMPLETING"]) and a number as
// {"set":true,"infinite":false,"number":N}. The openapi v0.0.38 layout of 22.05 and the
// early data_parser writes a state as one string and a number as a plain integer (or null
// when unset). Anything else where a field is expected (missing, another type) is an
// Error(slurm) that names the field and the job ("squeue --json: jobs[2].job_state: ...").

#include <map>
#include <string>
#include <string_view>

#include "slurm_client.hpp"

namespace hpsweep::cli::slurm {

// The form of squeue/sacct output the CLI asks for.
enum class OutputForm { text, json };

// From `squeue --version` ("slurm 25.05.8"): json from 23.02 on, where --json goes through
// the data_parser plugins; text before. 22.05's --json (openapi/v0.0.38, recorded in
// tests/data/slurm/22.05.8/) parses, but its squeue ignores -j and lists every job slurmctld
// holds, ended ones included, and its sacct reports exit code 0 for a task that exited 3,
// so text is what the CLI can trust there. Output that names no release is text, the form
// every release prints. Jobs other than those asked
// for, should a release list them, are harmless: callers look tasks up by key.
OutputForm output_form_for_release(std::string_view squeue_version_output);

// squeue --json -j IDS: every job, a pending array's tasks one by one (as text's -r gives
// them), keyed "job_task" as parse_squeue_tasks does. start is local time like %S
// ("2026-12-04T20:58:15"), "" when Slurm has no estimate.
std::map<std::string, QueuedTask> parse_squeue_tasks_json(std::string_view squeue_json);

// sacct --json -j IDS: the jobs, keyed as parse_sacct_tasks does; rows of tasks that never
// started (a range still held in one record) are skipped. A cancelled job's state is
// "CANCELLED" (text adds " by UID"); trial_state_from_sacct reads the first word of both.
std::map<std::string, AccountedTask> parse_sacct_tasks_json(std::string_view sacct_json);

}  // namespace hpsweep::cli::slurm
