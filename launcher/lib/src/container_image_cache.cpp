#include "hpsweep/launcher/container_image_cache.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "hpsweep/error.hpp"
#include "hpsweep/process.hpp"

namespace hpsweep::launcher {
namespace {

constexpr const char* kReadyMarker = ".hpsweep-image-ready";

std::string hex64(unsigned long long value) {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", value);
    return text;
}

// FNV-1a over the runtime's kind and what identifies one build of the source image.
std::string image_key(const std::string& kind, const std::filesystem::path& source,
                      const struct stat& st) {
    const std::string identity =
        kind + '\0' + source.string() + '\0' + std::to_string(st.st_dev) + '\0' +
        std::to_string(st.st_ino) + '\0' + std::to_string(st.st_size) + '\0' +
        std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec);
    unsigned long long hash = 1469598103934665603ULL;
    for (const char c : identity) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ULL;
    }
    return hex64(hash);
}

bool is_tarball(const std::string& name) {
    for (const char* suffix : {".tar", ".tar.gz", ".tgz"}) {
        const std::string s = suffix;
        if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0)
            return true;
    }
    return false;
}

// CACHE_ROOT/<uid>, created 0700 by us; a link, a non-directory or another user's directory
// (someone squatting the name in a sticky /var/tmp) is refused.
std::filesystem::path user_cache_dir(const std::filesystem::path& root) {
    std::error_code ec;
    std::filesystem::create_directories(root, ec);
    if (!ec) {
        // Shared parent: anyone may add their own directory, nobody removes another's.
        ::chmod(root.c_str(), 01777);
    }
    const auto dir = root / std::to_string(::getuid());
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        throw_errno("cannot create the image cache " + dir.string());
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0)
        throw_errno("cannot stat the image cache " + dir.string());
    if (!S_ISDIR(st.st_mode) || st.st_uid != ::getuid() || (st.st_mode & 077) != 0) {
        throw Error(ErrorKind::io, "the image cache " + dir.string() +
                                       " is not a private directory of uid " +
                                       std::to_string(::getuid()) + "; refusing to use it");
    }
    return dir;
}

UniqueFd open_lock(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd)
        throw_errno("cannot open the image cache lock " + path.string());
    return fd;
}

unsigned long long tree_bytes(const std::filesystem::path& dir) {
    unsigned long long total = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(
             dir, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec) && !it->is_symlink(ec))
            total += it->file_size(ec);
    }
    return total;
}

// The size written into the ready marker when the entry was made (0 when incomplete).
unsigned long long recorded_bytes(const std::filesystem::path& tree) {
    try {
        const std::string text = read_file(tree / kReadyMarker);
        return std::stoull(text.substr(text.find('\n') + 1));
    } catch (const std::exception&) {
        return 0;
    }
}

void unpack(const std::filesystem::path& source, bool source_is_dir,
            const std::filesystem::path& into) {
    std::error_code ec;
    ProcessResult result;
    if (source_is_dir) {
        // Hard links first: a copy in seconds that shares the files' data (the image is
        // mounted read-only). The kernel refuses links to other users' files
        // (fs.protected_hardlinks), so a user's copy of a root-owned image is a real one.
        result = run_process({"cp", "-a", "-l", (source / ".").string(), into.string()});
        if (!result.ok()) {
            std::filesystem::remove_all(into, ec);
            if (::mkdir(into.c_str(), 0700) != 0)
                throw_errno("cannot create " + into.string());
            result =
                run_process({"cp", "-a", "--reflink=auto", (source / ".").string(), into.string()});
        }
    } else {
        result = run_process(
            {"tar", "-x", "--no-same-owner", "-f", source.string(), "-C", into.string()});
    }
    if (!result.ok()) {
        std::filesystem::remove_all(into, ec);
        throw Error(ErrorKind::io, "unpacking image " + source.string() + " into " + into.string() +
                                       " failed: " + result.err);
    }
    // Let the user (the image's owner now) create mount points anywhere in the copy.
    ::chmod(into.c_str(), 0755);
}

// Removes least recently used entries that no trial holds until the cache fits.
void evict(const std::filesystem::path& dir, const std::string& keep,
           unsigned long long max_bytes) {
    struct Entry {
        std::filesystem::path lock;
        std::filesystem::path tree;
        std::filesystem::file_time_type used;
        unsigned long long bytes;
    };
    std::vector<Entry> entries;
    unsigned long long total = 0;
    std::error_code ec;
    for (const auto& item : std::filesystem::directory_iterator(dir, ec)) {
        if (item.path().extension() != ".lock")
            continue;
        Entry e{item.path(), dir / item.path().stem(), item.last_write_time(ec), 0};
        e.bytes = recorded_bytes(e.tree);
        total += e.bytes;
        if (item.path().stem() != keep)
            entries.push_back(e);
    }
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.used < b.used; });
    for (const auto& e : entries) {
        if (total <= max_bytes)
            break;
        UniqueFd fd(::open(e.lock.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
        if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
            continue;  // in use by a running trial
        std::filesystem::remove_all(e.tree, ec);
        std::filesystem::remove(e.lock, ec);
        total -= e.bytes;
    }
}

}  // namespace

void CachedImage::keep_across_exec() {
    const int flags = ::fcntl(lease_.get(), F_GETFD);
    if (flags < 0 || ::fcntl(lease_.get(), F_SETFD, flags & ~FD_CLOEXEC) != 0)
        throw_errno("cannot keep the image cache lock of " + dir_.string() + " open");
    (void)lease_.release();
}

