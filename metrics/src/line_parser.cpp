// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside libstdc++'s
// <regex> (std::function in _State); the code it points at is the standard library's.
// (clang has no such warning and would warn about the unknown name.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "hpsweep/metrics/line_parser.hpp"

#include <charconv>
#include <cstring>

#include "hpsweep/error.hpp"

namespace hpsweep::metrics {

namespace {

bool is_blank(char c) noexcept {
    return c == ' ' || c == '\t';
}

std::string column_message(std::size_t column, std::string_view what) {
    return "column " + std::to_string(column + 1) + ": " + std::string(what);
}

// Whole-token number parsing: "0.25", "1e-3", "nan", "-inf". Returns false when any byte of
// the token is not part of the number.
bool parse_double(std::string_view token, double& value) noexcept {
    if (token.empty())
        return false;
    const char* first = token.data();
    if (*first == '+')
        ++first;  // from_chars rejects a leading '+', JSON writers never emit it
    const auto [end, ec] = std::from_chars(first, token.data() + token.size(), value);
    return ec == std::errc() && end == token.data() + token.size();
}

bool parse_step(std::string_view token, std::int64_t& step) noexcept {
    if (token.empty())
        return false;
    const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), step);
    return ec == std::errc() && end == token.data() + token.size() && step >= 0;
}

class Parser {
public:
    Parser(std::string_view text, std::size_t offset, ParsedLine& out, std::string& error)
        : text_(text), pos_(offset), out_(out), error_(error) {}

    bool key_values() {
        while (true) {
            skip_blanks();
            if (pos_ >= text_.size())
                break;
            const std::size_t key_start = pos_;
            while (pos_ < text_.size() && is_metric_name_char(text_[pos_])) ++pos_;
            const std::string_view key = text_.substr(key_start, pos_ - key_start);
            if (key.empty())
                return fail(key_start, "expected a metric name");
            if (pos_ >= text_.size() || text_[pos_] != '=') {
                return fail(pos_, "expected '=' after '" + std::string(key) + "'");
            }
            ++pos_;
            const std::size_t value_start = pos_;
            while (pos_ < text_.size() && !is_blank(text_[pos_])) ++pos_;
            if (!add(key, key_start, text_.substr(value_start, pos_ - value_start), value_start,
                     NameScan::chars_checked)) {
                return false;
            }
        }
        return finish();
    }

    bool json_object() {
        ++pos_;  // '{'
        skip_space();
        if (peek() == '}') {
            ++pos_;
            return end_of_object();
        }
        while (true) {
            skip_space();
            if (peek() != '"')
                return fail(pos_, "expected a quoted metric name");
            const std::size_t key_start = ++pos_;
            while (pos_ < text_.size() && text_[pos_] != '"' && text_[pos_] != '\\') ++pos_;
            if (pos_ >= text_.size())
                return fail(key_start, "unterminated metric name");
            if (text_[pos_] == '\\')
                return fail(pos_, "escapes are not allowed in metric names");
            const std::string_view key = text_.substr(key_start, pos_ - key_start);
            ++pos_;
            skip_space();
            if (peek() != ':')
                return fail(pos_, "expected ':' after \"" + std::string(key) + "\"");
            ++pos_;
            skip_space();
            const std::size_t value_start = pos_;
            while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '}' &&
                   !is_space(text_[pos_])) {
                ++pos_;
            }
            const std::string_view value = text_.substr(value_start, pos_ - value_start);
            if (!value.empty() && value.front() == '"') {
                return fail(value_start,
                            "value of '" + std::string(key) + "' is a string, not a number");
            }
            if (!add(key, key_start, value, value_start, NameScan::unchecked))
                return false;
            skip_space();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() == '}') {
                ++pos_;
                return end_of_object();
            }
            return fail(pos_, "expected ',' or '}'");
        }
    }

