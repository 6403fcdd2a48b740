#include "topology_cache.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "hpsweep/datastore/hash.hpp"
#include "hpsweep/datastore/safe_fs.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::plugin {
namespace {

using datastore::detail::open_beneath;

std::string read_kernel_file(const std::filesystem::path& file) {
    try {
        return std::string(trim(read_file(file)));
    } catch (const Error&) {
        return "";
    }
}

// Sorted entry names of a kernel directory ("" when it does not exist).
std::string entry_names(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        names.push_back(it->path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return join(names, ",");
}

bool is_trusted_ancestor(const struct stat& st) {
    return S_ISDIR(st.st_mode) && st.st_uid == 0 &&
           ((st.st_mode & 022) == 0 || (st.st_mode & S_ISVTX) != 0);
}

bool is_trusted_cache_dir(const struct stat& st) {
    return S_ISDIR(st.st_mode) && st.st_uid == 0 && (st.st_mode & 022) == 0;
}

// cache_dir, opened from "/" one component at a time without following links; every
// directory on the way must pass is_trusted_ancestor. Empty fd and `why` otherwise.
UniqueFd open_trusted_path(const std::filesystem::path& dir, std::string& why) {
    if (!dir.is_absolute()) {
        why = "cache_dir " + dir.string() + " is not an absolute path";
        return {};
    }
    UniqueFd current(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    std::filesystem::path shown = "/";
    for (const auto& part : dir.relative_path()) {
        if (part.empty() || part == ".")
            continue;
        struct stat st {};
        if (!current || ::fstat(current.get(), &st) != 0 || !is_trusted_ancestor(st)) {
            why = shown.string() + " is not a directory of root's that only root can change";
            return {};
        }
        shown /= part;
        UniqueFd next = open_beneath(current.get(), part.string(), O_RDONLY | O_DIRECTORY);
        if (!next) {
            why = "cannot open " + shown.string() +
                  " without following links: " + std::strerror(errno);
            return {};
        }
        current = std::move(next);
    }
    struct stat st {};
    if (::fstat(current.get(), &st) != 0 || !is_trusted_ancestor(st)) {
        why = shown.string() + " is not a directory of root's that only root can change";
        return {};
    }
    return current;
}

// <cache_dir>/topology, created 0755 when missing; must be root's and writable only by root.
UniqueFd open_cache_dir(const std::filesystem::path& cache_dir, std::string& why) {
    const UniqueFd parent = open_trusted_path(cache_dir, why);
    if (!parent)
        return {};
    const std::string shown = (cache_dir / topology_cache_subdir).string();
    if (::mkdirat(parent.get(), topology_cache_subdir, 0755) != 0 && errno != EEXIST) {
        why = "cannot create " + shown + ": " + std::strerror(errno);
        return {};
    }
    UniqueFd dir = open_beneath(parent.get(), topology_cache_subdir, O_RDONLY | O_DIRECTORY);
    struct stat st {};
    if (!dir) {
        why = "cannot open " + shown +
              " as a directory without following links: " + std::strerror(errno);
        return {};
    }
    if (::fstat(dir.get(), &st) != 0 || !is_trusted_cache_dir(st)) {
        char mode[16];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        why = shown + " is not a directory of root's that only root can write (owner uid " +
              std::to_string(st.st_uid) + ", mode " + mode + ")";
        return {};
    }
    return dir;
}

// The export named `file` in the cache, or nullopt when there is none (`why` empty) or it
// cannot be trusted (`why` says what is wrong).
std::optional<std::string> read_export(int dirfd, const std::string& file, const std::string& shown,
                                       std::string& why) {
    const UniqueFd fd = open_beneath(dirfd, file, O_RDONLY);
    if (!fd) {
        if (errno != ENOENT)
            why = "cannot open " + shown + " without following links: " + std::strerror(errno);
        return std::nullopt;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || st.st_nlink != 1 ||
        (st.st_mode & 022) != 0 ||
        static_cast<std::uintmax_t>(st.st_size) > topology_export_max_bytes) {
        why = shown +
              " is not a regular file of root's with one link, only root can write "
              "and at most " +
              std::to_string(topology_export_max_bytes) + " bytes";
        return std::nullopt;
    }
    try {
        return datastore::detail::read_capped(fd.get(), topology_export_max_bytes, shown);
    } catch (const Error& e) {
        why = e.what();
        return std::nullopt;
    }
}

bool write_all(int fd, const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

// Leaves only `keep` (and the lock) in the cache directory: exports of an earlier boot or
// hardware, and temporary files of a writer that died. Called with the lock held, so no
// other writer's temporary file exists.
void remove_others(int dirfd, const std::string& keep) {
    const int dup_fd = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    DIR* dir = dup_fd >= 0 ? ::fdopendir(dup_fd) : nullptr;
    if (!dir) {
        if (dup_fd >= 0)
            ::close(dup_fd);
        return;
    }
    std::vector<std::string> stale;
    while (const dirent* e = ::readdir(dir)) {
        const std::string_view name(e->d_name);
        if (name != keep && (name.ends_with(".xml") || name.starts_with("tmp.")))
            stale.emplace_back(name);
    }
    ::closedir(dir);
    for (const auto& name : stale) ::unlinkat(dirfd, name.c_str(), 0);
}

// Writes `xml` as `file` under the directory's lock: false with `why` when it could not
// (another writer holding the lock is not a failure: it writes the same export).
bool write_export(int dirfd, const std::string& file, const std::string& xml, std::string& why) {
    const UniqueFd lock = open_beneath(dirfd, "lock", O_RDWR | O_CREAT, 0600);
    struct stat st {};
    if (!lock || ::fstat(lock.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0) {
        why = "cannot open the cache's lock file";
        return false;
    }
    struct flock whole {};
    whole.l_type = F_WRLCK;
    whole.l_whence = SEEK_SET;
    if (::fcntl(lock.get(), F_OFD_SETLK, &whole) != 0)
        return errno == EAGAIN || errno == EACCES;
    static std::atomic<unsigned> counter{0};
    const std::string temp =
        "tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
    const UniqueFd out = open_beneath(dirfd, temp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (!out) {
        why = "cannot create a temporary file: " + std::string(std::strerror(errno));
        return false;
    }
    const bool written =
        ::fchmod(out.get(), 0644) == 0 && write_all(out.get(), xml) && ::fsync(out.get()) == 0;
    if (!written || ::renameat(dirfd, temp.c_str(), dirfd, file.c_str()) != 0) {
        why = "cannot write " + file + ": " + std::strerror(errno);
        ::unlinkat(dirfd, temp.c_str(), 0);
        return false;
    }
    remove_others(dirfd, file);
    return true;
}

}  // namespace

std::string topology_state_key(const std::filesystem::path& system_root) {
    const auto at = [&](const char* path) { return system_root / path; };
    const std::string boot_id = read_kernel_file(at("proc/sys/kernel/random/boot_id"));
    if (boot_id.empty())
        throw Error(ErrorKind::io, "cannot read the kernel's boot id");
    char loaded_hwloc[32];
    std::snprintf(loaded_hwloc, sizeof loaded_hwloc, "%x", hwloc_get_api_version());
    const std::vector<std::string> parts = {
        "hpsweep-topology-v1",
        std::to_string(HWLOC_API_VERSION),
        loaded_hwloc,
        boot_id,
        read_kernel_file(at("sys/devices/system/cpu/online")),
        read_kernel_file(at("sys/devices/system/cpu/possible")),
        read_kernel_file(at("sys/devices/system/node/online")),
        entry_names(at("sys/bus/pci/devices")),
        entry_names(at("sys/class/net")),
        entry_names(at("sys/class/infiniband")),
        entry_names(at("sys/class/drm")),
    };
    const std::string text = join(parts, "\n");
    return datastore::hash_bytes(text.data(), text.size()).hex();
}

NodeTopology load_node_topology(const std::filesystem::path& cache_dir,
                                const std::filesystem::path& system_root) {
    std::string why;
    UniqueFd dir;
    std::string file;
    if (cache_dir.empty()) {
        why = "no cache_dir";
    } else if (::geteuid() != 0) {
        why = "not running as root";
    } else {
        try {
            file = topology_state_key(system_root) + ".xml";
            dir = open_cache_dir(cache_dir, why);
        } catch (const std::exception& e) {
            why = e.what();
        }
    }
    const std::string shown = (cache_dir / topology_cache_subdir / file).string();
    if (dir) {
        if (auto xml = read_export(dir.get(), file, shown, why)) {
            try {
                return {launcher::Topology::load_export_of_this_system(*xml, "live (cached)"),
                        "cache hit " + shown};
            } catch (const Error& e) {
                why = e.what();
            }
        }
    }
    launcher::Topology live = launcher::Topology::load_live();
    if (!dir)
        return {std::move(live), "discovered live (cache not used: " + why + ")"};
    std::string how = "discovered live";
    if (!why.empty())
        how += " (the cached export was not used: " + why + ")";
    std::string write_why;
    try {
        if (write_export(dir.get(), file, live.export_xml(), write_why))
            how += ", cached as " + shown;
        else
            how += " (not cached: " + write_why + ")";
    } catch (const std::exception& e) {
        how += std::string(" (not cached: ") + e.what() + ")";
    }
    return {std::move(live), how};
}

}  // namespace hpsweep::plugin
