#include "option_sources.hpp"

#include <algorithm>
#include <cctype>

#include "hpsweep/error.hpp"

namespace hpsweep::plugin {
namespace {

// Whether WORD ("--gpu-aff") names --NAME, fully or abbreviated.
bool names_option(std::string_view word, std::string_view name) {
    if (!word.starts_with("--") || word.size() == 2)
        return false;
    return name.starts_with(word.substr(2));
}

// Refuses two different values among VALUES, all from one source.
void check_one_source(std::string_view name, std::vector<std::string>::const_iterator first,
                      std::vector<std::string>::const_iterator last, std::string_view where) {
    for (auto value = first; value != last; ++value) {
        if (*value != *first) {
            throw Error(ErrorKind::usage, "--" + std::string(name) +
                                              " is given twice with different values ('" + *first +
                                              "' and '" + *value + "') " + std::string(where) +
                                              ": give it once");
        }
    }
}

}  // namespace

std::vector<std::string> command_line_values(const std::vector<std::string>& args,
                                             std::string_view name) {
    std::vector<std::string> values;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view word = args[i];
        if (word == "--")
            break;
        const auto equals = word.find('=');
        if (!names_option(word.substr(0, equals), name))
            continue;
        if (equals != std::string_view::npos)
            values.emplace_back(word.substr(equals + 1));
        else if (i + 1 < args.size())
            values.push_back(args[++i]);
    }
    return values;
}

std::string inherited_option_variable(std::string_view plugin, std::string_view name) {
    std::string variable = "SLURM_SPANK__SLURM_SPANK_OPTION_";
    const auto canonical = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    };
    std::transform(plugin.begin(), plugin.end(), std::back_inserter(variable), canonical);
    variable += '_';
    std::transform(name.begin(), name.end(), std::back_inserter(variable), canonical);
    return variable;
}

void check_option_given_once(std::string_view name, const std::vector<std::string>& delivered,
                             const std::optional<std::string>& inherited,
                             const std::vector<std::string>& command_line) {
    auto first = delivered.begin();
    if (inherited && first != delivered.end() && *first == *inherited)
        ++first;
    // The command line's values come last. Words after the program (srun's COMMAND ARGS,
    // sbatch's script arguments) may look like the option too, so the command line's
    // share is the longest run of its values, from the first, that ends the delivered ones.
    const auto remaining = static_cast<std::size_t>(delivered.end() - first);
    std::size_t from_command_line = std::min(command_line.size(), remaining);
    while (from_command_line > 0 &&
           !std::equal(command_line.begin(),
                       command_line.begin() + static_cast<std::ptrdiff_t>(from_command_line),
                       delivered.end() - static_cast<std::ptrdiff_t>(from_command_line)))
        --from_command_line;
    const auto command_line_start =
        delivered.end() - static_cast<std::ptrdiff_t>(from_command_line);
    check_one_source(name, command_line_start, delivered.end(), "on the command line");
    check_one_source(name, first, command_line_start, "in the batch script's #SBATCH lines");
}

}  // namespace hpsweep::plugin
