#pragma once
// Reading a list of files below a directory on a second thread, ahead of the thread that
// stores them. A cold snapshot is bound by two kinds of system calls: reading the context
// (opening, examining and reading each file) and creating the store's files; one thread
// does them one after the other, two overlap them, as rsync's sender and receiver do.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hpsweep/fs.hpp"

namespace hpsweep::datastore::detail {

struct ReadAheadEntry {
    enum class Kind { file, symlink };
    Kind kind = Kind::file;
    std::string path;   // normalised, relative to the source
    std::string where;  // the source's path joined with `path`, for messages
    unsigned mode = 0;  // permission bits
    std::uint64_t size = 0;
    std::string target;         // of a symlink
    std::vector<char> head;     // storage for the file's first bytes (may be longer)
    std::size_t head_size = 0;  // bytes of `head` read: all of the file when `fd` is empty
    UniqueFd fd;                // open for the rest when the file is larger than the read-ahead
};

class ReadAhead {
public:
    // Starts reading `paths` (sorted, each once) below the open directory `root_fd`, which
    // must stay open while this object lives. Every component is opened without following
    // links; listed paths that are gone or are directories are skipped.
    ReadAhead(int root_fd, const std::filesystem::path& source,
              const std::vector<std::string>& paths);
    ReadAhead(const ReadAhead&) = delete;
    ReadAhead& operator=(const ReadAhead&) = delete;
    // Stops the reader (an error on the storing side must not wait for the whole list).
    ~ReadAhead();

    // The next entry in list order; nullopt after the last, or once stop() was called.
    // Rethrows, in order, what reading an entry threw. Several threads may take entries.
    std::optional<ReadAheadEntry> next();
    // Stops the reader early (a storing thread failed): next() returns nullopt from now on.
    void stop();
    // Gives an entry's buffer back for reuse (a new buffer per file would cost an mmap and
    // a munmap for every larger file).
    void recycle(std::vector<char> buffer);

private:
    void run() noexcept;
    std::optional<ReadAheadEntry> read_entry(const std::string& raw);
    std::vector<char> take_buffer();

    int root_fd_;
    std::filesystem::path source_;
    const std::vector<std::string>& paths_;
    UniqueFd parent_;  // the reader's: the directory of the last file read
    std::string parent_path_;

    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<ReadAheadEntry> ready_;
    std::vector<std::vector<char>> pool_;
    std::size_t buffers_out_ = 0;  // taken from the pool and not given back yet
    std::exception_ptr error_;
    bool finished_ = false;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace hpsweep::datastore::detail
