#pragma once
// C++ over the SPANK C API: Slurm's header inside extern "C", typed getters for the
// items we use, the job environment, and logging with the "hpsweep: " prefix. Nothing
// here throws across extern "C": hooks go through guarded() (dispatch.cpp).

extern "C" {
#include <slurm/spank.h>
}

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugin_core.hpp"

namespace hpsweep::plugin {

// slurm_error("hpsweep: ...") (Slurm adds "sbatch: error: " / the log prefix).
void log_error(std::string_view message) noexcept;
// slurm_verbose: shown by `srun -v`/`sbatch -v` and in slurmd's log at debug levels.
void log_verbose(std::string_view message) noexcept;
// A line on the current process's stderr: in task hooks this is the task's stderr, which
// is where a user looks when their job fails.
void tell_user(std::string_view message) noexcept;

// Remote context only. Throws Error(internal) naming the item on failure.
uid_t job_uid(spank_t sp);
gid_t job_gid(spank_t sp);
std::vector<gid_t> job_supplementary_gids(spank_t sp);
std::uint32_t job_step_id(spank_t sp);
JobEnvironment job_environment(spank_t sp);
std::optional<std::string> job_getenv(spank_t sp, const char* name);
void job_setenv(spank_t sp, const std::string& name, const std::string& value);

}  // namespace hpsweep::plugin
