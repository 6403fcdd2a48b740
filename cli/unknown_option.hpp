#pragma once
// The error for a word that looks like an option but is none of the command's, with the
// nearest option a person may have meant, the same in every command of hpsweep and in
// hpsweep-launch:
//   unknown option '--gpu' (did you mean '--gpus'?)

#include <CLI/CLI.hpp>

#include <string>

namespace hpsweep::cli {

// WORD refused as an option of COMMAND. The suggestion is the nearest of COMMAND's own
// options, else of the commands above it (whose options a subcommand takes too).
std::string unknown_option_message(const CLI::App& command, const std::string& word);

// After a parse of APP failed: the message for the first left-over word that looks like an
// option, as one of the command the user ran (the deepest subcommand parsed); "" when no
// such word was left over.
std::string unknown_option_message(const CLI::App& app);

}  // namespace hpsweep::cli
