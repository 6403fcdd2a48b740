#pragma once
// The node-local cache of unpacked container images, for the runtimes that run an unpacked
// tree (Charliecloud directory images; a tarball is unpacked into one): every trial of a user
// on a node runs the same copy, made once. Like the datastore cache, entries are kept by
// least recent use and trimmed to a size; an entry in use (a shared lock on its lock file,
// held until the trial ends) is never evicted.
//
// Layout: CACHE_ROOT/<uid>/ (0700, owned by the user; refused when it is a link or someone
// else's), and per image KEY.lock (its mtime is the last use) and KEY/ (the image tree, with
// .hpsweep-image-ready once complete). KEY hashes the source's path, inode, size and mtime,
// so a rebuilt image is unpacked again. The cache runs as the job's user, never as root: the
// copy belongs to the user, who may therefore create the bind mount points inside it.

#include <filesystem>
#include <string>
#include <vector>

#include "hpsweep/fs.hpp"

namespace hpsweep::launcher {

struct ImageCacheOptions {
    std::filesystem::path root = "/var/tmp/hpsweep-images";
    unsigned long long max_bytes = 50ULL * 1024 * 1024 * 1024;
};

class CachedImage {
public:
    CachedImage(std::filesystem::path dir, UniqueFd lease, bool unpacked_now)
        : dir_(std::move(dir)), lease_(std::move(lease)), unpacked_now_(unpacked_now) {}
    const std::filesystem::path& dir() const noexcept { return dir_; }
    // True when this call unpacked the image (a cold start), false when it was cached.
    bool unpacked_now() const noexcept { return unpacked_now_; }

private:
    std::filesystem::path dir_;
    UniqueFd lease_;  // shared lock: the entry stays while the trial runs
    bool unpacked_now_;
};

// The unpacked copy of `source` (an image directory, or a .tar/.tar.gz/.tgz file), made now
// if it is not cached yet; `mount_targets` are created inside it as empty directories.
// Throws Error(config) when the source does not exist or has an unsupported form, Error(io)
// when the cache cannot be used or the unpacking fails.
CachedImage acquire_unpacked_image(const std::filesystem::path& source,
                                   const std::vector<std::filesystem::path>& mount_targets,
                                   const ImageCacheOptions& options);

}  // namespace hpsweep::launcher
