#include <fmt/format.h>

#include <cctype>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/config.hpp"

namespace hpsweep::searcher {

std::vector<std::string> split_command_words(const std::string& command) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    for (size_t i = 0; i < command.size(); ++i) {
        const char c = command[i];
        if (c == '\'' || c == '"') {
            // Single quotes take everything literally; in double quotes a backslash escapes.
            size_t j = i + 1;
            for (; j < command.size() && command[j] != c; ++j) {
                if (c == '"' && command[j] == '\\' && j + 1 < command.size())
                    ++j;
                word += command[j];
            }
            if (j >= command.size()) {
                throw Error(ErrorKind::config,
                            fmt::format("column {}: unterminated {} quote", i + 1, c));
            }
            i = j;
            in_word = true;
        } else if (c == '\\' && i + 1 < command.size()) {
            word += command[++i];
            in_word = true;
        } else if (std::isspace(static_cast<unsigned char>(c))) {
            if (in_word)
                words.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else {
            word += c;
            in_word = true;
        }
    }
    if (in_word)
        words.push_back(std::move(word));
    return words;
}

}  // namespace hpsweep::searcher
