#pragma once
// Running other programs (sbatch, squeue, sacct, scontrol...) without a shell:
// arguments are passed as a vector, so user-supplied values never reach sh.

#include <optional>
#include <string>
#include <vector>

namespace hpsweep {

struct ProcessResult {
    int exit_code = -1;  // 128+N when killed by signal N
    std::string out;
    std::string err;
    bool ok() const noexcept { return exit_code == 0; }
};

// Runs argv[0] (looked up in PATH) with the given stdin text; captures both streams.
// Throws Error(io) only when the program cannot be started at all.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::optional<std::string>& stdin_text = std::nullopt);

// The directory holding the running executable (from /proc/self/exe).
std::string executable_dir();

}  // namespace hpsweep
