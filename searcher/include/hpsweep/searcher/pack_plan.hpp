#pragma once
// Packing (docs/packing.md): one array task runs a share of the sweep's trials, several at
// once. Task i of a packed chunk runs trials [offset + i*pack, offset + (i+1)*pack), so a
// trial's task is a pure function of its id. Pure computation: nothing here talks to Slurm.

#include <optional>
#include <string>
#include <vector>

#include "hpsweep/searcher/array_plan.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/slurm_submission.hpp"

namespace hpsweep::searcher {

// Seconds of a Slurm time ("30" minutes, "1:30" m:s, "1:00:00", "2-00", "2-00:00:00");
// nullopt for "UNLIMITED" or text that is not a Slurm time.
std::optional<long> slurm_time_seconds(const std::string& text);
// Seconds as a Slurm time ("D-HH:MM:SS" or "HH:MM:SS").
std::string format_slurm_time(long seconds);

// Throws Error(config), naming the key's location, when the packing keys are out of range or
// the trials cannot be packed (more than one GPU or node per trial, auto without a time).
void check_packing(const ExperimentConfig& config);

bool is_packed(const Resources& resources);
// Trials one packed task runs at once: K per GPU of the task, or K without GPUs.
int pack_slots(const Resources& resources);
// --pack auto: slots * ceil(min_job_seconds / T), T the trial's time limit.
long auto_trials_per_task(const Resources& resources, long min_job_seconds);
// Resolves `trials_per_task: auto` in place (no-op otherwise).
void resolve_trials_per_task(Resources& resources, long min_job_seconds);

// Chunks of packed tasks for trials 0..num_trials-1; a chunk's indices stay below
// max_array_size and its offset is a trial id.
std::vector<ArrayChunk> plan_packed_arrays(long num_trials, long trials_per_task,
                                           long max_array_size);

// Array tasks (Slurm job records) a sweep of num_trials needs: one per trial unpacked.
long array_task_count(const Resources& resources, long num_trials);

// The trials [first, end) that task `task` of a chunk runs.
struct PackShare {
    long first = 0;
    long end = 0;
    long count() const { return end > first ? end - first : 0; }
};
PackShare pack_share(long offset, long task, long trials_per_task, long trial_end);
// The array index that runs `trial` in a chunk starting at `offset`.
long packed_task_of(long trial, long offset, long trials_per_task);

// What one packed task asks Slurm for: its GPUs, cpus_per_gpu per GPU (or per slot without
// GPUs) and a time limit of ceil(N / slots) trial time limits.
ResourceRequest packed_task_request(const Resources& resources);

}  // namespace hpsweep::searcher
