#pragma once
// An option given twice with different values is refused, as pyxis does: which of two values
// a user meant is not the plugin's guess to make. Slurm calls an option's callback once per
// value it finds, in this order, with nothing to say where a value came from:
//   1. the surrounding job's value, inherited through
//   SLURM_SPANK__SLURM_SPANK_OPTION_<plugin>_<opt>
//      (an srun or sbatch run inside a job);
//   2. the batch script's #SBATCH lines (sbatch);
//   3. the command line.
// A later source overrides an earlier one, as every Slurm option does (`#SBATCH
// --gpu-affinity=verbose` with `srun --gpu-affinity=none` for one step); two different values
// within one source are the conflict. The command line is read back from the process's argv
// to tell sources 2 and 3 apart.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hpsweep::plugin {

// The values a command line gives --NAME ("--NAME=V" or "--NAME V", or an abbreviation of
// NAME, which getopt_long accepts), in order. ARGS is argv without the program name.
std::vector<std::string> command_line_values(const std::vector<std::string>& args,
                                             std::string_view name);

// The environment variable through which a job hands its value of --NAME of plugin PLUGIN
// to the srun/sbatch/salloc run inside it.
std::string inherited_option_variable(std::string_view plugin, std::string_view name);

// Throws Error(usage) naming both values when one source gave --NAME two different values.
// DELIVERED: every value Slurm delivered, in order; INHERITED: the job's value (variable
// above), if any; COMMAND_LINE: command_line_values() of this process.
void check_option_given_once(std::string_view name, const std::vector<std::string>& delivered,
                             const std::optional<std::string>& inherited,
                             const std::vector<std::string>& command_line);

}  // namespace hpsweep::plugin
