#pragma once
// What an array task used, from `sacct` (one call per experiment): submit, start and end
// times, elapsed seconds and the allocated GPUs and CPUs, for the time and cost of each trial
// (cli/trial_costs.cpp). Text form only: `-P` is parsable in every release the CLI supports.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace hpsweep::cli::slurm {

// sacct -n -P -X -j IDS -o sacct_usage_fields
inline constexpr const char* sacct_usage_fields = "JobID,Submit,Start,End,ElapsedRaw,AllocTRES";

struct TaskUsage {
    // Slurm prints local times without a zone ("2026-12-05T02:56:10"); kept as sacct printed
    // them, and as Unix seconds read in the local zone ("Unknown"/"None": nullopt).
    std::string submit, start, end;
    std::optional<std::int64_t> submit_seconds, start_seconds, end_seconds;
    std::int64_t elapsed_seconds = 0;
    // AllocTRES gres/gpu (or the sum of its gres/gpu:TYPE entries); nullopt when the cluster
    // does not account GPUs (no AccountingStorageTRES=gres/gpu in slurm.conf).
    std::optional<double> gpus;
    double cpus = 0;  // AllocTRES cpu
};

// "job_task" -> usage. Rows of tasks that never started ("123_[4-9]") and lines without
// every field are skipped.
std::map<std::string, TaskUsage> parse_sacct_usage(std::string_view sacct_output);

// "billing=2,cpu=2,gres/gpu=1,mem=1G,node=1" -> the GPUs (1). A typed count
// ("gres/gpu:a100=2") counts when no untyped total is given; nullopt when none is listed.
std::optional<double> allocated_gpus(std::string_view alloc_tres);
double allocated_cpus(std::string_view alloc_tres);

// sacct's local time "2026-12-05T02:56:10" -> Unix seconds; nullopt for Unknown, None, "".
std::optional<std::int64_t> parse_slurm_local_time(std::string_view text);

}  // namespace hpsweep::cli::slurm
