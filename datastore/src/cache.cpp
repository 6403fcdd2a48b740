#include "hpsweep/datastore/cache.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <unordered_map>

#include "fsutil.hpp"
#include "hpsweep/datastore/metadata.hpp"
#include "hpsweep/datastore/safe_fs.hpp"
#include "hpsweep/datastore/user_reader.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/users.hpp"
#include "hpsweep/write_all.hpp"
#include "json_fields.hpp"

namespace hpsweep::datastore {

using detail::open_at;
using detail::open_dir_at;
using detail::try_open_at;

namespace {

// Thrown inside a fill when the cache's disk is full: the caller falls back to the store.
struct CacheFull {
    std::string why;
};

// Why a directory cannot be trusted as `owner`'s area, or "" when it can.
std::string distrust(const std::filesystem::path& dir, uid_t owner) {
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
        return "cannot inspect " + dir.string() + ": " + std::strerror(errno);
    }
    if (!S_ISDIR(st.st_mode)) {
        return dir.string() + " is not a directory";
    }
    if (st.st_uid != owner) {
        return dir.string() + " is owned by " + user_name(st.st_uid) + ", not by " +
               user_name(owner);
    }
    if ((st.st_mode & 022) != 0) {
        return dir.string() + " is writable by other users";
    }
    return {};
}

struct Area {
    std::filesystem::path dir;
    uid_t owner = 0;
    bool owned_by_me = false;
    UniqueFd entries;
    UniqueFd meta;
    UniqueFd locks;
    UniqueFd tmp;
    UniqueFd trash;
};

std::filesystem::path area_dir(const CacheConfig& cache, uid_t owner) {
    return cache.dir / ("uid-" + std::to_string(owner));
}

// Opens the caller's own area, creating it; on failure returns nullopt with the reason.
std::optional<Area> open_own_area(const CacheConfig& cache, std::string& why) {
    const uid_t me = ::geteuid();
    try {
        struct stat st {};
        if (::lstat(cache.dir.c_str(), &st) != 0) {
            std::error_code ec;
            std::filesystem::create_directories(cache.dir.parent_path(), ec);
            detail::ensure_dir(cache.dir, 01777);
            if (::lstat(cache.dir.c_str(), &st) != 0) {
                throw_errno("cannot inspect " + cache.dir.string());
            }
        }
        if (!S_ISDIR(st.st_mode)) {
            why = cache.dir.string() + " is not a directory";
            return std::nullopt;
        }
        if (me == 0 && st.st_uid != 0) {
            why = "cache directory " + cache.dir.string() + " is not owned by root";
            return std::nullopt;
        }
        if ((st.st_mode & 002) != 0 && (st.st_mode & S_ISVTX) == 0) {
            why = "cache directory " + cache.dir.string() +
                  " is world-writable without the sticky bit";
            return std::nullopt;
        }
        Area area;
        area.dir = area_dir(cache, me);
        area.owner = me;
        area.owned_by_me = true;
        if (::mkdir(area.dir.c_str(), 0755) == 0) {
            ::chmod(area.dir.c_str(), 0755);
        } else if (errno != EEXIST) {
            why = "cannot create cache area " + area.dir.string() + ": " + std::strerror(errno);
            return std::nullopt;
        }
        why = distrust(area.dir, me);
        if (!why.empty()) {
            return std::nullopt;
        }
        const auto area_fd = detail::open_dir(area.dir);
        auto sub = [&](const char* name, mode_t mode) {
            if (::mkdirat(area_fd.get(), name, mode) == 0 &&
                ::fchmodat(area_fd.get(), name, mode, 0) != 0) {  // whatever the umask
                throw_errno("cannot set the mode of " + (area.dir / name).string());
            }
            return open_dir_at(area_fd.get(), name, (area.dir / name).string());
        };
        area.entries = sub("entries", 0755);
        area.meta = sub("meta", 0755);
        area.locks = sub("locks", 0755);
        area.tmp = sub("tmp", 0700);
        area.trash = sub("trash", 0700);
        return area;
    } catch (const Error& e) {
        why = e.what();
        return std::nullopt;
    }
}

// Root's area as seen by a user: used read-only, only when it is root's and nobody else
// can write to it.
std::optional<Area> open_root_area(const CacheConfig& cache) {
    Area area;
    area.dir = area_dir(cache, 0);
    area.owner = 0;
    if (!distrust(area.dir, 0).empty()) {
        return std::nullopt;
    }
    for (const char* name : {"entries", "meta", "locks"}) {
        if (!distrust(area.dir / name, 0).empty()) {
            return std::nullopt;
        }
    }
    try {
        area.entries = detail::open_dir(area.dir / "entries");
        area.meta = detail::open_dir(area.dir / "meta");
        area.locks = detail::open_dir(area.dir / "locks");
    } catch (const Error&) {
        return std::nullopt;
    }
    return area;
}

enum class LockWait { block, try_once, timed };

// An open-file-description lock on the whole file: shared (F_RDLCK) or exclusive
// (F_WRLCK). Unlike flock(2), an exclusive one needs a descriptor open for writing, so a
// user who can only open root's lock files read-only can never hold one against others.
int ofd_lock(int fd, bool exclusive, bool wait) {
    struct flock lock {};
    lock.l_type = exclusive ? F_WRLCK : F_RDLCK;
    lock.l_whence = SEEK_SET;
    return ::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &lock);
}

