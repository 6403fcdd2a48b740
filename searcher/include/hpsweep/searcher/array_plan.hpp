#pragma once
// Job-array planning: trials become as few `sbatch --array` calls as the cluster allows.
// A chunk covers trial ids [offset, offset + MaxArraySize); its array indices are
// trial id - offset, so every index stays below MaxArraySize. What Slurm is given for a
// chunk (sbatch arguments, the batch script) is in slurm_submission.hpp.
// Pure text: nothing here talks to Slurm.

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "hpsweep/searcher/config.hpp"

namespace hpsweep::searcher {

// Inclusive index range of an array spec ("0-1000" is {0, 1000}).
using IndexRange = std::pair<long, long>;

struct ArrayChunk {
    long offset = 0;                  // trial id of array index 0
    std::vector<IndexRange> indices;  // array indices, ascending, non-overlapping
    // Packed arrays (pack_plan.hpp): task i runs trials [offset + i*pack, offset + (i+1)*pack),
    // none at or past trial_end. Unpacked: pack 1, one trial per task.
    long pack = 1;
    long trial_end = 0;
    long count() const;        // number of array tasks in the chunk
    long first_trial() const;  // the trials the chunk's tasks run
    long last_trial() const;
    long trial_count() const;
    // The value of --array: "0-1000", "3,5-9", with "%K" appended when throttled.
    std::string array_spec(int max_concurrent) const;
    bool contains_trial(long trial_id) const;
};

// Chunks for trials 0..num_trials-1. max_array_size is Slurm's MaxArraySize (indices
// 0..MaxArraySize-1 are allowed). Throws Error(config) on nonsense input.
std::vector<ArrayChunk> plan_arrays(long num_trials, long max_array_size);
// Chunks for an arbitrary set of trial ids (resubmission of some trials); ids are sorted and
// deduplicated, each chunk holds ids of one [k*M, (k+1)*M) window.
std::vector<ArrayChunk> plan_arrays_for_trials(std::vector<long> trial_ids, long max_array_size);

// "0-1000%4" / "3,5-9" -> ranges (the throttle is dropped). Throws Error(data) when malformed.
std::vector<IndexRange> parse_array_spec(const std::string& spec);

}  // namespace hpsweep::searcher
