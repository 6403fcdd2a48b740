#include "hpsweep/datastore/safe_fs.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hpsweep/error.hpp"

namespace hpsweep::datastore::detail {
namespace {

UniqueFd retry_openat(int dirfd, const char* name, int flags, mode_t mode) {
    for (;;) {
        const int fd = ::openat(dirfd, name, flags, mode);
        if (fd >= 0 || errno != EINTR) {
            return UniqueFd(fd);
        }
    }
}

Error open_error(const std::string& shown) {
    const int e = errno;
    switch (e) {
        case ENOENT:
            return Error(ErrorKind::state, shown + " does not exist");
        case EACCES:
        case EPERM:
            return Error(ErrorKind::state, "permission denied: " + shown);
        case ELOOP:
        case EXDEV:
            return Error(ErrorKind::data, shown + " is a symbolic link (refused)");
        case ENOTDIR:
            return Error(ErrorKind::data, shown + " is not where a directory was expected");
        case ENXIO:
            return Error(ErrorKind::data, shown + " is not a regular file");
        default:
            return Error(ErrorKind::io, "cannot open " + shown + ": " + std::strerror(e));
    }
}

}  // namespace

UniqueFd open_beneath_by_walk(int dirfd, std::string_view relative, int flags, mode_t mode) {
    if (relative.empty() || relative.front() == '/') {
        errno = EXDEV;
        return {};
    }
    UniqueFd current;
    int at = dirfd;
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = relative.find('/', start);
        const std::string part(relative.substr(
            start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
        if (part.empty() || part == "." || part == "..") {
            errno = EXDEV;
            return {};
        }
        if (slash == std::string_view::npos) {
            return retry_openat(at, part.c_str(), flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
                                mode);
        }
        UniqueFd next =
            retry_openat(at, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
        if (!next) {
            return {};
        }
        current = std::move(next);
        at = current.get();
        start = slash + 1;
    }
}

UniqueFd open_beneath(int dirfd, std::string_view relative, int flags, mode_t mode) {
    const std::string path(relative);
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC | O_NONBLOCK);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    for (;;) {
        const long fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
        if (fd >= 0) {
            return UniqueFd(static_cast<int>(fd));
        }
        if (errno == EINTR || errno == EAGAIN) {  // EAGAIN: a rename raced the lookup
            continue;
        }
        if (errno == ENOSYS) {
            return open_beneath_by_walk(dirfd, relative, flags, mode);
        }
        return {};
    }
}

UniqueFd open_dir_beneath(int dirfd, std::string_view relative, const std::string& shown) {
    UniqueFd fd = open_beneath(dirfd, relative, O_RDONLY | O_DIRECTORY);
    if (!fd) {
        throw open_error(shown);
    }
    return fd;
}

UniqueFd open_regular_beneath(int dirfd, std::string_view relative, const std::string& shown,
                              struct stat* st) {
    UniqueFd fd = open_beneath(dirfd, relative, O_RDONLY);
    if (!fd) {
        throw open_error(shown);
    }
    struct stat local {};
    struct stat& s = st != nullptr ? *st : local;
    if (::fstat(fd.get(), &s) != 0) {
        throw_errno("cannot inspect " + shown);
    }
    if (!S_ISREG(s.st_mode)) {
        throw Error(ErrorKind::data, shown + " is not a regular file");
    }
    return fd;
}

std::string read_capped(int fd, std::size_t max_bytes, const std::string& shown) {
    std::string out;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("cannot read " + shown);
        }
        if (n == 0) {
            return out;
        }
        if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
            throw Error(ErrorKind::data,
                        shown + " is larger than " + std::to_string(max_bytes) + " bytes");
        }
        out.append(buffer, static_cast<std::size_t>(n));
    }
}

std::string read_regular_beneath(int dirfd, std::string_view relative, std::size_t max_bytes,
                                 const std::string& shown) {
    const UniqueFd fd = open_regular_beneath(dirfd, relative, shown);
    return read_capped(fd.get(), max_bytes, shown);
}

}  // namespace hpsweep::datastore::detail
