// hpsweep: the researcher's and admin's command line. All logic lives in the libraries;
// this file parses arguments and maps errors to the documented exit codes.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

#include "command_registry.hpp"
#include "hpsweep/error.hpp"
#include "option_values.hpp"
#include "unknown_option.hpp"

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
        if (::access(path.c_str(), X_OK) == 0)
            return path;
    }
    throw Error(ErrorKind::internal, "helper script '" + name + "' not found in " + candidates[0] +
                                         " or " + candidates[1]);
}

// The first command-line word that is not an option ("" when there is none).
std::string first_word(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (argv[i][0] != '-')
            return argv[i];
        if (std::string_view(argv[i]) == "--")
            break;
    }
    return {};
}

// first_word() when it names one of APP's subcommands, else "".
std::string subcommand_word(const CLI::App& app, int argc, char** argv) {
    const std::string word = first_word(argc, argv);
    for (const CLI::App* command : app.get_subcommands({})) {
        if (command->get_name() == word)
            return word;
    }
    return {};
}

// The subcommands the parse got to, "datastore create" (the first word when none was
// parsed yet): whose --help an error points to.
std::string command_path(const CLI::App& app, int argc, char** argv) {
    std::string path;
    for (const CLI::App* command = &app; !command->get_subcommands().empty();) {
        command = command->get_subcommands().back();
        path += (path.empty() ? "" : " ") + command->get_name();
    }
    return path.empty() ? subcommand_word(app, argc, argv) : path;
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
        const std::string command = cli::command_path(app, argc, argv);
        if (command.empty() && !cli::first_word(argc, argv).empty()) {
            const std::string word = cli::first_word(argc, argv);
            std::fprintf(stderr, "hpsweep: error: unknown command '%s'%s\n", word.c_str(),
                         cli::nearest_subcommand_hint(app, word).c_str());
        } else if (const std::string unknown = cli::unknown_option_message(app); !unknown.empty()) {
            std::fprintf(stderr, "hpsweep: error: %s\n", unknown.c_str());
        } else {
            std::fprintf(stderr, "hpsweep: error: %s\n", e.what());
        }
        std::fprintf(stderr, "Run 'hpsweep %s--help' for usage.\n",
                     command.empty() ? "" : (command + " ").c_str());
        return exit_code_for(ErrorKind::usage);
    } catch (const Error& e) {
        std::fprintf(stderr, "hpsweep: error: %s\n", e.what());
        if (e.kind() == ErrorKind::usage) {
            if (const auto command = cli::command_path(app, argc, argv); !command.empty())
                std::fprintf(stderr, "Run 'hpsweep %s --help' for usage.\n", command.c_str());
        }
        return e.exit_code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hpsweep: internal error: %s\n", e.what());
        return exit_code_for(ErrorKind::internal);
    }
    return globals.exit_code;
}
