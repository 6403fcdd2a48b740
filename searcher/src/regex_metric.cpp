// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside libstdc++'s
// <regex> (std::function in _State), as in metrics/src/line_parser.cpp; clang has no such
// warning and would warn about the unknown name.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <fmt/format.h>

#include <regex>

#include "hpsweep/error.hpp"
#include "hpsweep/metric_name.hpp"
#include "hpsweep/searcher/config.hpp"

namespace hpsweep::searcher {

RegexMetricConfig make_regex_metric(const std::string& name, const std::string& pattern,
                                    const std::string& origin) {
    const auto fail = [&](const std::string& message) {
        throw Error(ErrorKind::config, fmt::format("{}: metric '{}': {}", origin, name, message));
    };
    if (!is_valid_metric_name(name)) {
        fail(
            "invalid metric name (allowed: letters, digits, _ . : / -; at most 128; not "
            "'step')");
    }
    if (pattern.empty())
        fail("the regex is empty");
    RegexMetricConfig metric;
    metric.name = name;
    metric.pattern = pattern;
    metric.origin = origin;
    metric.value_group = 0;
    // One pass over the pattern: count capturing groups the way ECMAScript does (an unescaped
    // '(' outside a [class] that is not "(?"), and strip the names of "(?P<n>" / "(?<n>".
    std::vector<int> unnamed_groups;
    int groups = 0;
    bool in_class = false;
    std::string& out = metric.ecmascript;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '\\') {
            out += c;
            if (i + 1 < pattern.size())
                out += pattern[++i];
            continue;
        }
        if (in_class) {
            in_class = c != ']';
            out += c;
            continue;
        }
        if (c == '[') {
            in_class = true;
            out += c;
            continue;
        }
        if (c != '(') {
            out += c;
            continue;
        }
        if (i + 1 >= pattern.size() || pattern[i + 1] != '?') {
            unnamed_groups.push_back(++groups);
            out += c;
            continue;
        }
        std::size_t name_start = 0;
        if (pattern.compare(i + 2, 2, "P<") == 0) {
            name_start = i + 4;
        } else if (i + 3 < pattern.size() && pattern[i + 2] == '<' && pattern[i + 3] != '=' &&
                   pattern[i + 3] != '!') {
            name_start = i + 3;
        }
        if (name_start == 0) {  // (?: (?= (?! and friends: not capturing
            out += c;
            continue;
        }
        const std::size_t close = pattern.find('>', name_start);
        if (close == std::string::npos) {
            fail(fmt::format("column {} of the regex: group name not closed with '>'", i + 1));
        }
        const std::string group = pattern.substr(name_start, close - name_start);
        if (group != "value" && group != "step") {
            fail(
                fmt::format("column {} of the regex: group name '{}' (only 'value' and 'step' "
                            "mean something)",
                            name_start + 1, group));
        }
        int& slot = group == "value" ? metric.value_group : metric.step_group;
        if (slot != 0) {
            fail(fmt::format("column {} of the regex: group '{}' given twice", name_start + 1,
                             group));
        }
        slot = ++groups;
        out += '(';
        i = close;
    }
    if (in_class)
        fail("the regex has a '[' that is not closed");
    if (metric.value_group == 0) {
        if (unnamed_groups.size() != 1) {
            fail(
                fmt::format("regex '{}' has {} unnamed capturing groups: it needs exactly one "
                            "(the value), or a group named 'value': (?P<value>...)",
                            pattern, unnamed_groups.size()));
        }
        metric.value_group = unnamed_groups.front();
    }
    try {
        const std::regex compiled(metric.ecmascript, std::regex::ECMAScript);
        if (static_cast<int>(compiled.mark_count()) != groups) {
            fail(fmt::format("regex '{}': hpsweep counted {} groups, std::regex {}", pattern,
                             groups, compiled.mark_count()));
        }
    } catch (const std::regex_error& e) {
        fail(fmt::format("invalid regex '{}' (ECMAScript syntax): {}", pattern, e.what()));
    }
    return metric;
}

MetricsRecord to_record(const MetricsConfig& metrics) {
    MetricsRecord record;
    for (const auto& m : metrics.regex) record.regex.emplace_back(m.name, m.pattern);
    record.lightning_csv = metrics.lightning_csv;
    return record;
}

}  // namespace hpsweep::searcher
