#pragma once
// Opening one version of a dataset with the job user's credentials. Root (the SPANK plugin
// in slurmstepd) never opens a path in the store with its own rights: a thread that has
// taken the job user's supplementary groups, fsgid and fsuid (per-thread credentials; the
// kernel drops root's file capabilities with a non-zero fsuid) opens the dataset
// directory, its dataset.json, objects/, versions/N and versions/N/manifest.json. The
// kernel decides what the user may open; root only reads from the descriptors and makes
// every decision on their fstat.

#include <sys/stat.h>

#include <filesystem>
#include <vector>

#include "hpsweep/datastore/credentials.hpp"
#include "hpsweep/datastore/paths.hpp"
#include "hpsweep/fs.hpp"

namespace hpsweep::datastore::detail {

struct OpenedVersion {
    int version = 0;
    UniqueFd dataset_dir;   // datasets/NAME
    UniqueFd dataset_file;  // datasets/NAME/dataset.json (regular file)
    UniqueFd objects_dir;   // datasets/NAME/objects
    UniqueFd version_dir;   // datasets/NAME/versions/N
    UniqueFd manifest;      // datasets/NAME/versions/N/manifest.json (regular file)
    struct stat dataset_st {};
    struct stat version_st {};
    struct stat manifest_st {};
};

// While it lives, the calling thread opens files as `who`: it takes `who`'s supplementary
// groups, fsgid and fsuid with the raw system calls, which change this thread only (glibc's
// wrappers would change every thread of the process, slurmstepd's included), and the kernel
// drops root's file capabilities for a non-zero fsuid. The destructor gives the thread its
// own identity back. Root only; throws Error(internal) when the change does not take.
class ThreadFsIdentity {
public:
    explicit ThreadFsIdentity(const Credentials& who);
    ~ThreadFsIdentity();
    ThreadFsIdentity(const ThreadFsIdentity&) = delete;
    ThreadFsIdentity& operator=(const ThreadFsIdentity&) = delete;

private:
    void restore() noexcept;

    std::vector<gid_t> saved_groups_;
    long saved_fsgid_ = 0;
    long saved_fsuid_ = 0;
};

// Opens REF below `datasets_dir` with the calling process's credentials. Throws Error:
// state when it does not exist or may not be read, data when it is damaged or uses links.
OpenedVersion open_version(const std::filesystem::path& datasets_dir, const Ref& ref);

// The same, done by a thread that first takes `who`'s supplementary groups, gid and uid for
// file access (setgroups, setfsgid, setfsuid on that thread only) and ends after the
// opens. Root only.
OpenedVersion open_version_as(const Credentials& who, const std::filesystem::path& datasets_dir,
                              const Ref& ref);

}  // namespace hpsweep::datastore::detail