CachedImage acquire_cached_image(const std::filesystem::path& source,
                                 const ImageMaterializer& materializer,
                                 const ImageCacheOptions& options) {
    struct stat st {};
    if (!source.is_absolute() || ::stat(source.c_str(), &st) != 0) {
        throw Error(ErrorKind::config, "container image " + source.string() +
                                           " does not exist (or is not an "
                                           "absolute path)");
    }
    materializer.check(source, st);
    const auto dir = user_cache_dir(options.root);
    const std::string key = image_key(materializer.kind, source, st);
    const auto tree = dir / key;
    UniqueFd lock = open_lock(dir / (key + ".lock"));
    // Trials using the entry hold it shared; only the one that materialises holds it alone
    // (the others wait for it), so warm starts never wait for each other.
    if (::flock(lock.get(), LOCK_SH) != 0)
        throw_errno("cannot lock " + (dir / (key + ".lock")).string());
    bool made_now = false;
    if (::access((tree / kReadyMarker).c_str(), F_OK) != 0) {
        if (::flock(lock.get(), LOCK_UN) != 0 || ::flock(lock.get(), LOCK_EX) != 0)
            throw_errno("cannot lock " + (dir / (key + ".lock")).string());
        if (::access((tree / kReadyMarker).c_str(), F_OK) != 0) {
            const auto staging = dir / (key + ".unpacking");
            std::error_code ec;
            std::filesystem::remove_all(staging, ec);
            if (::mkdir(staging.c_str(), 0700) != 0)
                throw_errno("cannot create " + staging.string());
            try {
                materializer.materialize(source, staging);
            } catch (...) {
                std::filesystem::remove_all(staging, ec);
                throw;
            }
            std::filesystem::remove_all(tree, ec);
            std::filesystem::rename(staging, tree, ec);
            if (ec)
                throw Error(ErrorKind::io, "cannot move " + staging.string() + " to " +
                                               tree.string() + ": " + ec.message());
            write_file_atomic(tree / kReadyMarker,
                              source.string() + "\n" + std::to_string(tree_bytes(tree)) + "\n");
            made_now = true;
        }
        if (::flock(lock.get(), LOCK_SH) != 0)
            throw_errno("cannot share the lock of " + tree.string());
    }
    ::futimens(lock.get(), nullptr);  // last use, for eviction
    evict(dir, key, options.max_bytes);
    return CachedImage(tree, std::move(lock), made_now);
}

CachedImage acquire_unpacked_image(const std::filesystem::path& source,
                                   const std::vector<std::filesystem::path>& mount_targets,
                                   const ImageCacheOptions& options) {
    ImageMaterializer charliecloud;
    charliecloud.kind = "charliecloud";
    charliecloud.check = [](const std::filesystem::path& path, const struct stat& st) {
        if (!S_ISDIR(st.st_mode) && !(S_ISREG(st.st_mode) && is_tarball(path.filename().string())))
            throw Error(ErrorKind::config, "container image " + path.string() +
                                               ": expected an image directory or a "
                                               ".tar/.tar.gz/.tgz file");
    };
    charliecloud.materialize = [](const std::filesystem::path& path,
                                  const std::filesystem::path& into) {
        unpack(path, std::filesystem::is_directory(path), into);
    };
    CachedImage image = acquire_cached_image(source, charliecloud, options);
    // Idempotent: concurrent trials may create the same mount points.
    for (const auto& target : mount_targets) {
        std::error_code ec;
        std::filesystem::create_directories(image.dir() / target.relative_path(), ec);
    }
    return image;
}

bool is_enroot_container_name(std::string_view name) noexcept {
    constexpr std::string_view prefix = "hpsweep-";
    if (name.size() != prefix.size() + 16 || name.substr(0, prefix.size()) != prefix)
        return false;
    return std::all_of(name.begin() + prefix.size(), name.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string enroot_container_name(const CachedImage& entry) {
    // The entry's directory is named by its key (16 hex digits).
    return "hpsweep-" + entry.dir().filename().string();
}

CachedImage acquire_enroot_container(const std::filesystem::path& source,
                                     const std::filesystem::path& enroot,
                                     const ImageCacheOptions& options) {
    ImageMaterializer materializer;
    materializer.kind = "enroot";
    materializer.check = [](const std::filesystem::path& path, const struct stat& st) {
        if (!S_ISREG(st.st_mode))
            throw Error(ErrorKind::config,
                        "container image " + path.string() +
                            ": enroot creates containers from a squashfs file (.sqsh); this is "
                            "not a file (a directory or tarball runs with charliecloud)");
    };
    materializer.materialize = [&enroot](const std::filesystem::path& path,
                                         const std::filesystem::path& into) {
        // The staging directory's name is KEY.unpacking and becomes KEY: the container is
        // named after the key now, so `enroot start` finds it under the renamed directory.
        const std::string name = "hpsweep-" + into.stem().string();
        if (!is_enroot_container_name(name))
            throw Error(ErrorKind::internal, "bad enroot container name " + name);
        // ENROOT_DATA_PATH is the entry: the rootfs lands inside it (enroot create fixes its
        // permissions, so removing the entry removes the container).
        const auto result = run_process({"env", "ENROOT_DATA_PATH=" + into.string(),
                                         enroot.string(), "create", "--name", name, path.string()});
        if (!result.ok())
            throw Error(ErrorKind::io, "enroot create of image " + path.string() + " into " +
                                           into.string() + " failed (exit " +
                                           std::to_string(result.exit_code) + "): " + result.err);
    };
    return acquire_cached_image(source, materializer, options);
}

}  // namespace hpsweep::launcher
