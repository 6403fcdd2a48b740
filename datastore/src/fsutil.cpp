#include "fsutil.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <random>
#include <vector>

#include "hpsweep/error.hpp"

namespace hpsweep::datastore::detail {

UniqueFd try_open_at(int dirfd, const std::string& name, int flags, mode_t mode) {
    for (;;) {
        const int fd = ::openat(dirfd, name.c_str(), flags | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EINTR) {
            return UniqueFd(fd);
        }
    }
}

UniqueFd open_at(int dirfd, const std::string& name, int flags, const std::string& shown,
                 mode_t mode) {
    UniqueFd fd = try_open_at(dirfd, name, flags, mode);
    if (!fd) {
        throw_errno("cannot open " + shown);
    }
    return fd;
}

UniqueFd open_dir(const std::filesystem::path& path) {
    return open_at(AT_FDCWD, path.string(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, path.string());
}

UniqueFd open_dir_at(int dirfd, const std::string& name, const std::string& shown) {
    return open_at(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, shown);
}

void ensure_dir(const std::filesystem::path& path, mode_t mode) {
    if (::mkdir(path.c_str(), 0700) == 0) {
        if (::chmod(path.c_str(), mode) != 0) {
            throw_errno("cannot set the mode of " + path.string());
        }
        return;
    }
    if (errno != EEXIST) {
        throw_errno("cannot create directory " + path.string());
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        throw_errno("cannot inspect " + path.string());
    }
    if (!S_ISDIR(st.st_mode)) {
        throw Error(ErrorKind::io, path.string() + " exists and is not a directory");
    }
}

namespace {

void remove_children(int dir_fd, const std::string& shown) {
    // Our own read-only trees (0555) need write permission before entries can go.
    struct stat st {};
    if (::fstat(dir_fd, &st) == 0 && st.st_uid == ::geteuid() && (st.st_mode & S_IWUSR) == 0) {
        ::fchmod(dir_fd, 0700);
    }
    const int dup_fd = ::dup(dir_fd);
    if (dup_fd < 0) {
        throw_errno("cannot read directory " + shown);
    }
    DIR* dir = ::fdopendir(dup_fd);
    if (dir == nullptr) {
        ::close(dup_fd);
        throw_errno("cannot read directory " + shown);
    }
    std::vector<std::pair<std::string, bool>> children;
    while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        if (name == "." || name == "..") {
            continue;
        }
        bool is_dir = entry->d_type == DT_DIR;
        if (entry->d_type == DT_UNKNOWN) {
            struct stat child {};
            is_dir = ::fstatat(dir_fd, name.c_str(), &child, AT_SYMLINK_NOFOLLOW) == 0 &&
                     S_ISDIR(child.st_mode);
        }
        children.emplace_back(name, is_dir);
    }
    ::closedir(dir);
    for (const auto& [name, is_dir] : children) {
        if (is_dir) {
            remove_tree_at(dir_fd, name);
        } else if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
            throw_errno("cannot remove " + shown + "/" + name);
        }
    }
}

}  // namespace

void remove_tree_at(int parent_fd, const std::string& name) {
    if (::unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) {
        return;
    }
    if (errno == ENOTDIR) {
        if (::unlinkat(parent_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
            throw_errno("cannot remove " + name);
        }
        return;
    }
    UniqueFd fd = try_open_at(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!fd) {
        if (errno == ENOENT) {
            return;
        }
        if (errno == ENOTDIR || errno == ELOOP) {
            ::unlinkat(parent_fd, name.c_str(), 0);
            return;
        }
        throw_errno("cannot open " + name + " for removal");
    }
    remove_children(fd.get(), name);
    fd.reset();
    if (::unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
        throw_errno("cannot remove directory " + name);
    }
}

void remove_tree(const std::filesystem::path& path) {
    const auto parent = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    UniqueFd parent_fd = try_open_at(AT_FDCWD, parent.string(), O_RDONLY | O_DIRECTORY);
    if (!parent_fd) {
        if (errno == ENOENT) {
            return;
        }
        throw_errno("cannot open " + parent.string());
    }
    remove_tree_at(parent_fd.get(), path.filename().string());
}

std::vector<std::string> list_dir(int dir_fd) {
    std::vector<std::string> names;
    const int dup_fd = ::dup(dir_fd);
    DIR* dir = dup_fd >= 0 ? ::fdopendir(dup_fd) : nullptr;
    if (dir == nullptr) {
        if (dup_fd >= 0) {
            ::close(dup_fd);
        }
        return names;
    }
    ::rewinddir(dir);
    while (const dirent* e = ::readdir(dir)) {
        const std::string name = e->d_name;
        if (name != "." && name != "..") {
            names.push_back(name);
        }
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
}

std::string random_token(std::size_t length) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string out(length, 'x');
    for (auto& c : out) {
        c = alphabet[rng() % (sizeof(alphabet) - 1)];
    }
    return out;
}

std::size_t read_full(int fd, void* data, std::size_t size, const std::string& shown) {
    char* p = static_cast<char*>(data);
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::read(fd, p + done, size - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("cannot read " + shown);
        }
        if (n == 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    return done;
}

std::size_t read_some(int fd, void* data, std::size_t size, const std::string& shown) {
    for (;;) {
        const ssize_t n = ::read(fd, data, size);
        if (n >= 0) {
            return static_cast<std::size_t>(n);
        }
        if (errno != EINTR) {
            throw_errno("cannot read " + shown);
        }
    }
}

std::string boot_id() {
    UniqueFd fd(::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return "unknown";
    }
    char buffer[64] = {};
    const std::size_t n = read_full(fd.get(), buffer, sizeof buffer - 1, "boot_id");
    std::string id(buffer, n);
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) {
        id.pop_back();
    }
    return id;
}

std::string iso_time_now() {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return buffer;
}

}  // namespace hpsweep::datastore::detail
