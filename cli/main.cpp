// hpsweep: the researcher's and admin's command line. All logic lives in the libraries;
// this file parses arguments and maps errors to the documented exit codes.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string_view>

#include "command_registry.hpp"
#include "hpsweep/error.hpp"

namespace hpsweep::cli {

namespace {
std::multimap<std::string, CommandAdder>& registry() {
    static std::multimap<std::string, CommandAdder> commands;
    return commands;
}
}  // namespace

GlobalOptions& global_options() {
    static GlobalOptions options;
    return options;
}

CommandRegistrar::CommandRegistrar(std::string group, CommandAdder adder) {
    registry().emplace(std::move(group), std::move(adder));
}

std::string find_helper_script(const std::string& name) {
    const std::string candidates[] = {
        std::string(HPSWEEP_LIBEXEC_DIR) + "/" + name,
        std::string(HPSWEEP_SOURCE_DIR) + "/scripts/" + name,
    };
    for (const auto& path : candidates) {
        if (::access(path.c_str(), X_OK) == 0) return path;
    }
    throw Error(ErrorKind::internal, "helper script '" + name + "' not found in " +
                                         candidates[0] + " or " + candidates[1]);
}

}  // namespace hpsweep::cli

int main(int argc, char** argv) {
    using namespace hpsweep;
    CLI::App app{"hpsweep: deep-learning sweeps, placement and datasets on Slurm", "hpsweep"};
    app.set_version_flag("--version", HPSWEEP_VERSION);
    app.require_subcommand(1);
    app.fallthrough();
    auto& globals = cli::global_options();
    app.add_flag("--json", globals.json, "Machine-readable output (JSON on stdout)");
    app.add_flag("-v,--verbose", globals.verbose, "More diagnostics on stderr");
    for (const auto& [group, adder] : cli::registry()) {
        adder(app);
    }
    globals.has_double_dash =
        std::find(argv + 1, argv + argc, std::string_view("--")) != argv + argc;
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "hpsweep: error: %s\n", e.what());
        std::fprintf(stderr, "Run 'hpsweep --help' for usage.\n");
        return exit_code_for(ErrorKind::usage);
    } catch (const Error& e) {
        std::fprintf(stderr, "hpsweep: error: %s\n", e.what());
        return e.exit_code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hpsweep: internal error: %s\n", e.what());
        return exit_code_for(ErrorKind::internal);
    }
    return globals.exit_code;
}