// Whether someone holds a lock on the file (our own descriptor `fd` holds none).
bool ofd_locked(int fd) {
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    return ::fcntl(fd, F_OFD_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
}

// Opens and locks AREA/locks/NAME (exclusive: `exclusive`). Lock files may be unlinked by an
// evictor that holds them exclusively, so after locking we check the name still refers to
// the locked inode. Returns an empty fd when the file cannot be opened or the lock was not
// obtained (errno EWOULDBLOCK then).
UniqueFd lock_file(int locks_fd, const std::string& name, int open_flags, bool exclusive,
                   LockWait wait, std::chrono::milliseconds timeout = {}) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const mode_t mode = name.ends_with(".fill") ? 0600 : 0644;
    for (;;) {
        UniqueFd fd = try_open_at(locks_fd, name, open_flags | O_NOFOLLOW | O_NONBLOCK, mode);
        if (!fd) {
            return fd;
        }
        struct stat held {};
        if (::fstat(fd.get(), &held) != 0 || !S_ISREG(held.st_mode)) {
            errno = EINVAL;
            return {};
        }
        int r = 0;
        if (wait == LockWait::block) {
            while ((r = ofd_lock(fd.get(), exclusive, true)) != 0 && errno == EINTR) {
            }
        } else {
            auto pause = std::chrono::microseconds(200);
            while ((r = ofd_lock(fd.get(), exclusive, false)) != 0 &&
                   (errno == EAGAIN || errno == EACCES) && wait == LockWait::timed &&
                   std::chrono::steady_clock::now() < deadline) {
                std::this_thread::sleep_for(pause);
                pause = std::min(pause * 2, std::chrono::microseconds(50000));
            }
        }
        if (r != 0) {
            errno = EWOULDBLOCK;
            return {};
        }
        struct stat named {};
        if (::fstatat(locks_fd, name.c_str(), &named, AT_SYMLINK_NOFOLLOW) == 0 &&
            held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
            if ((open_flags & O_CREAT) != 0) {
                ::fchmod(fd.get(), mode);
            }
            return fd;
        }
    }
}

struct EntryMeta {
    std::string name;
    int version = 0;
    std::uint64_t bytes = 0;
    std::string boot;
};

std::optional<EntryMeta> read_meta(const Area& area, const std::string& key) {
    UniqueFd fd = try_open_at(area.meta.get(), key + ".json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return std::nullopt;
    }
    try {
        const auto j = nlohmann::json::parse(detail::read_capped(fd.get(), 4096, key));
        const int version =
            j.contains("version") ? detail::integer_field<int>(j, "version", key) : 0;
        return EntryMeta{j.value("name", ""), version,
                         detail::integer_field<std::uint64_t>(j, "bytes", key),
                         j.at("boot_id").get<std::string>()};
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    } catch (const Error&) {
        return std::nullopt;
    }
}

