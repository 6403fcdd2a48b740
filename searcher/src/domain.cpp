#include "hpsweep/searcher/domain.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>

#include "hpsweep/error.hpp"

namespace hpsweep::searcher {

Value make_value(long long v) {
    return Value{v, std::to_string(v)};
}
Value make_value(double v) {
    return Value{v, format_double(v)};
}
Value make_string_value(std::string v) {
    return Value{v, v};
}

std::string format_double(double v) {
    // fmt's default for double is the shortest round-trip form; keep a ".0" off integers
    // only where fmt already writes them without one ("2" would read back as an int, so
    // integral doubles keep their decimal point).
    std::string text = fmt::format("{}", v);
    if (text.find_first_of(".eEn") == std::string::npos)
        text += ".0";
    return text;
}

Value infer_value(const std::string& text) {
    if (text.empty())
        return make_string_value(text);
    const char* first = text.data();
    const char* last = text.data() + text.size();
    const char* digits = (*first == '+') ? first + 1 : first;
    long long integer = 0;
    if (auto [p, ec] = std::from_chars(digits, last, integer); ec == std::errc() && p == last) {
        return Value{integer, text};
    }
    double real = 0;
    if (auto [p, ec] = std::from_chars(digits, last, real);
        ec == std::errc() && p == last && std::isfinite(real)) {
        return Value{real, text};
    }
    if (text == "true" || text == "True")
        return Value{true, text};
    if (text == "false" || text == "False")
        return Value{false, text};
    return make_string_value(text);
}

double Random::uniform01() {
    // 53 random bits -> a double in [0, 1), exactly representable.
    return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
}

namespace {
// lo + (hi - lo) * t, also when hi - lo overflows (bounds near +-DBL_MAX): then the two ends
// are weighted instead, which cannot overflow for t in [0, 1] (uniform(-1e308, 1e308, 3)
// would otherwise draw inf and nan).
double interpolate(double lo, double hi, double numerator, double denominator = 1) {
    const double span = hi - lo;
    if (std::isfinite(span))
        return lo + span * numerator / denominator;
    const double t = numerator / denominator;
    return lo * (1 - t) + hi * t;
}
}  // namespace

double Random::uniform(double lo, double hi) {
    return interpolate(lo, hi, uniform01());
}

std::uint64_t Random::below(std::uint64_t n) {
    if (n == 0)
        return 0;
    // Rejection sampling: drop the top partial copy of [0, n) to stay unbiased.
    const std::uint64_t limit =
        std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
    for (;;) {
        const std::uint64_t r = engine_();
        if (r < limit)
            return r % n;
    }
}

long long Random::integer(long long lo, long long hi) {
    const auto span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
    return static_cast<long long>(static_cast<std::uint64_t>(lo) + below(span));
}

std::uint64_t derive_seed(std::uint64_t seed, const std::string& name) {
    // FNV-1a over the name, mixed with the seed by splitmix64's finaliser.
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : name) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL + h;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

namespace {

long long ceil_ll(double v) {
    return static_cast<long long>(std::ceil(v));
}
long long floor_ll(double v) {
    return static_cast<long long>(std::floor(v));
}

// Determined's rule for int grids: `count` values taken evenly from [minval, maxval],
// endpoints included; a count above the number of integers means every integer.
std::vector<Value> int_grid(long long lo, long long hi, std::optional<long long> count) {
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    std::vector<Value> out;
    if (!count || static_cast<std::uint64_t>(*count) >= span) {
        for (long long v = lo; v <= hi; ++v) out.push_back(make_value(v));
        return out;
    }
    if (*count == 1)
        return {make_value(lo)};
    long long previous = std::numeric_limits<long long>::min();
    for (long long i = 0; i < *count; ++i) {
        const double x = static_cast<double>(lo) + static_cast<double>(hi - lo) *
                                                       static_cast<double>(i) /
                                                       static_cast<double>(*count - 1);
        const long long v = std::llround(x);
        if (v != previous)
            out.push_back(make_value(v));
        previous = v;
    }
    return out;
}

std::vector<double> linspace(double lo, double hi, long long count) {
    if (count == 1)
        return {lo};
    std::vector<double> out;
    for (long long i = 0; i < count; ++i) {
        out.push_back(i == count - 1 ? hi
                                     : interpolate(lo, hi, static_cast<double>(i),
                                                   static_cast<double>(count - 1)));
    }
    return out;
}

}  // namespace

std::optional<std::uint64_t> Domain::grid_size() const {
    switch (kind) {
        case Kind::constant:
        case Kind::categorical:
            return values.size();
        case Kind::sampled:
            return static_cast<std::uint64_t>(count.value_or(1));
        case Kind::int_range: {
            const auto span = static_cast<std::uint64_t>(floor_ll(maxval) - ceil_ll(minval)) + 1;
            if (!count)
                return span;
            return std::min<std::uint64_t>(span, static_cast<std::uint64_t>(*count));
        }
        case Kind::double_range:
        case Kind::log_range:
            if (!count)
                return std::nullopt;
            return static_cast<std::uint64_t>(*count);
    }
    return std::nullopt;
}

std::vector<Value> Domain::grid_values(std::uint64_t seed) const {
    switch (kind) {
        case Kind::constant:
        case Kind::categorical:
            return values;
        case Kind::sampled: {
            Random rng(seed);
            std::vector<Value> out;
            for (long long i = 0; i < count.value_or(1); ++i) out.push_back(sample(rng));
            return out;
        }
        case Kind::int_range:
            return int_grid(ceil_ll(minval), floor_ll(maxval), count);
        case Kind::double_range:
        case Kind::log_range: {
            if (!count) {
                throw Error(ErrorKind::config,
                            "a " + std::string(kind == Kind::log_range ? "log" : "double") +
                                " range needs 'count' to be searched on a grid");
            }
            std::vector<Value> out;
            for (double x : linspace(minval, maxval, *count)) {
                out.push_back(make_value(kind == Kind::log_range ? std::pow(base, x) : x));
            }
            return out;
        }
    }
    return {};
}

Value Domain::sample(Random& rng) const {
    switch (kind) {
        case Kind::constant:
            return values.front();
        case Kind::categorical:
            return values[rng.below(values.size())];
        case Kind::sampled:
            if (log_scale) {
                return make_value(std::exp(rng.uniform(std::log(minval), std::log(maxval))));
            }
            return make_value(rng.uniform(minval, maxval));
        case Kind::int_range:
            return make_value(rng.integer(ceil_ll(minval), floor_ll(maxval)));
        case Kind::double_range:
            return make_value(rng.uniform(minval, maxval));
        case Kind::log_range:
            return make_value(std::pow(base, rng.uniform(minval, maxval)));
    }
    return values.front();
}

std::string Domain::describe() const {
    auto list = [this] {
        std::string out = "[";
        for (size_t i = 0; i < values.size(); ++i) {
            if (i)
                out += ", ";
            out += values[i].typed.is_string() ? "'" + values[i].text + "'" : values[i].text;
        }
        return out + "]";
    };
    const std::string count_text = count ? fmt::format(", count={}", *count) : "";
    switch (kind) {
        case Kind::constant:
            return values.front().text;
        case Kind::categorical:
            return list();
        case Kind::sampled:
            return fmt::format("{}({}, {}, {})", log_scale ? "loguniform" : "uniform",
                               format_double(minval), format_double(maxval), count.value_or(1));
        case Kind::int_range:
            return fmt::format("int[{}, {}{}]", ceil_ll(minval), floor_ll(maxval), count_text);
        case Kind::double_range:
            return fmt::format("double[{}, {}{}]", format_double(minval), format_double(maxval),
                               count_text);
        case Kind::log_range:
            return fmt::format("log{}[{}, {}{}]", base, format_double(minval),
                               format_double(maxval), count_text);
    }
    return "?";
}

}  // namespace hpsweep::searcher
