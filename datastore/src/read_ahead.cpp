#include "read_ahead.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

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
// The most files of one directory a lane takes at once: a directory of more is shared out
// in pieces, and its creates then take turns, which beats leaving the other lanes idle.
constexpr std::size_t run_files = 256;

std::string_view directory_of(std::string_view path) {
    const auto slash = path.rfind('/');
    return slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
}

}  // namespace

ReadAhead::ReadAhead(int root_fd, const std::filesystem::path& source,
                     const std::vector<std::string>& paths, std::size_t lanes)
    : root_fd_(root_fd), source_(source), paths_(paths), lanes_(std::max<std::size_t>(lanes, 1)) {
    for (std::size_t i = 0; i < paths_.size();) {
        const std::string_view dir = directory_of(paths_[i]);
        Run run{i, i + 1};
        while (run.end < paths_.size() && run.end - run.begin < run_files &&
               directory_of(paths_[run.end]) == dir) {
            ++run.end;
        }
        runs_.push_back(run);
        i = run.end;
    }
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

std::optional<ReadAheadEntry> ReadAhead::next(std::size_t lane_index) {
    std::unique_lock lock(mutex_);
    Lane& lane = lanes_.at(lane_index);
    changed_.wait(lock, [&] { return !lane.ready.empty() || lane.finished || stopping_; });
    if (stopping_) {
        return std::nullopt;
    }
    if (!lane.ready.empty()) {
        ReadAheadEntry entry = std::move(lane.ready.front());
        lane.ready.pop_front();
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

std::optional<std::size_t> ReadAhead::lane_to_feed() {
    const std::lock_guard lock(mutex_);
    if (stopping_) {
        return std::nullopt;
    }
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < lanes_.size(); ++i) {
        if (!lanes_[i].finished && (!best || lanes_[i].ready.size() < lanes_[*best].ready.size())) {
            best = i;
        }
    }
    return best;
}

void ReadAhead::run() noexcept {
    try {
        while (const auto lane_index = lane_to_feed()) {
            Lane& lane = lanes_[*lane_index];
            if (lane.reading.begin == lane.reading.end) {
                if (next_run_ == runs_.size()) {
                    lane.parent.reset();
                    {
                        const std::lock_guard lock(mutex_);
                        lane.finished = true;
                    }
                    changed_.notify_all();
                    continue;
                }
                lane.reading = runs_[next_run_++];
            }
            auto entry = read_entry(paths_[lane.reading.begin++], lane);
            if (entry) {
                {
                    const std::lock_guard lock(mutex_);
                    lane.ready.push_back(std::move(*entry));
                }
                changed_.notify_all();
            }
        }
    } catch (...) {
        const std::lock_guard lock(mutex_);
        error_ = std::current_exception();
    }
    {
        const std::lock_guard lock(mutex_);
        for (auto& lane : lanes_) {
            lane.parent.reset();
            lane.finished = true;
        }
    }
    changed_.notify_all();
}

std::optional<ReadAheadEntry> ReadAhead::read_entry(const std::string& raw, Lane& lane) {
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
        if (!lane.parent || dir != lane.parent_path) {
            lane.parent = open_beneath(root_fd_, dir, O_RDONLY | O_DIRECTORY);
            lane.parent_path.clear();
            if (!lane.parent) {
                if (errno == ENOENT || errno == ENOTDIR) {
                    return std::nullopt;  // deleted since git listed it
                }
                if (errno == ELOOP || errno == EXDEV) {
                    throw Error(ErrorKind::data,
                                entry.where + ": a directory on the way is a symbolic link");
                }
                throw_errno("cannot open the directory of " + entry.where);
            }
            lane.parent_path = dir;
        }
        parent_fd = lane.parent.get();
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
