#pragma once
// Why a trial failed and how far a running one got, read from the files the launcher writes
// (trials/<id>/result.json, stderr.log, metrics.h5 through the results summary), so that
// `status` answers without one `logs --stderr` per trial; and the metrics an experiment asked
// for that its trials never reported.

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/experiment_dir.hpp"

namespace hpsweep::cli {

struct TrialDiagnosis {
    std::optional<int> signal;      // the signal that ended the trial's program
    std::string last_stderr_line;   // the last non-empty line of its stderr.log
    std::string hint;               // exit 127, ModuleNotFoundError: the interpreter that ran it
    std::optional<long long> step;  // highest step a running trial reported
    std::string elapsed;            // "12m03s" since a running trial started
};

// INTERPRETER is the trial's argv[0] (what the job's PATH resolved on the node).
TrialDiagnosis diagnose_trial(const ExperimentDir& dir, long trial_id, const std::string& state,
                              std::optional<int> exit_code, const std::string& interpreter);

// The last non-empty line of TEXT, at most 200 characters.
std::string last_line(const std::string& text);

// A hint for a program that could not start or import what it needs; "" otherwise.
std::string interpreter_hint(std::optional<int> exit_code, const std::string& stderr_tail,
                             const std::string& interpreter);

// Warnings "metric 'val_loss' (regex ...) never matched in N finished trial(s)", and one
// when the experiment has no metric at all although trials finished. CONFIGURED maps each
// configured regex metric to its pattern; REPORTED holds, per finished trial, the metric
// names it reported.
std::vector<std::string> metric_warnings(const std::map<std::string, std::string>& configured,
                                         const std::vector<std::vector<std::string>>& reported);

// Both of the above for one experiment directory (reads experiment.json and the results).
std::vector<std::string> experiment_metric_warnings(const std::filesystem::path& root);

// Trial id -> the highest step it reported (metrics.h5), for trials that reported any.
std::map<long, long long> reported_steps(const std::filesystem::path& root);

// The diagnosis as JSON fields (signal, last_stderr_line, hint, step, elapsed; absent when
// unknown), and as the lines `status` prints under the trial's row.
nlohmann::ordered_json to_json(const TrialDiagnosis& diagnosis);
std::vector<std::string> detail_lines(const TrialDiagnosis& diagnosis);

}  // namespace hpsweep::cli