// A published entry: its directory exists, its metadata was written in this boot (a copy
// filled before a crash may have lost pages that were never written back), and its top
// directory belongs to whom it should.
bool published(const Area& area, const std::string& key, uid_t expected_top_owner) {
    struct stat st {};
    if (::fstatat(area.entries.get(), key.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(st.st_mode)) {
        return false;
    }
    if (st.st_uid != expected_top_owner && st.st_uid != area.owner) {
        return false;
    }
    const auto meta = read_meta(area, key);
    return meta && meta->boot == detail::boot_id();
}

// Our own read-only top directory must be writable to be moved into trash/ (a rename to
// a new parent rewrites its ".."). Root needs nothing; another owner's is left alone.
void unlock_top(const Area& area, const std::string& key) {
    struct stat st {};
    if (::geteuid() != 0 &&
        ::fstatat(area.entries.get(), key.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(st.st_mode) && st.st_uid == ::geteuid() &&
        ::fchmodat(area.entries.get(), key.c_str(), 0755, 0) != 0) {
        // Best effort: the removal that follows reports what it cannot do.
    }
}

// Evicts one entry unless a job uses it or a filler is working on it. `hold_fill`: the
// caller already holds KEY.fill. Returns the bytes freed, or nullopt when it was busy.
std::optional<std::uint64_t> evict(const Area& area, const std::string& key, bool hold_fill) {
    UniqueFd fill;
    if (!hold_fill) {
        fill =
            lock_file(area.locks.get(), key + ".fill", O_RDWR | O_CREAT, true, LockWait::try_once);
        if (!fill) {
            return std::nullopt;
        }
    }
    UniqueFd use =
        lock_file(area.locks.get(), key + ".use", O_RDWR | O_CREAT, true, LockWait::try_once);
    if (!use) {
        return std::nullopt;
    }
    const auto meta = read_meta(area, key);
    const std::string doomed = key + "." + detail::random_token();
    unlock_top(area, key);
    const bool moved =
        ::renameat(area.entries.get(), key.c_str(), area.trash.get(), doomed.c_str()) == 0;
    ::unlinkat(area.meta.get(), (key + ".json").c_str(), 0);
    ::unlinkat(area.locks.get(), (key + ".use").c_str(), 0);
    if (!hold_fill) {
        ::unlinkat(area.locks.get(), (key + ".fill").c_str(), 0);
    }
    use.reset();
    fill.reset();
    if (moved) {
        detail::remove_tree_at(area.trash.get(), doomed);
    }
    return meta ? meta->bytes : 0;
}

struct Usage {
    std::string key;
    std::uint64_t bytes = 0;
    std::int64_t last_used = 0;
};

std::vector<Usage> area_usage(const Area& area) {
    std::vector<Usage> out;
    for (const auto& file : detail::list_dir(area.meta.get())) {
        if (!file.ends_with(".json")) {
            continue;
        }
        const std::string key = file.substr(0, file.size() - 5);
        const auto meta = read_meta(area, key);
        if (!meta) {
            continue;
        }
        struct stat st {};
        std::int64_t last = 0;
        if (::fstatat(area.locks.get(), (key + ".use").c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
            last = st.st_mtime;
        }
        out.push_back({key, meta->bytes, last});
    }
    return out;
}

// Evicts least-recently-used entries not in use until `need` more bytes fit under
// cache_max. Returns false when that is impossible.
bool make_room(const Area& area, const CacheConfig& cache, const std::string& keep,
               std::uint64_t need, std::uint64_t& in_use_bytes, std::uint64_t& used_after) {
    used_after = 0;
    if (cache.max_bytes == 0) {
        return true;
    }
    auto entries = area_usage(area);
    std::uint64_t used = 0;
    for (const auto& e : entries) {
        used += e.bytes;
    }
    std::sort(entries.begin(), entries.end(),
              [](const Usage& a, const Usage& b) { return a.last_used < b.last_used; });
    in_use_bytes = 0;
    for (const auto& e : entries) {
        if (used + need <= cache.max_bytes) {
            break;
        }
        if (e.key == keep) {
            continue;
        }
        if (const auto freed = evict(area, e.key, false)) {
            used -= std::min(used, e.bytes);
        } else {
            in_use_bytes += e.bytes;
        }
    }
    used_after = used;
    return used + need <= cache.max_bytes;
}

std::uint64_t disk_footprint(const Manifest& m) {
    std::uint64_t total = 0;
    for (const auto& e : m.entries) {
        total += e.type == EntryType::file ? (e.size + 4095) / 4096 * 4096 : 4096;
    }
    return total;
}

// Who may open an entry, decided from the fstat of what the job user's own read of the
// store opened (dataset directory, version directory, manifest):
//   pub       everyone could read it: a root-owned 0555 top directory
//   gGID      the members of group GID could (and the job's user is one): root:GID 0550
//   uUID      otherwise: only the job's user, UID:root 0500
struct Visibility {
    std::string label;
    uid_t top_owner = 0;
    gid_t top_group = 0;
    mode_t top_mode = 0555;
};

Visibility visibility_of(const detail::OpenedVersion& v, bool private_dataset,
                         const Credentials& who) {
    const struct stat* chain[] = {&v.dataset_st, &v.version_st, &v.manifest_st};
    bool everyone = !private_dataset;
    bool group = !private_dataset && who.in_group(v.dataset_st.st_gid);
    for (const struct stat* st : chain) {
        const mode_t need_other = S_ISDIR(st->st_mode) ? 005 : 004;
        everyone = everyone && (st->st_mode & need_other) == need_other;
        group = group && st->st_gid == v.dataset_st.st_gid &&
                (st->st_mode & (need_other << 3)) == (need_other << 3);
    }
    if (everyone) {
        return {"pub", 0, 0, 0555};
    }
    if (group) {
        return {"g" + std::to_string(v.dataset_st.st_gid), 0, v.dataset_st.st_gid, 0550};
    }
    return {"u" + std::to_string(who.uid), who.uid, 0, 0500};
}

// The cache key: [0-9a-f]{64}-o<owner uid>-<visibility>. The SHA-256 of the manifest's bytes
// names the content (the manifest is parsed only to fill, which keeps a warm stage cheap); the
// owner of the dataset directory is part of the key because object digests (XXH3-128) are
// not collision-resistant against the person who writes the objects: only that owner's
// datasets can ever fill or share an entry keyed with their uid (docs/security.md).
std::string cache_key(std::string_view manifest_text, const detail::OpenedVersion& v,
                      const Visibility& visibility) {
    return sha256_hex(manifest_text) + "-o" + std::to_string(v.dataset_st.st_uid) + "-" +
           visibility.label;
}

// ---- filling -----------------------------------------------------------------------

// The fill's read-hash-write buffer, one per worker, reused for every file. Page-aligned; big
// enough that a large file costs few syscalls, small enough to stay in the CPU's L2 cache
// between the read, the hash and the write (StageOptions::buffer_bytes).
class CopyBuffer {
public:
    static constexpr std::size_t default_bytes = 256u << 10;
    explicit CopyBuffer(std::size_t bytes)
        : size_(bytes == 0 ? default_bytes : (bytes + 4095) / 4096 * 4096),
          data_(static_cast<char*>(std::aligned_alloc(4096, size_))) {
        if (!data_) {
            throw std::bad_alloc();
        }
    }
    char* data() const noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }

private:
    struct Free {
        void operator()(char* p) const noexcept { std::free(p); }
    };
    std::size_t size_;
    std::unique_ptr<char, Free> data_;
};

// Files at least this large get POSIX_FADV_SEQUENTIAL (a bigger readahead window on a cold
// store); for small files the extra syscall costs more than it could save.
constexpr std::uint64_t sequential_hint_bytes = 4u << 20;

struct Fill {
    const Manifest& manifest;
    const ResolvedVersion& version;
    const Credentials& who;
    const StageOptions& options;
    int target_fd;  // the temporary directory being filled
    bool as_root;
    int objects_fd;           // the store's objects/, opened by the job user's read
    Visibility visibility;    // who may open the sealed copy
    std::uint64_t allowance;  // bytes this fill may write under cache_max (0: no limit)

    std::atomic<std::uint64_t> bytes_written{0};

    std::atomic<std::uint64_t> bytes_read{0};
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mutex{};
    std::exception_ptr error{};
    std::optional<CacheFull> full{};

    void fail(std::exception_ptr e) {
        std::lock_guard lock(mutex);
        if (!error && !full) {
            error = std::move(e);
        }
        failed = true;
    }

    void write_out(int fd, const char* data, std::size_t size, const std::string& path) {
        // cache_max holds for what is written, whatever sizes the manifest declared.
        if (allowance != 0 && bytes_written.fetch_add(size) + size > allowance) {
            throw CacheFull{"the copy grew past what cache_max leaves room for (" +
                            std::to_string(allowance) + " bytes) writing " + path};
        }
        if (const int write_error = write_fully(fd, {data, size}); write_error != 0) {
            if (write_error == ENOSPC || write_error == EDQUOT) {
                throw CacheFull{std::string("no space left in the cache writing ") + path};
            }
            errno = write_error;
            throw_errno("cannot write " + path + " in the cache");
        }
    }

    void copy_one(const ManifestEntry& e, int prefix_fd, CopyBuffer& buffer, unsigned umask_bits) {
        const std::string object = object_name(e);
        // Only for messages: built when something goes wrong, not for each of 50,000 files.
        const auto shown = [&] {
            return "object " + object + " ('" + e.path + "' of " + version.name + ":" +
                   std::to_string(version.version) + ")";
        };
        // O_NONBLOCK: the store is its owner's to change, and an object swapped for a FIFO
        // would block this open forever (as root, in slurmstepd: a job that cannot be
        // killed cleanly, a node that drains). Regular files ignore the flag.
        // Root opens the object with the job user's credentials, so the kernel decides
        // whether that user may read it, whatever a dataset owner swapped into the store.
        std::optional<detail::ThreadFsIdentity> as_user;
        if (as_root) {
            as_user.emplace(who);
        }
        UniqueFd in = try_open_at(prefix_fd, object, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
        as_user.reset();  // keeps errno: the checks below read the open's
        if (!in) {
            if (errno == ENOENT || errno == ELOOP) {
                throw Error(ErrorKind::data, shown() + " is missing from the store");
            }
            if (errno == EACCES) {
                throw Error(ErrorKind::state, "permission denied: " + shown());
            }
            throw_errno("cannot read " + shown());
        }
        struct stat st {};
        if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
            throw Error(ErrorKind::data, shown() + " is not a regular file");
        }
        const unsigned mode = as_root ? materialized_file_mode(e.mode)
                                      : (materialized_file_mode(e.mode) & ~umask_bits) | 0400;
        UniqueFd out =
            try_open_at(target_fd, e.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
        if (!out) {
            if (errno == ENOSPC || errno == EDQUOT) {
                throw CacheFull{"no space left in the cache creating " + e.path};
            }
            throw_errno("cannot create " + e.path + " in the cache");
        }
        // One pass: each buffer-full is read once, hashed while it is hot in the CPU cache,
        // and written. Objects are immutable, so a size other than the manifest's is already
        // corruption; with the right size we read exactly e.size bytes, which for a small
        // file is a single read() with no extra read to find the end. Bytes appended behind
        // our back are not copied, so what is hashed is exactly what is published.
        const bool size_as_expected = static_cast<std::uint64_t>(st.st_size) == e.size;
        if (size_as_expected && e.size >= sequential_hint_bytes) {
            ::posix_fadvise(in.get(), 0, 0, POSIX_FADV_SEQUENTIAL);  // larger readahead
        }
        // One byte past the declared size is enough to tell the object is wrong: never copy
        // more than that of a file its owner may have grown.
        const std::uint64_t limit = size_as_expected ? e.size : e.size + 1;
        Hasher hasher;
        std::uint64_t total = 0;
        while (total < limit) {
            const std::size_t want =
                static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), limit - total));
            std::size_t got = 0;
            while (got < want) {
                const ssize_t n = ::read(in.get(), buffer.data() + got, want - got);
                if (n < 0 && errno == EINTR) {
                    continue;
                }
                if (n < 0) {
                    throw_errno("cannot read " + shown());
                }
                if (n == 0) {
                    break;
                }
                got += static_cast<std::size_t>(n);
            }
            if (got == 0) {
                break;
            }
            hasher.update(buffer.data(), got);
            write_out(out.get(), buffer.data(), got, e.path);
            total += got;
            if (got < want) {
                break;
            }
        }
        bytes_read += total;
        const Digest digest = hasher.finish();
        if (total != e.size || !(digest == e.hash)) {
            throw Error(ErrorKind::data,
                        "integrity check failed: " + shown() + " has " + std::to_string(total) +
                            " bytes with XXH3-128 " + digest.hex() + ", the manifest says " +
                            std::to_string(e.size) + " bytes with " + e.hash.hex() +
                            "; the copy on the shared store is corrupt");
        }
        if (as_root && (mode & umask_bits) != 0) {  // root's umask must not hide files from users
            ::fchmod(out.get(), mode);
        }
    }

    void run() {
        const unsigned umask_bits = current_umask();
        // Directories first (parents before children, the manifest is sorted by path).
        for (const auto& e : manifest.entries) {
            if (e.type == EntryType::directory && ::mkdirat(target_fd, e.path.c_str(), 0700) != 0) {
                if (errno == ENOSPC || errno == EDQUOT) {
                    throw CacheFull{"no space left in the cache creating " + e.path};
                }
                throw_errno("cannot create " + e.path + " in the cache");
            }
        }
        // Object directories, opened once without following links, as the job's user.
        std::optional<detail::ThreadFsIdentity> as_user;
        if (as_root) {
            as_user.emplace(who);
        }
        std::unordered_map<std::string, UniqueFd> prefixes;
        std::vector<std::pair<const ManifestEntry*, int>> files;
        for (const auto& e : manifest.entries) {
            if (e.type != EntryType::file) {
                continue;
            }
            const std::string prefix = e.hash.hex().substr(0, 2);
            auto it = prefixes.find(prefix);
            if (it == prefixes.end()) {
                UniqueFd fd = detail::open_beneath(objects_fd, prefix, O_RDONLY | O_DIRECTORY);
                if (!fd) {
                    throw Error(ErrorKind::data, "object directory " + prefix + " of " +
                                                     version.name + " is missing from the store");
                }
                it = prefixes.emplace(prefix, std::move(fd)).first;
            }
            files.emplace_back(&e, it->second.get());
        }
        as_user.reset();  // the copy writes root's cache: back to root's own identity
        unsigned threads = options.threads;
        if (threads == 0) {
            const char* env = std::getenv("HPSWEEP_STAGE_THREADS");
            threads = env != nullptr ? static_cast<unsigned>(std::atoi(env)) : 8;
        }
        threads = std::clamp(threads, 1u, 64u);
        threads = static_cast<unsigned>(
            std::min<std::size_t>(threads, std::max<std::size_t>(files.size(), 1)));
        const std::uint64_t total_bytes = manifest.total_bytes();
        auto worker = [&] {
            CopyBuffer buffer(options.buffer_bytes);
            std::size_t since_report = 0;
            while (!failed) {
                const std::size_t i = next.fetch_add(1);
                if (i >= files.size()) {
                    break;
                }
                try {
                    copy_one(*files[i].first, files[i].second, buffer, umask_bits);
                } catch (const CacheFull& f) {
                    std::lock_guard lock(mutex);
                    if (!full) {
                        full = f;
                    }
                    failed = true;
                } catch (...) {
                    fail(std::current_exception());
                }
                if (options.progress &&
                    (++since_report >= 64 || files[i].first->size > (1u << 20))) {
                    since_report = 0;
                    std::lock_guard lock(mutex);
                    options.progress(bytes_read.load(), total_bytes);
                }
            }
        };
        {
            std::vector<std::jthread> pool;
            for (unsigned t = 1; t < threads; ++t) {
                pool.emplace_back(worker);
            }
            worker();
        }
        if (full) {
            throw *full;
        }
        if (error) {
            std::rethrow_exception(error);
        }
        if (options.progress) {
            options.progress(bytes_read.load(), total_bytes);
        }
        for (const auto& e : manifest.entries) {
            if (e.type == EntryType::symlink &&
                ::symlinkat(e.target.c_str(), target_fd, e.path.c_str()) != 0) {
                throw_errno("cannot create symlink " + e.path + " in the cache");
            }
        }
        for (auto it = manifest.entries.rbegin(); it != manifest.entries.rend(); ++it) {
            // Read-only to everyone, so no job can change what the next one stages.
            if (it->type == EntryType::directory &&
                ::fchmodat(target_fd, it->path.c_str(), 0555, 0) != 0) {
                throw_errno("cannot make " + it->path + " read-only in the cache");
            }
        }
    }

    // After the rename into entries/ (moving a directory needs write permission on it):
    // the top directory decides who may open the copy: everyone for a public dataset;
    // for a private one its owner (and group, when the store grants the group).
    void seal_top() const {
        if (as_root) {
            if (::fchown(target_fd, visibility.top_owner, visibility.top_group) != 0) {
                throw_errno("cannot hand the cached copy to its readers");
            }
            if (::fchmod(target_fd, visibility.top_mode) != 0) {
                throw_errno("cannot seal the cached copy");
            }
        } else {
            ::fchmod(target_fd, 0555);
        }
    }
};

