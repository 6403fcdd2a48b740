#pragma once
// The value space of one hyper-parameter, whichever way the user wrote it: a plain value,
// a sweep expression ("[8, 16]", "range(1, 10, 2)", "uniform(lo, hi, n)",
// "loguniform(lo, hi, n)") or Determined's typed form ({type: int, minval, maxval, count}).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace hpsweep::searcher {

// One concrete value: typed (for the trial table) and as the text put on the command line.
// Values the user typed keep their exact spelling ("1e-5" stays "1e-5").
struct Value {
    nlohmann::ordered_json typed;
    std::string text;

    bool operator==(const Value& other) const { return typed == other.typed && text == other.text; }
};

Value make_value(long long v);
Value make_value(double v);
Value make_string_value(std::string v);
// A scalar as the user typed it: int if it reads as one, then double, then true/false, else string.
Value infer_value(const std::string& text);
// Shortest text that reads back as the same double ("0.001", "1e-05").
std::string format_double(double v);

// The random source of a sweep: a fixed 64-bit generator whose stream is the same on every
// platform (std::mt19937_64 is specified exactly), turned into doubles without the
// implementation-defined std::uniform_real_distribution.
class Random {
public:
    explicit Random(std::uint64_t seed) : engine_(seed) {}
    double uniform01();                             // [0, 1)
    double uniform(double lo, double hi);           // [lo, hi)
    std::uint64_t below(std::uint64_t n);           // [0, n), unbiased
    long long integer(long long lo, long long hi);  // [lo, hi], inclusive
private:
    std::mt19937_64 engine_;
};

// Seed of one hyper-parameter's draws: depends on the sweep seed and the name only, so adding
// a hyper-parameter never changes the values drawn for the others.
std::uint64_t derive_seed(std::uint64_t seed, const std::string& name);

struct Domain {
    enum class Kind {
        constant,      // one value
        categorical,   // a list of values ("[8, 16]", range(...), {type: categorical, vals})
        sampled,       // uniform(lo,hi,n) / loguniform(lo,hi,n): n values drawn from the seed
        int_range,     // {type: int, minval, maxval, count?}
        double_range,  // {type: double, minval, maxval, count?}
        log_range,     // {type: log, base, minval, maxval, count?}: base^x, x in [minval, maxval]
    };
    Kind kind = Kind::constant;
    std::vector<Value> values;  // constant (1 value), categorical
    double minval = 0;          // sampled / ranges (exponents for log_range)
    double maxval = 0;
    double base = 10;
    bool log_scale = false;  // sampled: loguniform
    std::optional<long long> count;

    // Number of distinct values a grid over this domain has; nullopt when the domain is
    // continuous (a typed range without count).
    std::optional<std::uint64_t> grid_size() const;
    // The grid points, deterministic for a given seed (only `sampled` uses the seed).
    std::vector<Value> grid_values(std::uint64_t seed) const;
    // One random draw (random search over continuous domains, single searcher).
    Value sample(Random& rng) const;
    // Human-readable summary for plans: "[8, 16, 32]", "uniform(1e-05, 0.01, 5)", "int[1..10]".
    std::string describe() const;
};

}  // namespace hpsweep::searcher
