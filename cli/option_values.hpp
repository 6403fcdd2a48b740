#pragma once
// What a numeric option accepts, said in the error a person reads:
//   hpsweep: error: --nodes must be an integer >= 1, got '0'
// and the nearest option of a command for a word that is none of them:
//   unknown option '--gpu' (did you mean '--gpus'?)
// CLI11's own checks print the range of the bound type (all 309 digits of the largest double)
// and tell a value that is not a number apart from one out of range only by a conversion
// error, so numeric options are added through add_integer_option instead.

#include <CLI/CLI.hpp>

#include <concepts>
#include <limits>
#include <optional>
#include <string>

namespace hpsweep::cli {

// The accepted values of an integer option: [min, max]. max is the largest value of the
// option's type unless a command sets a smaller one.
struct IntegerRange {
    long long min = 0;
    unsigned long long max = std::numeric_limits<long long>::max();
};

// Refuses any value of OPTION that is not a whole number in RANGE with an Error(usage) that
// names the option, the accepted values and the value given.
CLI::Option* accept_integer(CLI::Option* option, IntegerRange range);

template <std::integral T>
CLI::Option* add_integer_option(CLI::App* command, const std::string& names, T& value,
                                const std::string& description, long long min,
                                unsigned long long max = std::numeric_limits<T>::max()) {
    return accept_integer(command->add_option(names, value, description), {min, max});
}
template <std::integral T>
CLI::Option* add_integer_option(CLI::App* command, const std::string& names,
                                std::optional<T>& value, const std::string& description,
                                long long min,
                                unsigned long long max = std::numeric_limits<T>::max()) {
    return accept_integer(command->add_option(names, value, description), {min, max});
}

// " (did you mean '--gpus'?)" when one of COMMAND's option names is within two edits of WORD
// (the option part of WORD, before any '='), else "".
std::string nearest_option_hint(const CLI::App& command, const std::string& word);

// The first word of ARGS that is not an option: the subcommand the user meant to run.
// " (did you mean 'results'?)" when one of APP's subcommands is within two edits of WORD.
std::string nearest_subcommand_hint(const CLI::App& app, const std::string& word);

}  // namespace hpsweep::cli