// Root's log names content hashes only, and only root reads it.
void append_fill_log(const Area& area, const std::string& key, std::uint64_t bytes) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    const std::string line =
        detail::iso_time_now() + " " + host + " pid=" + std::to_string(::getpid()) +
        " uid=" + std::to_string(::geteuid()) + " " + key + " " + std::to_string(bytes) + "\n";
    const UniqueFd fd(::openat(area.entries.get(), "../fills.log",
                               O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
                               0600));
    struct stat st {};
    if (fd && ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid()) {
        ::fchmod(fd.get(), 0600);
        ssize_t ignored = ::write(fd.get(), line.data(), line.size());
        (void)ignored;
    }
}

StageResult fallback(const ResolvedVersion& r, std::uint64_t bytes, std::string why) {
    StageResult result;
    result.path = r.data_dir;
    result.name = r.name;
    result.version = r.version;
    result.bytes = bytes;
    result.warning = std::move(why) + "; reading " + r.name + ":" + std::to_string(r.version) +
                     " from the shared store (" + r.data_dir.string() + ") instead";
    return result;
}

// Uses a published entry if there is one: a shared lock on KEY.use, then the check.
enum class Attempt { got, absent, busy };
Attempt try_use(const Area& area, const std::string& key, uid_t top_owner,
                const StageOptions& options, StageResult& out) {
    const int flags = area.owned_by_me ? (O_RDWR | O_CREAT) : O_RDONLY;
    UniqueFd use = lock_file(area.locks.get(), key + ".use", flags, false, LockWait::timed,
                             options.lock_timeout);
    if (!use) {
        return errno == EWOULDBLOCK ? Attempt::busy : Attempt::absent;
    }
    if (!published(area, key, top_owner)) {
        return Attempt::absent;
    }
    if (area.owned_by_me) {
        ::futimens(use.get(), nullptr);  // last use, for LRU
    }
    out.path = area.dir / "entries" / key;
    out.cached = true;
    out.lease = CacheLease(std::move(use));
    return Attempt::got;
}

}  // namespace

