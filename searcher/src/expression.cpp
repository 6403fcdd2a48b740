#include "hpsweep/searcher/expression.hpp"

#include "hpsweep/strings.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

namespace hpsweep::searcher {

namespace {

// Lists and ranges are materialised; anything bigger than this is a typo, not a sweep.
constexpr long long max_list_values = 10'000'000;

bool is_ident_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

class Parser {
public:
    explicit Parser(std::string_view text) : text_(text) {}

    Domain parse() {
        skip_space();
        if (at_end())
            return constant();
        if (peek() == '[')
            return list();
        const size_t start = column();
        std::string name;
        while (!at_end() && is_ident_char(peek())) name += text_[pos_++];
        skip_space();
        if (!name.empty() && !at_end() && peek() == '(') {
            return function(name, start);
        }
        pos_ = 0;
        return constant();
    }

private:
    std::string_view text_;
    size_t pos_ = 0;

    bool at_end() const { return pos_ >= text_.size(); }
    char peek() const { return text_[pos_]; }
    size_t column() const { return pos_ + 1; }
    void skip_space() {
        while (!at_end() && std::isspace(static_cast<unsigned char>(peek()))) ++pos_;
    }
    [[noreturn]] void fail(size_t col, const std::string& reason) const {
        throw ExpressionError(col, reason);
    }
    void expect_end(const char* what) {
        skip_space();
        if (!at_end()) {
            fail(column(), fmt::format("unexpected '{}' after the {}", text_.substr(pos_), what));
        }
    }

    Domain constant() const {
        Domain d;
        d.kind = Domain::Kind::constant;
        d.values.push_back(infer_value(std::string(text_)));
        return d;
    }

    // A quoted string with '...' or "..."; a backslash escapes the next character.
    Value quoted() {
        const char quote = text_[pos_];
        const size_t open = column();
        ++pos_;
        std::string out;
        while (!at_end() && peek() != quote) {
            if (peek() == '\\' && pos_ + 1 < text_.size())
                ++pos_;
            out += text_[pos_++];
        }
        if (at_end())
            fail(open, fmt::format("unterminated string: missing closing {}", quote));
        ++pos_;
        return make_string_value(out);
    }

    Domain list() {
        const size_t open = column();
        ++pos_;  // '['
        Domain d;
        d.kind = Domain::Kind::categorical;
        skip_space();
        if (!at_end() && peek() == ']')
            fail(open, "empty list: give at least one value");
        for (;;) {
            skip_space();
            if (at_end())
                fail(open, "missing ']' to close the list opened here");
            const size_t element_col = column();
            if (peek() == '\'' || peek() == '"') {
                d.values.push_back(quoted());
            } else if (peek() == '[') {
                fail(element_col, "nested lists are not supported");
            } else {
                const size_t start = pos_;
                while (!at_end() && peek() != ',' && peek() != ']') {
                    if (peek() == '\'' || peek() == '"' || peek() == '[') {
                        fail(column(), fmt::format("unexpected '{}' inside a value", peek()));
                    }
                    ++pos_;
                }
                const std::string word(trim(text_.substr(start, pos_ - start)));
                if (word.empty())
                    fail(element_col, "empty value in the list");
                d.values.push_back(infer_value(word));
            }
            skip_space();
            if (at_end())
                fail(open, "missing ']' to close the list opened here");
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() == ']') {
                ++pos_;
                break;
            }
            fail(column(), fmt::format("expected ',' or ']' but found '{}'", peek()));
        }
        if (d.values.size() > static_cast<size_t>(max_list_values))
            fail(open, "list too long");
        expect_end("list");
        return d;
    }

    struct Number {
        double value = 0;
        bool is_integer = false;
        long long integer = 0;
        size_t col = 0;
    };

    Number number() {
        skip_space();
        Number n;
        n.col = column();
        const size_t start = pos_;
        while (!at_end() && peek() != ',' && peek() != ')' &&
               !std::isspace(static_cast<unsigned char>(peek()))) {
            ++pos_;
        }
        std::string_view token = text_.substr(start, pos_ - start);
        if (token.empty())
            fail(n.col, "missing number");
        if (token.front() == '+')
            token.remove_prefix(1);
        const char* first = token.data();
        const char* last = token.data() + token.size();
        if (auto [p, ec] = std::from_chars(first, last, n.integer);
            ec == std::errc() && p == last) {
            n.is_integer = true;
            n.value = static_cast<double>(n.integer);
            return n;
        }
        if (auto [p, ec] = std::from_chars(first, last, n.value);
            ec == std::errc() && p == last && std::isfinite(n.value)) {
            return n;
        }
        fail(n.col, fmt::format("'{}' is not a number", text_.substr(start, pos_ - start)));
    }

    std::vector<Number> arguments(const std::string& name, size_t open_col) {
        ++pos_;  // '('
        std::vector<Number> args;
        skip_space();
        if (!at_end() && peek() == ')') {
            ++pos_;
            return args;
        }
        for (;;) {
            args.push_back(number());
            skip_space();
            if (at_end())
                fail(open_col, fmt::format("missing ')' to close {}(", name));
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() == ')') {
                ++pos_;
                return args;
            }
            fail(column(), fmt::format("expected ',' or ')' but found '{}'", peek()));
        }
    }

