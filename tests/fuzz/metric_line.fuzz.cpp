// Metric lines in a trial's output (metrics/src/line_parser.cpp: parse_metric_line), every
// line the training process prints, key=value and JSON forms:
//   HPSWEEP_METRIC step=1 a=2
//   HPSWEEP_METRIC {"step": 1, "a": 2}
// Input: any bytes, split into lines at '\n' as the launcher does. The parser never throws
// (a malformed line is counted and dropped), so here any exception is a finding too, and the
// documented properties of what it returns are checked.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "hpsweep/metrics/line_parser.hpp"

using namespace hpsweep;
using namespace hpsweep::metrics;

namespace {

void check_line(std::string_view line, ParsedLine& parsed, std::string& error) {
    error.clear();
    LineKind kind = LineKind::not_metric;
    try {
        kind = parse_metric_line(line, parsed, error);
    } catch (const std::exception& e) {
        fuzz::finding("parse_metric_line threw (it must never throw): %s", e.what());
    }
    switch (kind) {
        case LineKind::not_metric:
            if (!parsed.values.empty() || parsed.step)
                fuzz::finding("a line that is not a metric line produced values");
            break;
        case LineKind::malformed:
            if (!parsed.values.empty() || parsed.step)
                fuzz::finding("a malformed line left values behind");
            if (!error.starts_with("column "))
                fuzz::finding("a malformed line's message does not start with a column: '%s'",
                              error.c_str());
            break;
        case LineKind::metric: {
            if (line.find(metric_marker) == std::string_view::npos)
                fuzz::finding("a metric line without the marker");
            if (parsed.values.empty())
                fuzz::finding("a metric line without values");
            if (parsed.step && *parsed.step < 0)
                fuzz::finding("a negative step was accepted");
            for (std::size_t i = 0; i < parsed.values.size(); ++i) {
                const auto& v = parsed.values[i];
                // Names point into the line (no copy per line): they must lie inside it.
                if (v.name.data() < line.data() ||
                    v.name.data() + v.name.size() > line.data() + line.size()) {
                    fuzz::finding("a metric name points outside the line");
                }
                if (!is_valid_metric_name(v.name))
                    fuzz::finding("invalid metric name accepted: '%.*s'",
                                  static_cast<int>(v.name.size()), v.name.data());
                for (std::size_t j = 0; j < i; ++j) {
                    if (parsed.values[j].name == v.name)
                        fuzz::finding("metric '%.*s' accepted twice on one line",
                                      static_cast<int>(v.name.size()), v.name.data());
                }
            }
            break;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input = fuzz::as_text(data, size);
    ParsedLine parsed;  // reused between lines, as the recorder does
    std::string error;
    std::size_t start = 0;
    while (start <= input.size()) {
        auto end = input.find('\n', start);
        if (end == std::string_view::npos)
            end = input.size();
        // A heap copy of exactly the line's bytes (no terminator), so that ASan reports any
        // read past its end.
        const std::vector<char> bytes(input.begin() + static_cast<std::ptrdiff_t>(start),
                                      input.begin() + static_cast<std::ptrdiff_t>(end));
        check_line(std::string_view(bytes.data(), bytes.size()), parsed, error);
        start = end + 1;
    }
    return 0;
}