// The rule (docs/security.md): every path this function and what it calls touch as root is
// derived only from the site configuration (store root, cache_dir) and from values checked
// against a strict grammar: the reference's name as validated, integer versions, content
// hashes ([0-9a-f]) and uids/gids the kernel reported. Nothing read from a file a user can
// write (dataset.json's name or id, a manifest's dataset field) becomes part of a path or a
// key. The store itself is opened by the job's user (user_reader.hpp): root only reads
// from descriptors the kernel let that user open.
StageResult stage(const Store& store, const CacheConfig& cache, const Ref& ref,
                  const Credentials& who, const StageOptions& options) {
    const bool as_root = ::geteuid() == 0;
    if (!as_root && who.uid != ::geteuid()) {
        throw Error(ErrorKind::state, "only root can stage a dataset on behalf of another user");
    }
    validate_dataset_name(ref.name);
    const detail::OpenedVersion opened =
        as_root ? detail::open_version_as(who, store.datasets_dir(), ref)
                : detail::open_version(store.datasets_dir(), ref);
    const std::string shown = "dataset '" + ref.name + "'";
    const DatasetFile dataset = parse_dataset_file(
        detail::read_capped(opened.dataset_file.get(), detail::dataset_file_max_bytes,
                            shown + ": dataset.json"),
        ref.name, shown + ": dataset.json");
    const std::string manifest_shown =
        "version " + std::to_string(opened.version) + " of " + shown + ": manifest.json";
    const std::string manifest_text =
        detail::read_capped(opened.manifest.get(), detail::manifest_max_bytes, manifest_shown);

    ResolvedVersion r;
    r.name = ref.name;
    r.version = opened.version;
    r.owner_uid = opened.dataset_st.st_uid;
    r.dataset_dir = store.datasets_dir() / ref.name;
    r.version_dir = r.dataset_dir / "versions" / std::to_string(r.version);
    r.data_dir = r.version_dir / "data";
    r.manifest_path = r.version_dir / "manifest.json";
    const Visibility visibility = visibility_of(opened, dataset.private_dataset, who);
    r.private_dataset = visibility.label != "pub";
    const std::string key = cache_key(manifest_text, opened, visibility);
    const uid_t top_owner = visibility.top_owner;

    StageResult result;
    result.name = r.name;
    result.version = r.version;
    if (cache.dir.empty()) {
        return fallback(r, 0, "no cache directory is configured (cache_dir, HPSWEEP_CACHE_DIR)");
    }
    // A user first looks for the copy root made (the plugin's), which they can trust.
    if (!as_root) {
        if (auto root_area = open_root_area(cache)) {
            if (try_use(*root_area, key, top_owner, options, result) == Attempt::got) {
                return result;
            }
        }
    }
    std::string why;
    auto area = open_own_area(cache, why);
    if (!area) {
        return fallback(r, 0, "cannot use the node-local cache: " + why);
    }
    const uid_t own_top_owner = as_root ? top_owner : area->owner;
    switch (try_use(*area, key, own_top_owner, options, result)) {
        case Attempt::got:
            return result;
        case Attempt::busy:
            return fallback(r, 0,
                            "the cached copy of " + ref.name + ":" + std::to_string(r.version) +
                                " stayed locked for " +
                                std::to_string(options.lock_timeout.count()) + " ms");
        case Attempt::absent:
            break;
    }

    // Fill. One filler per key per node: the others wait here and then find it published.
    UniqueFd fill_lock =
        lock_file(area->locks.get(), key + ".fill", O_RDWR | O_CREAT, true, LockWait::block);
    if (!fill_lock) {
        throw_errno("cannot lock " + (area->dir / "locks" / (key + ".fill")).string());
    }
    if (try_use(*area, key, own_top_owner, options, result) == Attempt::got) {
        return result;
    }
    // Whatever is left under this key is from a fill that died, a previous boot or a
    // tampered top directory: published() refused it, so no job was handed it. We hold
    // KEY.fill, so it can go without waiting for KEY.use.
    {
        const std::string stale = key + "." + detail::random_token();
        unlock_top(*area, key);
        if (::renameat(area->entries.get(), key.c_str(), area->trash.get(), stale.c_str()) == 0) {
            detail::remove_tree_at(area->trash.get(), stale);
        }
        ::unlinkat(area->meta.get(), (key + ".json").c_str(), 0);
    }
    for (const auto& name : detail::list_dir(area->tmp.get())) {
        if (name.starts_with(key + ".")) {
            detail::remove_tree_at(area->tmp.get(), name);
        }
    }
    const Manifest manifest = parse_manifest_text(manifest_text, manifest_shown);
    result.bytes = manifest.total_bytes();
    std::uint64_t in_use = 0;
    std::uint64_t used = 0;
    const std::uint64_t need = disk_footprint(manifest);
    if (!make_room(*area, cache, key, need, in_use, used)) {
        return fallback(r, result.bytes,
                        "warning: the node-local cache " + cache.dir.string() + " cannot hold " +
                            std::to_string(need) +
                            " more bytes under cache_max=" + std::to_string(cache.max_bytes) +
                            " (" + std::to_string(in_use) + " bytes are in use by running jobs)");
    }
    const std::uint64_t allowance = cache.max_bytes == 0 ? 0 : cache.max_bytes - used;
    const std::string temp = key + "." + detail::random_token();
    if (::mkdirat(area->tmp.get(), temp.c_str(), 0700) != 0) {
        return fallback(r, result.bytes,
                        "warning: cannot create a directory in " + (area->dir / "tmp").string() +
                            ": " + std::strerror(errno));
    }
    std::uint64_t bytes_read = 0;
    try {
        const UniqueFd target = open_dir_at(area->tmp.get(), temp, temp);
        Fill fill{
            manifest,   r,        who, options, target.get(), as_root, opened.objects_dir.get(),
            visibility, allowance};
        try {
            fill.run();
        } catch (...) {
            bytes_read = fill.bytes_read;
            throw;
        }
        bytes_read = fill.bytes_read;
        // Names only what anyone may know: a public dataset's name, else nothing.
        nlohmann::json meta = {{"bytes", need},
                               {"files", manifest.file_count()},
                               {"boot_id", detail::boot_id()},
                               {"filled", detail::iso_time_now()}};
        if (visibility.label == "pub") {
            meta["name"] = r.name;
            meta["version"] = r.version;
        }
        const std::string text = meta.dump() + "\n";
        {
            UniqueFd out =
                open_at(area->meta.get(), key + ".json.tmp",
                        O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, "cache metadata", 0644);
            write_all(out.get(), text, "cache metadata");
        }
        if (::renameat(area->meta.get(), (key + ".json.tmp").c_str(), area->meta.get(),
                       (key + ".json").c_str()) != 0 ||
            ::renameat(area->tmp.get(), temp.c_str(), area->entries.get(), key.c_str()) != 0) {
            throw_errno("cannot publish " + key + " in " + area->dir.string());
        }
        fill.seal_top();
    } catch (const CacheFull& full) {
        detail::remove_tree_at(area->tmp.get(), temp);
        auto out = fallback(r, result.bytes, "warning: " + full.why);
        out.bytes_read_from_store = bytes_read;
        return out;
    } catch (...) {
        detail::remove_tree_at(area->tmp.get(), temp);
        throw;
    }
    append_fill_log(*area, key, result.bytes);
    if (try_use(*area, key, own_top_owner, options, result) != Attempt::got) {
        throw Error(ErrorKind::internal,
                    "the copy of " + key + " vanished right after it was filled");
    }
    result.filled = true;
    result.bytes_read_from_store = bytes_read;
    return result;
}

