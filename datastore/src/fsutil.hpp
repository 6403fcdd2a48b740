#pragma once
// Small POSIX helpers for the datastore. Everything that walks a tree another user may
// control works on directory file descriptors with O_NOFOLLOW, so a symlink swapped in
// during the walk is never followed (hpsweep runs as root on compute nodes).

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "hpsweep/fs.hpp"

namespace hpsweep::datastore::detail {

// openat() that retries EINTR and throws Error(io) naming `shown` on failure.
UniqueFd open_at(int dirfd, const std::string& name, int flags, const std::string& shown,
                 mode_t mode = 0);
// Like open_at but returns an empty fd instead of throwing (errno is kept).
UniqueFd try_open_at(int dirfd, const std::string& name, int flags, mode_t mode = 0);
// Opens a directory without following a symlink at its last component.
UniqueFd open_dir(const std::filesystem::path& path);
UniqueFd open_dir_at(int dirfd, const std::string& name, const std::string& shown);

// mkdir that tolerates an existing directory (not a symlink) and applies `mode` exactly,
// regardless of the umask, when it creates.
void ensure_dir(const std::filesystem::path& path, mode_t mode);

// Removes a tree without following symlinks; makes our own read-only directories
// writable as it goes (datastore trees are 0555). Missing paths are fine.
void remove_tree_at(int parent_fd, const std::string& name);
void remove_tree(const std::filesystem::path& path);

// The names in a directory (without "." and ".."), sorted; empty when it cannot be read.
std::vector<std::string> list_dir(int dir_fd);

// Random lowercase alphanumeric token for temporary names.
std::string random_token(std::size_t length = 12);

// Reads up to `size` bytes, retrying short reads; returns the count (less only at EOF).
std::size_t read_full(int fd, void* data, std::size_t size, const std::string& shown);
// One read(2) of up to `size` bytes, retrying EINTR; 0 only at EOF (or for size 0).
std::size_t read_some(int fd, void* data, std::size_t size, const std::string& shown);

// The kernel's boot id: cache entries filled before a reboot may have lost unwritten pages.
std::string boot_id();

// Seconds since the epoch as an ISO-8601 UTC string.
std::string iso_time_now();

}  // namespace hpsweep::datastore::detail
