#pragma once
// Writing a whole buffer to a file descriptor: write(2) may write less than asked or be
// interrupted, so every writer loops; this is the one loop.

#include <string_view>

namespace hpsweep {

// Writes all of `data` to `fd`, retrying short writes and EINTR. Returns 0, or the errno of
// the write that failed. Async-signal-safe (usable between fork and exec).
[[nodiscard]] int write_fully(int fd, std::string_view data) noexcept;
// Same; throws Error(io) "cannot write WHAT: <strerror>".
void write_all(int fd, std::string_view data, std::string_view what);

}  // namespace hpsweep
