#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hpsweep {

std::string_view trim(std::string_view s) noexcept;
std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
bool starts_with(std::string_view s, std::string_view prefix) noexcept;
// Quotes a word for POSIX sh so that it is passed through literally ('...' with '\'' escapes).
std::string shell_quote(std::string_view word);
// Offset of the first byte that is not part of valid UTF-8 (overlong forms, surrogates and
// code points above U+10FFFF are invalid too), or npos. JSON output (experiment.json,
// trials, results) can only carry valid UTF-8, so user text is checked where it comes in.
std::size_t invalid_utf8_offset(std::string_view s) noexcept;
// Levenshtein distance, for "did you mean" suggestions on short words (quadratic).
std::size_t edit_distance(std::string_view a, std::string_view b);
// Human-readable byte sizes: "500G", "1.5T", "1024" (bytes). Throws Error(config) on bad input.
unsigned long long parse_size(std::string_view text);

}  // namespace hpsweep
