#pragma once
// The experiment's code snapshot (experiment.json "snapshot", written by hpsweep run/submit),
// staged by hpsweep-launch into this node's cache like a datastore version: the trial runs
// the files as they were at submit time, read-only, whatever happened to them since.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/datastore/cache.hpp"

namespace hpsweep::launcher {

struct StagedSnapshot {
    std::filesystem::path root;   // the snapshot's copy on this node
    datastore::CacheLease lease;  // held until the child has exited
    // Entrypoint words that name files of the context, and their paths in the copy.
    struct Replacement {
        std::size_t index = 0;
        std::string word;     // as the entrypoint has it
        std::string in_copy;  // the same file in the copy
    };
    std::vector<Replacement> replaced_words;

    // The trial's argv with those words pointing into the copy (checked word by word, so a
    // trial table edited by hand is left alone).
    std::vector<std::string> rewrite(std::vector<std::string> argv) const;
};

// nullopt when the experiment has no snapshot (--no-snapshot, or made before snapshots).
// Otherwise stages it as the calling user, checks it is the calling user's own snapshot
// dataset, changes to the submit directory's place in the copy (when it was inside the
// context) and sets HPSWEEP_SNAPSHOT_DIR (and HPSWEEP_SNAPSHOT_COMMIT, the git commit
// recorded at submit, for metrics.h5). Throws Error and the trial does not start.
std::optional<StagedSnapshot> stage_trial_snapshot(const std::filesystem::path& experiment);

}  // namespace hpsweep::launcher
