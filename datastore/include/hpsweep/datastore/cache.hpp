#pragma once
// The node-local cache (cache_dir, limited to cache_max bytes). Layout:
//
//   CACHE/                         created 1777 (sticky) so users may keep their own areas;
//                                  an admin may make it 0755 to allow root staging only
//   CACHE/uid-0/                   root's area: what the SPANK plugin stages; trusted by all
//   CACHE/uid-U/                   user U's own area when U stages without root; trusted
//                                  only by U (it must be owned by U and writable by no one else)
//   AREA/entries/KEY/              a published copy, read-only (files 0444/0555, dirs 0555);
//                                  KEY = SHA256-oOWNER-VIS: the SHA-256 of the manifest's
//                                  entries, the uid owning the dataset directory, and who
//                                  may open it (pub: root 0555; gGID: root:GID 0550;
//                                  uUID: UID 0500), see docs/security.md
//   AREA/meta/KEY.json             size, files, boot id of the fill (a public dataset's
//                                  name and version; nothing naming a private one)
//   AREA/locks/KEY.fill            exclusive lock while one process fills KEY (0600)
//   AREA/locks/KEY.use             shared lock held by every job using KEY (0644);
//                                  eviction needs it exclusively; mtime = last use (LRU)
//   AREA/tmp/KEY.RANDOM/           fills in progress: never used, removed by the next filler
//   AREA/trash/                    evicted entries on their way out
//   AREA/fills.log                 one line per fill: time host pid uid key bytes (0600)
//
// Locks are open-file-description fcntl locks on the local disk only: an exclusive one needs
// a descriptor open for writing, which only the area's owner can have. The shared store is
// never locked (it may be NFS or Lustre), it is only read.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/datastore/credentials.hpp"
#include "hpsweep/datastore/store.hpp"
#include "hpsweep/fs.hpp"

namespace hpsweep::datastore {

struct CacheConfig {
    std::filesystem::path dir;
    std::uint64_t max_bytes = 0;  // 0: no limit but the disk
};

// Keeps one staged version from being evicted: a shared flock on its AREA/locks/KEY.use.
// The launcher keeps it for the trial's lifetime; the SPANK plugin keeps it for the step
// (or passes fd() to the tasks without FD_CLOEXEC: the lock lasts while any copy of the
// descriptor is open). Move-only; releasing is closing.
class CacheLease {
public:
    CacheLease() = default;
    explicit CacheLease(UniqueFd fd) noexcept : fd_(std::move(fd)) {}
    bool active() const noexcept { return static_cast<bool>(fd_); }
    int fd() const noexcept { return fd_.get(); }
    // Hands the descriptor (and with it the lock) to the caller.
    int release_fd() noexcept { return fd_.release(); }
    void release() noexcept { fd_.reset(); }

private:
    UniqueFd fd_;
};

struct StageOptions {
    ProgressFn progress;
    unsigned threads = 0;  // copy threads; 0: HPSWEEP_STAGE_THREADS or 8
    // Read-hash-write buffer per copy thread (rounded up to 4 KiB); 0: 256 KiB, the best
    // of 64 KiB..4 MiB in bench_datastore_stage (docs/datastores.md).
    std::size_t buffer_bytes = 0;
    // How long to wait for a shared lock another process holds exclusively (an eviction
    // in progress) before giving up and reading from the shared store.
    std::chrono::milliseconds lock_timeout{30000};
    // Refuse (Error state) a version whose dataset has another id (deleted, and the name
    // taken again) or another owner: checked on the descriptors the copy is made from.
    std::optional<std::string> expected_dataset_id;
    std::optional<uid_t> expected_owner;
};

struct StageResult {
    std::filesystem::path path;  // read the version here
    std::string name;
    int version = 0;
    bool cached = false;      // path is in the node-local cache (false: on the shared store)
    bool filled = false;      // this call copied the version into the cache
    std::string warning;      // why the cache was not used, when it was not
    std::uint64_t bytes = 0;  // size of the version
    std::uint64_t bytes_read_from_store = 0;  // by this call
    CacheLease lease;                         // held while the caller uses `path`
};

// Stages NAME[:VER|:TAG] into the node-local cache on behalf of `who` and returns where
// to read it. Checks that `who` may read the version on the shared store first (Error
// state otherwise). Running as root (the plugin) it fills root's area, files owned by
// root and read-only; private datasets get a top directory only their owner can open.
// Running as a user it uses root's copy when there is one, else the user's own area.
// One copy per version per area, however many stage at once; the copy is made in tmp/
// and renamed into place, every object's hash is checked (Error data on a mismatch).
// When the cache cannot hold the version (cache_max, disk full, an area it cannot
// trust), `cached` is false, `warning` says why and `path` is the version's tree on the
// shared store.
StageResult stage(const Store& store, const CacheConfig& cache, const Ref& ref,
                  const Credentials& who, const StageOptions& options = {});

struct CacheEntryInfo {
    std::string key;
    std::string name;
    int version = 0;
    std::uint64_t bytes = 0;
    std::filesystem::path path;
    bool in_use = false;
    std::int64_t last_used = 0;  // seconds since the epoch
};
// The entries of the area owned by `owner` (uid-OWNER).
std::vector<CacheEntryInfo> cache_entries(const CacheConfig& cache, uid_t owner);

struct CacheGcResult {
    std::uint64_t entries_evicted = 0;
    std::uint64_t bytes_freed = 0;
    std::uint64_t temporaries_removed = 0;
};
// Removes abandoned temporaries and trash of the caller's area, and evicts unused entries
// (all of them when `evict_all`, else only down to cache_max).
CacheGcResult cache_gc(const CacheConfig& cache, bool evict_all);

}  // namespace hpsweep::datastore
