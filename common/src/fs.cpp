#include "hpsweep/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <random>

#include "hpsweep/error.hpp"
#include "hpsweep/write_all.hpp"

namespace hpsweep {

void UniqueFd::reset(int fd) noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
    }
    fd_ = fd;
}

namespace {
std::string random_suffix() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string out(8, 'x');
    for (auto& c : out) {
        c = alphabet[rng() % (sizeof(alphabet) - 1)];
    }
    return out;
}

}  // namespace

int write_fully(int fd, std::string_view data) noexcept {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return 0;
}

void write_all(int fd, std::string_view data, std::string_view what) {
    if (const int error = write_fully(fd, data); error != 0) {
        errno = error;
        throw_errno("cannot write " + std::string(what));
    }
}

AtomicFile::AtomicFile(std::filesystem::path target, unsigned mode) : target_(std::move(target)) {
    for (int attempt = 0; attempt < 16 && !fd_; ++attempt) {
        temp_ = target_;
        temp_ += ".tmp." + random_suffix();
        fd_.reset(::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
        if (!fd_ && errno != EEXIST) {
            throw_errno("cannot create " + temp_.string());
        }
    }
    if (!fd_) {
        throw Error(ErrorKind::io, "cannot create a temporary file next to " + target_.string());
    }
}

AtomicFile::~AtomicFile() {
    if (!committed_) {
        fd_.reset();
        ::unlink(temp_.c_str());
    }
}

void AtomicFile::write(std::string_view data) {
    write_all(fd_.get(), data, temp_.string());
}

void AtomicFile::commit() {
    if (::fsync(fd_.get()) != 0) {
        throw_errno("cannot sync " + temp_.string());
    }
    fd_.reset();
    if (::rename(temp_.c_str(), target_.c_str()) != 0) {
        throw_errno("cannot rename " + temp_.string() + " to " + target_.string());
    }
    committed_ = true;
    fsync_directory(target_.has_parent_path() ? target_.parent_path() : ".");
}

void write_file_atomic(const std::filesystem::path& target, std::string_view data, unsigned mode) {
    AtomicFile file(target, mode);
    file.write(data);
    file.commit();
}

std::string read_file(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        throw_errno("cannot read " + path.string());
    }
    std::string out;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("cannot read " + path.string());
        }
        if (n == 0) {
            break;
        }
        out.append(buffer, static_cast<size_t>(n));
    }
    return out;
}

unsigned current_umask() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with("Umask:")) {
            try {
                return static_cast<unsigned>(std::stoul(line.substr(6), nullptr, 8)) & 0777;
            } catch (const std::exception&) {
                break;
            }
        }
    }
    return 022;
}

void fsync_directory(const std::filesystem::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd) {
        ::fsync(fd.get());  // best effort: some file systems refuse fsync on directories
    }
}

}  // namespace hpsweep
