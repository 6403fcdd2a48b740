#include "unknown_option.hpp"

#include <fmt/format.h>

#include "option_values.hpp"

namespace hpsweep::cli {

std::string unknown_option_message(const CLI::App& command, const std::string& word) {
    std::string hint;
    for (const CLI::App* level = &command; level != nullptr && hint.empty();
         level = level->get_parent())
        hint = nearest_option_hint(*level, word);
    return fmt::format("unknown option '{}'{}", word.substr(0, word.find('=')), hint);
}

std::string unknown_option_message(const CLI::App& app) {
    const CLI::App* command = &app;
    while (!command->get_subcommands().empty()) command = command->get_subcommands().back();
    for (const std::string& word : app.remaining(true)) {
        if (word == "--")
            break;
        if (word.size() > 1 && word.front() == '-')
            return unknown_option_message(*command, word);
    }
    return {};
}

}  // namespace hpsweep::cli
