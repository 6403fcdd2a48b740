#pragma once
// Code snapshots: the files of an experiment's code, frozen when it is submitted, kept as a
// version of the submitting user's private snapshot dataset in the datastore (so two
// experiments of the same code share objects) and staged per node like any datastore
// version. See docs/snapshots.md.
//
// The context (what is snapshotted) is the git work tree holding the script, else the
// script's directory. In a work tree it holds the tracked files plus the untracked ones git
// does not ignore (`git ls-files -co --exclude-standard`); `.hpsweepignore` at the top of
// the context (gitignore syntax, matched by git itself) leaves more out.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/datastore/store.hpp"

namespace hpsweep::datastore {

inline constexpr std::uint64_t default_snapshot_limit = 100ull << 20;  // 100 MiB
inline constexpr const char* snapshot_ignore_file = ".hpsweepignore";

struct SnapshotFile {
    std::string path;  // relative to the context, "a/b.py"
    std::uint64_t size = 0;
    // What a later snapshot compares to skip reading unchanged files (see store_snapshot).
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;
    std::uint64_t inode = 0;
    unsigned mode = 0;
};

struct SnapshotSource {
    std::filesystem::path context;    // absolute, symbolic links resolved
    bool git = false;                 // listed by git from a work tree
    std::filesystem::path work_tree;  // the top of that work tree (git only)
    std::vector<SnapshotFile> files;  // sorted by path
    std::uint64_t total_bytes = 0;
    std::int64_t listed_at_ns = 0;       // CLOCK_REALTIME just before the files were examined
    std::vector<std::string> untracked;  // files of `files` git does not track (git only)

    // The n largest files, largest first.
    std::vector<SnapshotFile> biggest(std::size_t n) const;
};

struct GitState {
    std::string commit;  // empty in a repository without commits
    std::string branch;  // empty on a detached HEAD
    std::string diff;    // `git diff HEAD` of the work tree (uncommitted changes)
    bool diff_truncated = false;
    std::vector<std::string> untracked;  // untracked, not ignored files (in the snapshot)
};

// Where a script's snapshot comes from: the top of the git work tree holding it (when git
// does not ignore the script there), else the script's directory. Throws Error(usage)
// naming the script when it does not exist.
std::filesystem::path default_snapshot_context(const std::filesystem::path& script);

// The files of `context` that go into a snapshot, minus everything below the `excluded`
// absolute directories (the experiments home, the datastore: never code). Throws
// Error(usage) when the context is not a directory, Error(io) when git cannot list it.
SnapshotSource list_snapshot_source(const std::filesystem::path& context,
                                    const std::vector<std::filesystem::path>& excluded = {});

// The snapshot of a script's code: list_snapshot_source(default_snapshot_context(script)),
// except that a script git ignores is listed with its directory as a directory outside git,
// and always holds the script itself (unless .hpsweepignore drops it); in two git processes that
// run side by side where the script belongs to a work tree's code (rev-parse and ls-files; whether
// git ignores the script is read from the listing) instead of four, one after the other. A submit
// without --context lists this way: each git process is a noticeable share of a snapshot.
SnapshotSource list_script_snapshot_source(const std::filesystem::path& script,
                                           const std::vector<std::filesystem::path>& excluded = {});

// Throws Error(usage) when the source is over `limit` bytes, naming the biggest files.
void check_snapshot_size(const SnapshotSource& source, std::uint64_t limit);

// The commit, branch and uncommitted diff of the work tree `source` was listed from; nullopt
// outside git. Two git processes: the listing already found the work tree and the
// untracked files (a submit runs this on every sweep, so each process counts).
std::optional<GitState> git_state(const SnapshotSource& source);

// The caller's snapshot dataset: "snapshots.u<uid>" (private, one per user).
std::string snapshot_dataset_name(uid_t uid);

struct SnapshotResult {
    std::string dataset;
    std::string dataset_id;
    int version = 0;
    bool unchanged = false;     // an existing version holds exactly these files
    bool reused_index = false;  // decided from file metadata alone, nothing read
    std::uint64_t files = 0;
    std::uint64_t bytes = 0;
    std::uint64_t new_bytes = 0;  // bytes of new objects written to the store
};

// Stores the source as a version of the caller's snapshot dataset. `index_file` (may be
// empty: none) remembers the files' size, times and inode from the last snapshot of this
// context; when nothing changed since (and no file changed within a second of that
// snapshot, when a change could hide in the clock's resolution) the version is reused
// without reading a file, like git's index.
SnapshotResult store_snapshot(const Store& store, const SnapshotSource& source,
                              const std::filesystem::path& index_file);

// $XDG_CACHE_HOME/hpsweep/snapshots (or ~/.cache/...), empty when neither is set.
std::filesystem::path default_snapshot_index_dir();
// The index file for one context and store in `dir`.
std::filesystem::path snapshot_index_file(const std::filesystem::path& dir,
                                          const std::filesystem::path& context, const Store& store);

}  // namespace hpsweep::datastore
