#pragma once
// The datastore on shared storage (datastore_root). Layout (docs/datastores.md):
//
//   ROOT/datasets/                        1777: any user may create a dataset; only its
//                                         owner may rename or delete it (sticky bit)
//   ROOT/datasets/NAME/                   0755 public, 0700 private; owned by its creator
//   ROOT/datasets/NAME/dataset.json       name, random id, owner, visibility, created
//   ROOT/datasets/NAME/objects/ab/HASH[.x]  file contents, named by XXH3-128, read-only
//   ROOT/datasets/NAME/versions/N/manifest.json  immutable manifest of version N
//   ROOT/datasets/NAME/versions/N/data/   the version as a read-only tree of hard links to
//                                         the objects (what a job reads when the
//                                         node-local cache cannot hold a copy)
//   ROOT/datasets/NAME/tags/TAG           "N\n": a movable name for a version
//   ROOT/datasets/NAME/tmp/               versions being built; garbage once abandoned
//
// A version is built in tmp/ and published with one rename() to versions/N, which fails
// when N exists (no locks: the store may be NFS). A crash leaves only tmp/ entries and
// unreferenced objects, which gc removes.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hpsweep/datastore/credentials.hpp"
#include "hpsweep/datastore/manifest.hpp"
#include "hpsweep/datastore/paths.hpp"

namespace hpsweep::datastore {

// Called now and then with bytes done and bytes expected (0 when unknown).
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

struct CreateOptions {
    // true: only the owner can read it; false: everyone can. Unset: private when the
    // caller's umask removes read permission for others (umask & 004), else public.
    std::optional<bool> private_dataset;
    std::optional<std::string> tag;  // tag the new version
    ProgressFn progress;
    // Only these paths below a directory source (sorted; see import_listed_files): a code
    // snapshot stores what git lists, not everything in the tree.
    std::optional<std::vector<std::string>> only_files;
};

struct CreateResult {
    std::string name;
    int version = 0;
    bool unchanged = false;  // identical to the latest version: no new version was made
    std::uint64_t files = 0;
    std::uint64_t bytes = 0;      // total size of the version's files
    std::uint64_t new_bytes = 0;  // bytes of objects this create added to the store
    std::uint64_t new_objects = 0;
};

struct VersionInfo {
    int version = 0;
    std::string created;
    std::string creator;
    std::uint64_t files = 0;
    std::uint64_t bytes = 0;
    std::vector<std::string> tags;
};

struct DatasetInfo {
    std::string name;
    std::string id;
    std::string owner;
    uid_t owner_uid = 0;
    bool private_dataset = false;
    std::string created;
    std::vector<VersionInfo> versions;  // ascending
};

// A reference resolved to one published version the requesting user may read.
struct ResolvedVersion {
    std::string name;
    std::string dataset_id;
    int version = 0;
    uid_t owner_uid = 0;
    bool private_dataset = false;
    std::filesystem::path dataset_dir;
    std::filesystem::path version_dir;
    std::filesystem::path data_dir;  // readable tree of the version on the shared store
    std::filesystem::path manifest_path;
};

struct GcOptions {
    // Temporaries and unreferenced objects younger than this are kept: a create may be
    // writing them right now.
    std::chrono::seconds grace{3600};
};

struct GcResult {
    std::uint64_t objects_removed = 0;
    std::uint64_t bytes_removed = 0;
    std::uint64_t temporaries_removed = 0;
    std::uint64_t datasets_scanned = 0;
    // What gc skipped and why (a symbolic link where a directory was expected, a dataset it
    // could not read): reported, never followed, and never a reason to stop.
    std::vector<std::string> problems;
};

class Store {
public:
    explicit Store(std::filesystem::path root);

    const std::filesystem::path& root() const noexcept { return root_; }
    std::filesystem::path datasets_dir() const { return root_ / "datasets"; }
    std::filesystem::path dataset_dir(std::string_view name) const;

    // Creates ROOT and ROOT/datasets (1777) when missing.
    void initialize() const;

    // New version of NAME from a directory, .zip, .tar, .tar.gz/.tgz (also .tar.bz2/.tar.xz).
    // Only the dataset's owner may add versions. Throws Error(data) for rejected entries
    // (naming the entry), Error(io) for unreadable sources; nothing is published then.
    CreateResult create(std::string_view name, const std::filesystem::path& source,
                        const CreateOptions& options = {}) const;

    // Datasets the caller may read, by name.
    std::vector<DatasetInfo> list(const Credentials& who) const;
    DatasetInfo info(std::string_view name, const Credentials& who) const;

    // Resolves NAME[:VER|:TAG] (default: latest) and checks that `who` may read it.
    // Throws Error(state) when it does not exist or `who` may not read it.
    ResolvedVersion resolve(const Ref& ref, const Credentials& who) const;
    Manifest manifest(const ResolvedVersion& version) const;

    // Points TAG at the version `ref` names (owner only).
    void tag(const Ref& ref, std::string_view tag) const;
    // Deletes one version (ref with a version or tag) or the whole dataset (bare name).
    // Owner or root only. Objects only the deleted version used are removed at once.
    void remove(const Ref& ref, bool whole_dataset) const;
    GcResult gc(const GcOptions& options = {}) const;

private:
    std::filesystem::path root_;
};

}  // namespace hpsweep::datastore
