#pragma once
// The per-trial metrics file, EXP/trials/<id>/metrics.h5 (layout: docs/metrics-format.md).
//
//   /                      attributes: format, format_version, experiment, trial_id, command,
//                          hyperparameters (JSON), slurm_job_id, slurm_array_job_id,
//                          slurm_array_task_id, slurm_step_id, nodelist, plan (JSON),
//                          git_commit, datastores (JSON), start, start_unix, end, end_unix,
//                          status, exit_code, attempts, malformed_lines, duplicate_records
//   /hyperparameters       one typed attribute per hyper-parameter (int64/float64/str/bool)
//   /metrics/<name>        1-D chunked, extendable dataset of compound
//                          {step: int64, wall_time: float64 (Unix s), value: float64},
//                          steps strictly increasing; attributes: name, count, last_step,
//                          last_value, min_step, min_value, max_step, max_value
//
// The file is always written whole: built in memory and renamed over the old one (temp file
// + fsync + rename + directory fsync), so a reader or a crash only ever sees a complete file.

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hpsweep::metrics {

inline constexpr int trial_file_format_version = 1;

// One row of a metric dataset; the in-memory layout is the HDF5 compound layout.
struct MetricRecord {
    std::int64_t step = 0;
    double wall_time = 0;  // seconds since the Unix epoch when the launcher saw the value
    double value = 0;
};

struct MetricSeries {
    std::string name;
    std::vector<MetricRecord> records;  // steps strictly increasing
};

struct MetricStats {
    std::string name;
    std::int64_t count = 0;
    std::int64_t last_step = -1;
    double last_value = 0;
    std::int64_t min_step = -1;  // -1 when every value is NaN
    double min_value = 0;
    std::int64_t max_step = -1;
    double max_value = 0;
};
MetricStats compute_stats(const MetricSeries& series);

// What the launcher knows about the trial; written as attributes at every snapshot.
struct TrialAttributes {
    std::string experiment;
    std::int64_t trial_id = -1;
    nlohmann::ordered_json hyperparameters = nlohmann::ordered_json::object();
    std::vector<std::string> command;
    std::string slurm_job_id;
    std::string slurm_array_job_id;
    std::string slurm_array_task_id;
    std::string slurm_step_id;
    std::string nodelist;
    std::int64_t slurm_restart_count = 0;         // SLURM_RESTART_COUNT: requeues so far
    nlohmann::ordered_json plan = nullptr;        // GPU/CPU/NUMA binding plan
    std::string git_commit;                       // of the working directory, when a git repo
    nlohmann::ordered_json datastores = nullptr;  // name -> version staged for the trial

    // Fills the Slurm fields from SLURM_JOB_ID, SLURM_ARRAY_JOB_ID, SLURM_ARRAY_TASK_ID,
    // SLURM_STEP_ID, SLURM_JOB_NODELIST (empty when unset: no Slurm needed) and
    // SLURM_RESTART_COUNT (0 when unset).
    void fill_from_slurm_environment();
};

// `git rev-parse HEAD` of `directory`, or "" when it is not a git work tree or git is missing.
std::string git_commit_of(const std::filesystem::path& directory);

// Everything a metrics file holds.
struct TrialFileContent {
    TrialAttributes attributes;
    std::string status = "running";
    std::int64_t exit_code = -1;  // -1 until the trial ended
    double start_unix = 0;        // first writer's start (kept across requeues)
    double end_unix = 0;          // 0 until finished
    std::int64_t attempts = 1;    // writers that opened the file (1 + requeues)
    std::int64_t malformed_lines = 0;
    std::int64_t duplicate_records = 0;
    std::vector<MetricSeries> metrics;
};

// Writes `content` as a new HDF5 file at `path` (not atomic: for temporaries).
void encode_trial_file(const std::filesystem::path& path, const TrialFileContent& content);
// Atomic replace of `path`: encode into a temporary next to it, fsync, rename, fsync dir.
void write_trial_file(const std::filesystem::path& path, const TrialFileContent& content);
// Reads a whole file (any hpsweep format_version 1 file; extra attributes are ignored).
// Throws Error(data) naming the file when it is not a readable metrics file.
TrialFileContent read_trial_file(const std::filesystem::path& path);

// Only the root attributes and each metric's stats attributes: what the summary needs,
// without reading any dataset.
struct TrialFileSummary {
    std::string status;
    std::int64_t exit_code = -1;
    double start_unix = 0;
    double end_unix = 0;
    std::int64_t attempts = 0;
    std::vector<MetricStats> metrics;  // sorted by name
};
TrialFileSummary read_trial_file_summary(const std::filesystem::path& path);

// HDF5 link name for a metric ('/' would make a group: it is stored as "%2F").
std::string dataset_name_for_metric(std::string_view metric_name);

// "2026-11-22T01:58:17Z" for a Unix time; "" for 0.
std::string format_utc(double unix_seconds);

}  // namespace hpsweep::metrics
