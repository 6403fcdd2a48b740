#include "hpsweep/error.hpp"

#include <cerrno>
#include <cstring>

namespace hpsweep {

int exit_code_for(ErrorKind kind) noexcept {
    switch (kind) {
        case ErrorKind::usage: return 2;
        case ErrorKind::config: return 3;
        case ErrorKind::io: return 4;
        case ErrorKind::slurm: return 5;
        case ErrorKind::topology: return 6;
        case ErrorKind::data: return 7;
        case ErrorKind::state: return 8;
        case ErrorKind::internal: return 70;
    }
    return 70;
}

const char* to_string(ErrorKind kind) noexcept {
    switch (kind) {
        case ErrorKind::usage: return "usage";
        case ErrorKind::config: return "config";
        case ErrorKind::io: return "io";
        case ErrorKind::slurm: return "slurm";
        case ErrorKind::topology: return "topology";
        case ErrorKind::data: return "data";
        case ErrorKind::state: return "state";
        case ErrorKind::internal: return "internal";
    }
    return "internal";
}

void throw_errno(const std::string& what) {
    const int saved = errno;
    throw Error(ErrorKind::io, what + ": " + std::strerror(saved));
}

}  // namespace hpsweep
