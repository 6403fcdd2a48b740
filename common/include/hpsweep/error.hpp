#pragma once
// One error type for the whole suite: a category that maps to a documented exit code,
// and a message that already says what and where (file:line:col where it applies).

#include <stdexcept>
#include <string>

namespace hpsweep {

enum class ErrorKind {
    usage,     // bad command line
    config,    // bad experiment file, sweep expression, site config
    io,        // a file or directory could not be read or written
    slurm,     // a Slurm command failed or Slurm is unreachable
    topology,  // hwloc could not load or interpret a topology
    data,      // a corrupt or inconsistent file (metrics, datastore object)
    state,     // the request conflicts with current state (experiment exists, in use...)
    internal,  // a bug
};

// Exit codes are part of the user contract (docs/user-guide.md).
// 0 success, 1 the work ran but something in it failed (a trial failed), then one per kind.
int exit_code_for(ErrorKind kind) noexcept;
const char* to_string(ErrorKind kind) noexcept;

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const noexcept { return kind_; }
    int exit_code() const noexcept { return exit_code_for(kind_); }

private:
    ErrorKind kind_;
};

// errno-based failures: "<what>: <strerror>" as an io error.
[[noreturn]] void throw_errno(const std::string& what);

}  // namespace hpsweep