std::vector<CacheEntryInfo> cache_entries(const CacheConfig& cache, uid_t owner) {
    std::vector<CacheEntryInfo> out;
    Area area;
    area.dir = area_dir(cache, owner);
    area.owner = owner;
    try {
        area.meta = detail::open_dir(area.dir / "meta");
        area.locks = detail::open_dir(area.dir / "locks");
    } catch (const Error&) {
        return out;
    }
    for (const auto& u : area_usage(area)) {
        const auto meta = read_meta(area, u.key);
        CacheEntryInfo info;
        info.key = u.key;
        info.name = meta ? meta->name : "";
        info.version = meta ? meta->version : 0;
        info.bytes = u.bytes;
        info.path = area.dir / "entries" / u.key;
        info.last_used = u.last_used;
        UniqueFd probe = try_open_at(area.locks.get(), u.key + ".use", O_RDONLY | O_NOFOLLOW);
        info.in_use = probe && ofd_locked(probe.get());
        out.push_back(std::move(info));
    }
    return out;
}

CacheGcResult cache_gc(const CacheConfig& cache, bool evict_all) {
    CacheGcResult result;
    std::string why;
    auto area = open_own_area(cache, why);
    if (!area) {
        throw Error(ErrorKind::io, "cannot use the node-local cache: " + why);
    }
    for (const auto& name : detail::list_dir(area->trash.get())) {
        detail::remove_tree_at(area->trash.get(), name);
        ++result.temporaries_removed;
    }
    for (const auto& name : detail::list_dir(area->tmp.get())) {
        const auto dot = name.rfind('.');
        const std::string key = name.substr(0, dot);
        // A fill in progress holds KEY.fill; anything else in tmp/ is abandoned.
        UniqueFd fill =
            lock_file(area->locks.get(), key + ".fill", O_RDWR | O_CREAT, true, LockWait::try_once);
        if (fill) {
            detail::remove_tree_at(area->tmp.get(), name);
            ++result.temporaries_removed;
        }
    }
    auto entries = area_usage(*area);
    std::sort(entries.begin(), entries.end(),
              [](const Usage& a, const Usage& b) { return a.last_used < b.last_used; });
    std::uint64_t used = 0;
    for (const auto& e : entries) {
        used += e.bytes;
    }
    for (const auto& e : entries) {
        if (!evict_all && (cache.max_bytes == 0 || used <= cache.max_bytes)) {
            break;
        }
        if (const auto freed = evict(*area, e.key, false)) {
            ++result.entries_evicted;
            result.bytes_freed += e.bytes;
            used -= std::min(used, e.bytes);
        }
    }
    return result;
}

}  // namespace hpsweep::datastore
