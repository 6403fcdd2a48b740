#pragma once
// Each trial's state, merged from squeue, sacct and the launcher's result.json files, and the
// counts the sweep commands print.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/experiment_dir.hpp"

namespace hpsweep::cli::sweep {

struct TrialState {
    long id = 0;
    std::string state = "unknown";  // pending running completed failed cancelled timeout
                                    // preempted stopped_early paused unknown
    std::string reason;             // Slurm's pending reason, or why a state was guessed
    std::string expected_start;     // squeue's start estimate for pending trials
    std::string node;
    std::optional<int> exit_code;
    std::string job;  // "123_4"
};

struct ExperimentStates {
    std::vector<TrialState> trials;
    std::map<std::string, long> counts;  // state -> number of trials
    std::vector<std::string> notes;      // e.g. sacct unavailable
    long active() const;                 // pending + running
    long unsuccessful() const;           // failed, cancelled, timeout, preempted, unknown
};

// One squeue call + one sacct call for the whole experiment, plus result.json files.
ExperimentStates collect_states(const ExperimentDir& dir, const ExperimentRecord& record);

bool is_terminal(const std::string& state);
bool is_success(const std::string& state);  // completed, stopped_early, paused

// Counts as "3 pending, 1 running, 6 completed".
std::string format_counts(const std::map<std::string, long>& counts);

}  // namespace hpsweep::cli::sweep
