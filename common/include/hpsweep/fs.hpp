#pragma once
// File handles and crash-safe writes shared by every part of hpsweep.

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

namespace hpsweep {

// Move-only owner of a POSIX file descriptor.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset(std::exchange(other.fd_, -1));
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept;

private:
    int fd_ = -1;
};

// Writes a file so that readers see either the old content or the complete new one:
// data goes to a temporary file in the same directory, commit() fsyncs and renames it
// over the target, and a destructor without commit() removes the temporary.
class AtomicFile {
public:
    explicit AtomicFile(std::filesystem::path target, unsigned mode = 0644);
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    ~AtomicFile();

    void write(std::string_view data);
    void commit();
    const std::filesystem::path& temp_path() const noexcept { return temp_; }

private:
    std::filesystem::path target_;
    std::filesystem::path temp_;
    UniqueFd fd_;
    bool committed_ = false;
};

// Convenience: whole-file atomic replace.
void write_file_atomic(const std::filesystem::path& target, std::string_view data,
                       unsigned mode = 0644);
// Whole file into a string; throws Error(io) naming the path.
std::string read_file(const std::filesystem::path& path);
// fsync a directory so a rename inside it survives a crash.
void fsync_directory(const std::filesystem::path& dir);
// The process's umask, read without changing it (umask(2) can only be read by setting it,
// which races with other threads creating files); 022 when /proc cannot tell.
unsigned current_umask();

}  // namespace hpsweep
