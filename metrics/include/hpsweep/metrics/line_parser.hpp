#pragma once
// Metric lines in a trial's output (docs/metrics-format.md, "Reporting metrics"):
//
//   HPSWEEP_METRIC step=10 val_loss=0.25 val_acc=0.91
//   HPSWEEP_METRIC {"step": 10, "val_loss": 0.25, "val_acc": 0.91}
//
// The marker must start the line (leading blanks and anything before the last '\r' of a
// progress bar are skipped). `step` is a non-negative integer and optional; every other key
// is a metric name ([A-Za-z0-9_.:/-]+, at most 128 bytes) with a number as value (nan, inf
// accepted). A marker line that breaks any rule is malformed: the caller counts a warning and
// drops the whole line, the trial goes on. Any other line costs one memcmp.
//
// Regex metrics come from the experiment config: a pattern per metric applied to every line
// that is not a marker line, group 1 (or value_group) is the value, step_group (if not 0)
// the step.

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "hpsweep/metric_name.hpp"

namespace hpsweep::metrics {

inline constexpr std::string_view metric_marker = "HPSWEEP_METRIC";

struct ParsedValue {
    std::string_view name;  // points into the parsed line
    double value = 0;
};

struct ParsedLine {
    std::optional<std::int64_t> step;
    std::vector<ParsedValue> values;  // reused between lines: no allocation per line
    void clear() {
        step.reset();
        values.clear();
    }
};

enum class LineKind { not_metric, metric, malformed };

// Parses one line (without its '\n'). On malformed, `error` says what is wrong and where
// (column, 1-based, within the line).
LineKind parse_metric_line(std::string_view line, ParsedLine& out, std::string& error);

using hpsweep::is_valid_metric_name;

struct RegexMetric {
    // Throws Error(config) naming the metric when the pattern does not compile or has fewer
    // groups than asked for.
    RegexMetric(std::string metric_name, const std::string& pattern, int value_group = 1,
                int step_group = 0);
    std::string name;
    std::string pattern_text;
    std::regex pattern;
    int value_group = 1;
    int step_group = 0;
};

// Applies every regex to `line`; appends matches to out (names point into the RegexMetric).
// Returns false and sets `error` when a group matched but is not a number.
bool apply_regex_metrics(const std::vector<RegexMetric>& metrics, std::string_view line,
                         ParsedLine& out, std::string& error);

}  // namespace hpsweep::metrics
