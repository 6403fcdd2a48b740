#include "read_ahead.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "fsutil.hpp"
#include "hpsweep/datastore/paths.hpp"
#include "hpsweep/datastore/safe_fs.hpp"
#include "hpsweep/error.hpp"

namespace hpsweep::datastore::detail {

namespace {

// A file up to this size is read whole by the reader; a larger one is handed over open,
// after this much, and the storing side reads the rest.
constexpr std::size_t read_ahead_file_bytes = 1u << 20;
// Buffers in flight: bounds the memory read ahead (at most this many files' heads).
constexpr std::size_t read_ahead_buffers = 32;

}  // namespace

ReadAhead::ReadAhead(int root_fd, const std::filesystem::path& source,
                     const std::vector<std::string>& paths)
    : root_fd_(root_fd), source_(source), paths_(paths) {
    thread_ = std::thread([this] { run(); });
}

ReadAhead::~ReadAhead() {
    stop();
    thread_.join();
}

void ReadAhead::stop() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
}

std::optional<ReadAheadEntry> ReadAhead::next() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !ready_.empty() || finished_ || stopping_; });
    if (stopping_) {
        return std::nullopt;
    }
    if (!ready_.empty()) {
        ReadAheadEntry entry = std::move(ready_.front());
        ready_.pop_front();
        return entry;
    }
    if (error_) {
        std::rethrow_exception(std::exchange(error_, nullptr));
    }
    return std::nullopt;
}

void ReadAhead::recycle(std::vector<char> buffer) {
    {
        const std::lock_guard lock(mutex_);
        pool_.push_back(std::move(buffer));
        --buffers_out_;
    }
    changed_.notify_all();
}

std::vector<char> ReadAhead::take_buffer() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return stopping_ || buffers_out_ < read_ahead_buffers; });
    ++buffers_out_;
    if (pool_.empty()) {
        return {};
    }
    std::vector<char> buffer = std::move(pool_.back());
    pool_.pop_back();
    return buffer;
}

void ReadAhead::run() noexcept {
    try {
        for (const auto& raw : paths_) {
            {
                const std::lock_guard lock(mutex_);
                if (stopping_) {
                    break;
                }
            }
            auto entry = read_entry(raw);
            if (entry) {
                {
                    const std::lock_guard lock(mutex_);
                    ready_.push_back(std::move(*entry));
                }
                changed_.notify_all();
            }
        }
    } catch (...) {
        const std::lock_guard lock(mutex_);
        error_ = std::current_exception();
    }
    parent_.reset();
    {
        const std::lock_guard lock(mutex_);
        finished_ = true;
    }
    changed_.notify_all();
}

std::optional<ReadAheadEntry> ReadAhead::read_entry(const std::string& raw) {
    ReadAheadEntry entry;
    entry.path = normalize_entry_path(raw, source_.string());
    entry.where = (source_ / entry.path).string();
    const std::string& path = entry.path;
    const auto slash = path.rfind('/');
    int parent_fd = root_fd_;
    if (slash != std::string::npos) {
        // The sorted list holds a directory's files together: its fd serves them all,
        // instead of resolving the path again for each file.
        const std::string_view dir(path.data(), slash);
        if (!parent_ || dir != parent_path_) {
            parent_ = open_beneath(root_fd_, dir, O_RDONLY | O_DIRECTORY);
            parent_path_.clear();
            if (!parent_) {
                if (errno == ENOENT || errno == ENOTDIR) {
                    return std::nullopt;  // deleted since git listed it
                }
                if (errno == ELOOP || errno == EXDEV) {
                    throw Error(ErrorKind::data,
                                entry.where + ": a directory on the way is a symbolic link");
                }
                throw_errno("cannot open the directory of " + entry.where);
            }
            parent_path_ = dir;
        }
        parent_fd = parent_.get();
    }
    const std::string leaf = slash == std::string::npos ? path : path.substr(slash + 1);
    struct stat st {};
    if (::fstatat(parent_fd, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) {
            return std::nullopt;
        }
        throw_errno("cannot read " + entry.where);
    }
    if (S_ISDIR(st.st_mode)) {
        return std::nullopt;
    }
    entry.size = static_cast<std::uint64_t>(st.st_size);
    if (S_ISREG(st.st_mode)) {
        entry.kind = ReadAheadEntry::Kind::file;
        entry.mode = st.st_mode & 07777;
        UniqueFd fd = open_at(parent_fd, leaf, O_RDONLY | O_NOFOLLOW, entry.where);
        entry.head = take_buffer();
        // One byte more than the size asks for the end in the same read; the file is read
        // to its end whatever its size was when it was examined.
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(entry.size, read_ahead_file_bytes)) +
            1;
        if (entry.head.size() < want) {
            entry.head.resize(want);  // a pooled buffer keeps its size: zeroed only once
        }
        bool at_end = false;
        while (entry.head_size < want) {
            const std::size_t got = read_some(fd.get(), entry.head.data() + entry.head_size,
                                              want - entry.head_size, entry.where);
            if (got == 0) {
                at_end = true;
                break;
            }
            entry.head_size += got;
        }
        if (!at_end) {
            entry.fd = std::move(fd);
        }
        return entry;
    }
    if (S_ISLNK(st.st_mode)) {
        entry.kind = ReadAheadEntry::Kind::symlink;
        std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
        const ssize_t n = ::readlinkat(parent_fd, leaf.c_str(), target.data(), target.size());
        if (n < 0) {
            throw_errno("cannot read symlink " + entry.where);
        }
        target.resize(static_cast<std::size_t>(n));
        entry.target = std::move(target);
        return entry;
    }
    throw Error(ErrorKind::data,
                entry.where + ": unsupported file type (only files, directories and symlinks)");
}

}  // namespace hpsweep::datastore::detail