    Domain function(const std::string& name, size_t name_col) {
        if (name != "range" && name != "uniform" && name != "loguniform") {
            fail(name_col, fmt::format("unknown sweep function '{}' (expected range, uniform or "
                                       "loguniform, or a list like [1, 2])",
                                       name));
        }
        const size_t open_col = column();
        const auto args = arguments(name, open_col);
        expect_end((name + "(...)").c_str());
        if (name == "range")
            return range(args, name_col);
        return sampled(name, args, name_col);
    }

    Domain range(const std::vector<Number>& args, size_t name_col) {
        if (args.empty() || args.size() > 3) {
            fail(name_col, fmt::format("range takes 1 to 3 arguments (stop | start, stop | "
                                       "start, stop, step), got {}",
                                       args.size()));
        }
        const Number zero{0, true, 0, name_col};
        const Number one{1, true, 1, name_col};
        const Number& start = args.size() == 1 ? zero : args[0];
        const Number& stop = args.size() == 1 ? args[0] : args[1];
        const Number& step = args.size() == 3 ? args[2] : one;
        if (step.value == 0)
            fail(step.col, "range step must not be zero");
        const bool integers = start.is_integer && stop.is_integer && step.is_integer;
        // Integer ranges are counted and stepped exactly, in unsigned (modular) arithmetic:
        // near the ends of long long, start + i * step would overflow in between and a count
        // taken through double could step past stop.
        // Every value produced lies between start and stop, so it fits.
        using u64 = unsigned long long;
        double n_real = 0;
        if (integers) {
            const bool up = step.integer > 0;
            if (up ? start.integer < stop.integer : start.integer > stop.integer) {
                const u64 distance =
                    up ? static_cast<u64>(stop.integer) - static_cast<u64>(start.integer)
                       : static_cast<u64>(start.integer) - static_cast<u64>(stop.integer);
                const u64 stride =
                    up ? static_cast<u64>(step.integer) : 0 - static_cast<u64>(step.integer);
                n_real = static_cast<double>((distance - 1) / stride + 1);
            }
        } else {
            n_real = std::ceil((stop.value - start.value) / step.value);
        }
        if (n_real <= 0) {
            fail(name_col,
                 fmt::format("range({}, {}, {}) is empty", start.value, stop.value, step.value));
        }
        if (n_real > static_cast<double>(max_list_values)) {
            fail(name_col, "range has more than 10,000,000 values");
        }
        Domain d;
        d.kind = Domain::Kind::categorical;
        const auto n = static_cast<long long>(n_real);
        for (long long i = 0; i < n; ++i) {
            if (integers) {
                d.values.push_back(make_value(
                    static_cast<long long>(static_cast<u64>(start.integer) +
                                           static_cast<u64>(i) * static_cast<u64>(step.integer))));
            } else {
                d.values.push_back(make_value(start.value + static_cast<double>(i) * step.value));
            }
        }
        return d;
    }

    Domain sampled(const std::string& name, const std::vector<Number>& args, size_t name_col) {
        if (args.size() != 3) {
            fail(name_col,
                 fmt::format("{} takes 3 arguments (low, high, count), got {}", name, args.size()));
        }
        if (!args[2].is_integer || args[2].integer < 1) {
            fail(args[2].col, "count must be a positive integer");
        }
        if (args[2].integer > max_list_values)
            fail(args[2].col, "count is too large");
        if (!(args[0].value < args[1].value)) {
            fail(args[1].col, fmt::format("high ({}) must be greater than low ({})", args[1].value,
                                          args[0].value));
        }
        const bool log_scale = name == "loguniform";
        if (log_scale && args[0].value <= 0) {
            fail(args[0].col, "loguniform needs low > 0");
        }
        Domain d;
        d.kind = Domain::Kind::sampled;
        d.minval = args[0].value;
        d.maxval = args[1].value;
        d.count = args[2].integer;
        d.log_scale = log_scale;
        return d;
    }
};

}  // namespace

bool looks_like_sweep_expression(std::string_view text) {
    const std::string_view t = trim(text);
    if (t.empty())
        return false;
    if (t.front() == '[')
        return true;
    size_t i = 0;
    while (i < t.size() && is_ident_char(t[i])) ++i;
    if (i == 0)
        return false;
    const std::string_view name = t.substr(0, i);
    while (i < t.size() && std::isspace(static_cast<unsigned char>(t[i]))) ++i;
    if (i >= t.size() || t[i] != '(')
        return false;
    // A known function is an expression even when its ')' is missing (a typo to report);
    // another `word(...)` is one only when it is closed, so "f(x" stays a plain value.
    return name == "range" || name == "uniform" || name == "loguniform" || t.back() == ')';
}

Domain parse_sweep_expression(std::string_view text) {
    if (!looks_like_sweep_expression(text)) {
        Domain d;
        d.kind = Domain::Kind::constant;
        d.values.push_back(infer_value(std::string(text)));
        return d;
    }
    return Parser(text).parse();
}

}  // namespace hpsweep::searcher
