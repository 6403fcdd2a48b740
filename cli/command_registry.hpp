#pragma once
// Subcommands register themselves at static-initialisation time:
//   static const hpsweep::cli::CommandRegistrar reg{"sweep", &add_sweep_commands};
// main.cpp builds the CLI11 app and calls every registered function in name order.

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace hpsweep::cli {

// Options every subcommand shares; filled by main before callbacks run.
struct GlobalOptions {
    bool json = false;     // machine-readable output on stdout
    bool verbose = false;  // extra diagnostics on stderr
    // Set by a command whose work ran but did not succeed (a trial failed): exit code 1.
    int exit_code = 0;
    // Whether the command line has a `--`: commands that take a program to run (session)
    // insist on it, so that a mistyped subcommand is not run as a program.
    bool has_double_dash = false;
};
GlobalOptions& global_options();

using CommandAdder = std::function<void(CLI::App& app)>;

struct CommandRegistrar {
    CommandRegistrar(std::string group, CommandAdder adder);
};

// Where installed helper scripts live (libexec/hpsweep), falling back to the source tree
// so the build tree works without `make install`.
std::string find_helper_script(const std::string& name);

}  // namespace hpsweep::cli
