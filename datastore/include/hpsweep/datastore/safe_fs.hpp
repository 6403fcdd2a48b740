#pragma once
// The only way root opens anything below a directory a user can write: relative to a
// directory descriptor opened once, never through a symlink, never outside that directory,
// and never blocking on a FIFO. Every decision that follows is made on the returned fd
// (fstat), never on a path looked up again.

#include <sys/stat.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "hpsweep/fs.hpp"

namespace hpsweep::datastore::detail {

// openat2(dirfd, relative, flags | O_CLOEXEC | O_NONBLOCK) resolved with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS; on a kernel without
// openat2 (ENOSYS) a walk that opens each component with O_NOFOLLOW and refuses "..",
// absolute paths and empty components. Returns an empty fd with errno set on failure
// (ELOOP for a symlink on the way, EXDEV for an escape).
UniqueFd open_beneath(int dirfd, std::string_view relative, int flags, mode_t mode = 0);

// The same, without openat2 (what the fallback does); exposed for its unit test.
UniqueFd open_beneath_by_walk(int dirfd, std::string_view relative, int flags, mode_t mode = 0);

// A directory below `dirfd` (O_DIRECTORY). Throws Error naming `shown`: state for ENOENT
// and EACCES, data for a symlink or a non-directory, io otherwise.
UniqueFd open_dir_beneath(int dirfd, std::string_view relative, const std::string& shown);

// A regular file below `dirfd` for reading. Throws Error naming `shown` as above, and
// Error(data) when what is there is a FIFO, a device, a socket or a directory.
UniqueFd open_regular_beneath(int dirfd, std::string_view relative, const std::string& shown,
                              struct stat* st = nullptr);

// Reads a regular file's fd to its end, at most `max_bytes`: Error(data) naming `shown`
// when there is more (also when the file grows while it is read).
std::string read_capped(int fd, std::size_t max_bytes, const std::string& shown);

// open_regular_beneath + read_capped.
std::string read_regular_beneath(int dirfd, std::string_view relative, std::size_t max_bytes,
                                 const std::string& shown);

// Caps for the metadata root reads from a dataset (generous: a 1,000,000-file manifest is
// about 200 MB of JSON, far beyond what a dataset holds in practice).
inline constexpr std::size_t dataset_file_max_bytes = 64u << 10;
inline constexpr std::size_t tag_file_max_bytes = 64;
inline constexpr std::size_t manifest_max_bytes = 256u << 20;

}  // namespace hpsweep::datastore::detail
