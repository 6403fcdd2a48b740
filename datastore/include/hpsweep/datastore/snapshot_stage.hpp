#pragma once
// Staging the code snapshot an experiment recorded (experiment.json "snapshot", written by
// hpsweep run/submit) for a plain `sbatch --hpsweep-trial` job: the SPANK plugin, as root,
// on the job user's behalf. experiment.json is the user's file: it is read with the user's
// credentials, every value root uses is checked to a strict grammar, the dataset must be
// the user's own snapshot dataset in the site's datastore, and the copy is made by the
// datastore's staging code (datastore::stage) like any --datastore version.

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "hpsweep/datastore/cache.hpp"
#include "hpsweep/datastore/credentials.hpp"
#include "hpsweep/datastore/store.hpp"

namespace hpsweep::datastore {

// experiment.json past this is refused: it holds a few records, never data.
inline constexpr std::size_t experiment_record_max_bytes = 16u << 20;

struct RecordedSnapshot {
    std::string dataset;                   // a valid dataset name
    std::string dataset_id;                // [a-z0-9]{8,64}
    int version = 0;                       // >= 1
    std::filesystem::path datastore_root;  // absolute, as recorded
    std::string workdir;  // the submit directory inside the snapshot: relative, no "..", or ""
    std::string commit;   // 40 or 64 lowercase hex digits, or ""
};

// The snapshot record of an experiment.json text: nullopt when there is none (no
// "snapshot", or submitted with --no-snapshot). Throws Error(data) naming `where` when the
// text is not JSON or a value is not of its grammar.
std::optional<RecordedSnapshot> parse_recorded_snapshot(const std::string& experiment_json,
                                                        const std::string& where);

// Reads EXPERIMENT_DIR/experiment.json as `who` (a thread with `who`'s file credentials; root
// only), a regular file of at most experiment_record_max_bytes, and parses its snapshot
// record. nullopt when the directory or the file does not exist; Error otherwise.
std::optional<RecordedSnapshot> read_recorded_snapshot_as(
    const Credentials& who, const std::filesystem::path& experiment_dir);

// Stages the recorded version for `who` from `store`. Error(state) naming `where` when the
// record names another store than `store`, a dataset other than `who`'s own snapshot
// dataset, or a dataset whose id or owner differ from the record (checked on what is
// copied, see StageOptions).
StageResult stage_recorded_snapshot(const Store& store, const CacheConfig& cache,
                                    const RecordedSnapshot& snapshot, const Credentials& who,
                                    const std::string& where);

}  // namespace hpsweep::datastore