private:
    static bool is_space(char c) noexcept {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    }
    char peek() const noexcept { return pos_ < text_.size() ? text_[pos_] : '\0'; }
    void skip_blanks() {
        while (pos_ < text_.size() && is_blank(text_[pos_])) ++pos_;
    }
    void skip_space() {
        while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
    }
    bool fail(std::size_t column, std::string_view what) {
        error_ = column_message(column, what);
        return false;
    }
    bool end_of_object() {
        skip_space();
        if (pos_ != text_.size())
            return fail(pos_, "unexpected text after the JSON object");
        return finish();
    }
    bool finish() {
        if (out_.values.empty())
            return fail(text_.size(), "no metric values on the line");
        return true;
    }

    // key=value keys were scanned with is_metric_name_char already; JSON keys were not.
    enum class NameScan { unchecked, chars_checked };

    bool add(std::string_view key, std::size_t key_column, std::string_view value,
             std::size_t value_column, NameScan scan) {
        if (key == "step") {
            std::int64_t step = 0;
            if (out_.step)
                return fail(key_column, "'step' given twice");
            if (!parse_step(value, step)) {
                return fail(value_column, "step must be a non-negative integer, got '" +
                                              std::string(value) + "'");
            }
            out_.step = step;
            return true;
        }
        const bool valid = scan == NameScan::chars_checked ? has_valid_metric_name_shape(key)
                                                           : is_valid_metric_name(key);
        if (!valid) {
            return fail(key_column, "invalid metric name '" + std::string(key) +
                                        "' (allowed: letters, digits, _ . : / -; at most 128)");
        }
        double number = 0;
        if (!parse_double(value, number)) {
            return fail(value_column, "value of '" + std::string(key) + "' is not a number: '" +
                                          std::string(value) + "'");
        }
        for (const auto& existing : out_.values) {
            if (existing.name == key)
                return fail(key_column, "'" + std::string(key) + "' given twice");
        }
        out_.values.push_back({key, number});
        return true;
    }

    std::string_view text_;
    std::size_t pos_;
    ParsedLine& out_;
    std::string& error_;
};

}  // namespace

LineKind parse_metric_line(std::string_view line, ParsedLine& out, std::string& error) {
    out.clear();
    // Progress bars rewrite a terminal line with '\r'; only the last segment is what a
    // terminal would show.
    // memchr first: most lines have no '\r', and it is vectorised where rfind is not.
    if (!line.empty() && std::memchr(line.data(), '\r', line.size()) != nullptr) {
        const auto cr = line.rfind('\r');
        if (cr + 1 == line.size()) {
            line.remove_suffix(1);  // CRLF line ending
            const auto previous = line.rfind('\r');
            if (previous != std::string_view::npos)
                line.remove_prefix(previous + 1);
        } else {
            line.remove_prefix(cr + 1);
        }
    }
    std::size_t start = 0;
    while (start < line.size() && is_blank(line[start])) ++start;
    if (line.size() - start < metric_marker.size() ||
        std::memcmp(line.data() + start, metric_marker.data(), metric_marker.size()) != 0) {
        return LineKind::not_metric;
    }
    std::size_t pos = start + metric_marker.size();
    if (pos < line.size() && !is_blank(line[pos])) {
        return LineKind::not_metric;  // HPSWEEP_METRICS=..., some other word
    }
    while (pos < line.size() && is_blank(line[pos])) ++pos;
    Parser parser(line, pos, out, error);
    const bool ok =
        (pos < line.size() && line[pos] == '{') ? parser.json_object() : parser.key_values();
    if (!ok) {
        out.clear();
        return LineKind::malformed;
    }
    return LineKind::metric;
}

RegexMetric::RegexMetric(std::string metric_name, const std::string& pattern_string, int value,
                         int step)
    : name(std::move(metric_name)),
      pattern_text(pattern_string),
      value_group(value),
      step_group(step) {
    if (!is_valid_metric_name(name)) {
        throw Error(ErrorKind::config, "invalid metric name '" + name + "' for a regex metric");
    }
    try {
        pattern = std::regex(pattern_string, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
        throw Error(ErrorKind::config,
                    "metric '" + name + "': invalid regex '" + pattern_string + "': " + e.what());
    }
    const auto groups = static_cast<int>(pattern.mark_count());
    if (value_group < 0 || value_group > groups || step_group < 0 || step_group > groups) {
        throw Error(ErrorKind::config, "metric '" + name + "': regex '" + pattern_string +
                                           "' has " + std::to_string(groups) +
                                           " groups, fewer than the value/step group asked for");
    }
}

bool apply_regex_metrics(const std::vector<RegexMetric>& metrics, std::string_view line,
                         ParsedLine& out, std::string& error) {
    for (const auto& metric : metrics) {
        std::match_results<std::string_view::const_iterator> match;
        if (!std::regex_search(line.begin(), line.end(), match, metric.pattern))
            continue;
        const std::string_view value_text(match[metric.value_group].first,
                                          match[metric.value_group].second);
        double value = 0;
        if (!parse_double(value_text, value)) {
            error = "metric '" + metric.name + "': regex matched '" + std::string(value_text) +
                    "', not a number";
            return false;
        }
        if (metric.step_group > 0 && match[metric.step_group].matched) {
            const std::string_view step_text(match[metric.step_group].first,
                                             match[metric.step_group].second);
            std::int64_t step = 0;
            if (!parse_step(step_text, step)) {
                error = "metric '" + metric.name + "': regex step '" + std::string(step_text) +
                        "' is not a non-negative integer";
                return false;
            }
            out.step = step;
        }
        out.values.push_back({metric.name, value});
    }
    return true;
}

}  // namespace hpsweep::metrics
