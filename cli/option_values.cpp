#include "option_values.hpp"

#include <fmt/format.h>

#include <charconv>
#include <system_error>

#include "hpsweep/error.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::cli {
namespace {

// A range a command chose (--threads 1 to 64) is named; the limit of the option's type is not.
constexpr unsigned long long largest_named_maximum = 1'000'000;

std::string accepted_values(IntegerRange range) {
    if (range.max <= largest_named_maximum)
        return fmt::format("an integer from {} to {}", range.min, range.max);
    return fmt::format("an integer >= {}", range.min);
}

// The same, short, for --help: "INT:>= 1", "INT:1 to 64".
std::string help_description(IntegerRange range) {
    if (range.max <= largest_named_maximum)
        return fmt::format("{} to {}", range.min, range.max);
    return fmt::format(">= {}", range.min);
}

// Whether TEXT is a whole number (an optional '-', then digits only) within RANGE.
bool integer_within(const std::string& text, IntegerRange range) {
    const char* first = text.data();
    const char* last = text.data() + text.size();
    if (text.empty())
        return false;
    if (text.front() == '-') {
        long long value = 0;
        const auto [end, error] = std::from_chars(first, last, value);
        return error == std::errc() && end == last && value >= range.min;
    }
    unsigned long long value = 0;
    const auto [end, error] = std::from_chars(first, last, value);
    if (error != std::errc() || end != last)
        return false;
    return value <= range.max &&
           (range.min <= 0 || value >= static_cast<unsigned long long>(range.min));
}

}  // namespace

CLI::Option* accept_integer(CLI::Option* option, IntegerRange range) {
    const std::string name = option->get_name();
    const std::string accepted = accepted_values(range);
    // An Error rather than CLI11's ValidationError, whose message would read "--nodes: ...";
    // main() prints either as "hpsweep: error: MESSAGE" with the usage exit code.
    return option->check(CLI::Validator(
        [name, accepted, range](const std::string& text) -> std::string {
            if (!integer_within(text, range)) {
                throw Error(ErrorKind::usage,
                            fmt::format("{} must be {}, got '{}'", name, accepted, text));
            }
            return {};
        },
        help_description(range)));
}

std::string nearest_option_hint(const CLI::App& command, const std::string& word) {
    const std::string typed = word.substr(0, word.find('='));
    std::string nearest;
    std::size_t nearest_distance = 3;  // more than two edits away is no suggestion
    for (const CLI::Option* option : command.get_options()) {
        for (const std::string& long_name : option->get_lnames()) {
            const std::string candidate = "--" + long_name;
            const std::size_t distance = edit_distance(typed, candidate);
            if (distance < nearest_distance) {
                nearest = candidate;
                nearest_distance = distance;
            }
        }
    }
    return nearest.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", nearest);
}

std::string nearest_subcommand_hint(const CLI::App& app, const std::string& word) {
    std::string nearest;
    std::size_t nearest_distance = 3;  // more than two edits away is no suggestion
    for (const CLI::App* command : app.get_subcommands({})) {
        const std::size_t distance = edit_distance(word, command->get_name());
        if (distance < nearest_distance) {
            nearest = command->get_name();
            nearest_distance = distance;
        }
    }
    return nearest.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", nearest);
}

}  // namespace hpsweep::cli
