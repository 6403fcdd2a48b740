#pragma once
// The node-local cache of materialised container images, for the runtimes that run a tree
// made from the image once per node (Charliecloud: the image directory or tarball unpacked;
// enroot: the container `enroot create` makes from a squashfs file): every trial of a user
// on a node runs the same copy, made once. Like the datastore cache, entries are kept by
// least recent use and trimmed to a size; an entry in use (a shared lock on its lock file,
// held until the trial ends) is never evicted. One mechanism for every runtime: a runtime
// only supplies its materialise step (ImageMaterializer).
//
// Layout: CACHE_ROOT/<uid>/ (0700, owned by the user; refused when it is a link or someone
// else's), and per image KEY.lock (its mtime is the last use) and KEY/ (the entry's tree,
// with .hpsweep-image-ready once complete). KEY hashes the runtime's kind and the source's
// path, inode, size and mtime, so a rebuilt image is materialised again. The cache runs as
// the job's user, never as root: the copy belongs to the user, who may therefore create the
// bind mount points inside it.

#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
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
    // Gives the shared lock up to the program this process execs next (an interactive shell
    // that the runtime starts in place of this process): the descriptor is left open, without
    // close-on-exec, so the entry stays while that program runs.
    void keep_across_exec();

private:
    std::filesystem::path dir_;
    UniqueFd lease_;  // shared lock: the entry stays while the trial runs
    bool unpacked_now_;
};

// How one runtime makes a cache entry from a source image.
struct ImageMaterializer {
    // "charliecloud" | "enroot": part of the entry's key, so two runtimes never share one.
    std::string kind;
    // Throws Error(config) when the runtime cannot make an entry from this source (called
    // before the cache is touched); `st` is the source's stat.
    std::function<void(const std::filesystem::path& source, const struct stat& st)> check;
    // Fills `into` (a fresh, private, empty directory) from `source`, throwing Error(io) when
    // that fails; the cache removes what it left. Runs once per node, user and image, under
    // the entry's exclusive lock.
    std::function<void(const std::filesystem::path& source, const std::filesystem::path& into)>
        materialize;
};

// The entry for `source`, made now by `materializer` if it is not cached yet, and held (a
// shared lock) until the returned object is destroyed. Then trims the cache to
// options.max_bytes, least recently used first, never removing a held entry.
// Throws Error(config) when the source does not exist or the materializer refuses it,
// Error(io) when the cache cannot be used or materialising fails.
CachedImage acquire_cached_image(const std::filesystem::path& source,
                                 const ImageMaterializer& materializer,
                                 const ImageCacheOptions& options);

// The unpacked copy of `source` (an image directory, or a .tar/.tar.gz/.tgz file), made now
// if it is not cached yet; `mount_targets` are created inside it as empty directories.
// Throws Error(config) when the source does not exist or has an unsupported form, Error(io)
// when the cache cannot be used or the unpacking fails.
CachedImage acquire_unpacked_image(const std::filesystem::path& source,
                                   const std::vector<std::filesystem::path>& mount_targets,
                                   const ImageCacheOptions& options);

// enroot: the container `enroot create` makes from the squashfs file `source`, once per
// node, user and image. The entry's directory is the ENROOT_DATA_PATH under which the
// container is called enroot_container_name(entry) (so evicting the entry removes the
// container); `enroot` is the executable to run. Throws Error(config) when the source is not
// an existing file, Error(io) when `enroot create` fails (with its stderr).
CachedImage acquire_enroot_container(const std::filesystem::path& source,
                                     const std::filesystem::path& enroot,
                                     const ImageCacheOptions& options);
// The name of the container in an enroot entry: "hpsweep-" and the entry's 16 hex digits.
std::string enroot_container_name(const CachedImage& entry);
// The names hpsweep gives enroot containers: "hpsweep-" then 16 lowercase hex digits
// (enroot only forbids '/', but a name reaches a command line and a path).
bool is_enroot_container_name(std::string_view name) noexcept;

}  // namespace hpsweep::launcher
