#pragma once
// What a metric may be called, wherever a name comes from (a metric line, a Lightning CSV
// column, a regex metric of the experiment config): it becomes an HDF5 dataset path and a key
// of result.json. python/hpsweep keeps its own copy (it has no C++ to call), compared with
// the recorder's by tests/python/test_metric_name_rule.py.

#include <cstddef>
#include <string_view>

namespace hpsweep {

inline constexpr std::size_t max_metric_name_length = 128;

constexpr bool is_metric_name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '/' || c == '-';
}

// The rules other than the characters: "step" is the step's own key; "." and ".." would be
// odd HDF5 link names; '/' at the ends would make empty groups.
constexpr bool has_valid_metric_name_shape(std::string_view name) noexcept {
    return !name.empty() && name.size() <= max_metric_name_length && name != "step" &&
           name != "." && name != ".." && name.front() != '/' && name.back() != '/';
}

constexpr bool is_valid_metric_name(std::string_view name) noexcept {
    for (const char c : name) {
        if (!is_metric_name_char(c))
            return false;
    }
    return has_valid_metric_name_shape(name);
}

}  // namespace hpsweep
