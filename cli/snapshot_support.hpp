#pragma once
// The code snapshot of `hpsweep run` and `hpsweep submit` (docs/snapshots.md): which script
// and context a sweep runs, the submit-time checks that they exist, the snapshot stored in
// the datastore and its record in experiment.json ("snapshot") that hpsweep-launch reads.

#include <CLI/CLI.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/datastore/snapshot.hpp"

namespace hpsweep::cli {

struct SnapshotCliOptions {
    std::string context;    // --context DIR
    bool disabled = false;  // --no-snapshot
    std::string limit;      // --snapshot-limit SIZE
};
void add_snapshot_options(CLI::App* command, SnapshotCliOptions& options);

// What was decided before anything reaches Slurm.
struct SnapshotPlan {
    std::optional<std::filesystem::path> script;      // the entrypoint's script file, if any
    std::optional<datastore::SnapshotSource> source;  // nullopt: no snapshot
    std::string skipped_reason;                       // why not, when nullopt
    std::filesystem::path submit_cwd;
    std::uint64_t limit = datastore::default_snapshot_limit;
};

// Finds the script in `entrypoint` and checks that it (and --context / `context:`, resolved
// against `config_dir`) exist; lists the context and checks the size limit. Throws
// Error(usage) naming what is missing or too big.
SnapshotPlan plan_snapshot(const std::vector<std::string>& entrypoint,
                           const SnapshotCliOptions& options, const std::string& config_context,
                           const std::filesystem::path& config_dir);

// Dry run: what would go into the snapshot.
nlohmann::ordered_json snapshot_plan_json(const SnapshotPlan& plan);
void print_snapshot_plan(const SnapshotPlan& plan);

// Stores the snapshot and returns experiment.json's "snapshot" record; the uncommitted diff
// goes to `diff_file` (EXP/snapshot.diff) when there is one.
nlohmann::ordered_json store_snapshot_for_experiment(const SnapshotPlan& plan,
                                                     const std::vector<std::string>& entrypoint,
                                                     const std::filesystem::path& diff_file);

}  // namespace hpsweep::cli
