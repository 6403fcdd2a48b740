#pragma once
// Reading a list of files below a directory on a second thread, ahead of the threads that
// store them. A cold snapshot is bound by two kinds of system calls: reading the context
// (opening, examining and reading each file) and creating the store's files; one thread
// does them one after the other, two overlap them, as rsync's sender and receiver do.
//
// The storing threads take entries from lanes, and a lane holds whole directories: the
// store's copy of a directory is then created in by one thread at a time. Two threads
// creating files in one directory take turns on its lock (the kernel serialises creates in
// a directory), and the waiting one spins on a core the reader needs.

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
    // must stay open while this object lives, for `lanes` storing threads. Every component
    // is opened without following links; listed paths that are gone or are directories are
    // skipped.
    ReadAhead(int root_fd, const std::filesystem::path& source,
              const std::vector<std::string>& paths, std::size_t lanes);
    ReadAhead(const ReadAhead&) = delete;
    ReadAhead& operator=(const ReadAhead&) = delete;
    // Stops the reader (an error on the storing side must not wait for the whole list).
    ~ReadAhead();

    // The next entry of `lane` (below the count given to the constructor; one thread per
    // lane), in list order; nullopt after the lane's last, or once stop() was called.
    // Rethrows, in order, what reading an entry threw (in one lane; the others end).
    std::optional<ReadAheadEntry> next(std::size_t lane);
    // Stops the reader early (a storing thread failed): next() returns nullopt from now on.
    void stop();
    // Gives an entry's buffer back for reuse (a new buffer per file would cost an mmap and
    // a munmap for every larger file).
    void recycle(std::vector<char> buffer);

private:
    // A run of the list: consecutive paths in one directory (a long run is cut in pieces,
    // so that a flat tree still gives every lane work).
    struct Run {
        std::size_t begin = 0, end = 0;
    };
    struct Lane {
        Run reading;  // what is left of the run being read for this lane
        // The reader's: the directory of the last file read for this lane, opened once for
        // all of its files.
        UniqueFd parent;
        std::string parent_path;
        std::deque<ReadAheadEntry> ready;
        bool finished = false;  // nothing more will be read for it
    };

    void run() noexcept;
    // The lane to read for next: the one with the fewest entries ready, or none when all
    // are finished (or stopping).
    std::optional<std::size_t> lane_to_feed();
    std::optional<ReadAheadEntry> read_entry(const std::string& raw, Lane& lane);
    std::vector<char> take_buffer();

    int root_fd_;
    std::filesystem::path source_;
    const std::vector<std::string>& paths_;
    std::vector<Run> runs_;
    std::size_t next_run_ = 0;  // the reader's

    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<Lane> lanes_;  // the ready queues and finished flags under mutex_
    std::vector<std::vector<char>> pool_;
    std::size_t buffers_out_ = 0;  // taken from the pool and not given back yet
    std::exception_ptr error_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace hpsweep::datastore::detail
