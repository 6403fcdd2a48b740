// Sweep expressions: what `hpsweep run SCRIPT --lr "loguniform(1e-5, 1e-1, 4)"` and every
// scalar hyper-parameter of an experiment file go through (searcher/src/expression.cpp),
// and the domain they produce, used the way the planner uses it (grid, samples, summary).
#include <cmath>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "hpsweep/searcher/expression.hpp"

using namespace hpsweep;
using namespace hpsweep::searcher;

namespace {

// Grids bigger than this are not materialised here (the planner caps sweeps the same way);
// the parser itself is still run on them.
constexpr std::uint64_t max_grid_checked = 4096;

void check_domain(std::string_view text, const Domain& d) {
    if (!looks_like_sweep_expression(text)) {
        // Documented: a plain value becomes a constant whose text is exactly the input.
        if (d.kind != Domain::Kind::constant || d.values.size() != 1 || d.values[0].text != text) {
            fuzz::finding("a plain value did not become a constant with the input's text");
        }
    }
    const auto size = d.grid_size();
    if (!size || *size == 0) {
        fuzz::finding("an expression produced an empty or continuous domain: %s",
                      d.describe().c_str());
    }
    // Lists and ranges of up to 10,000,000 values are allowed (max_list_values): the
    // linear-time uses are left to the grids small enough to check below.
    if (*size <= max_grid_checked)
        (void)d.describe();
    Random rng(derive_seed(42, "fuzz"));
    for (int i = 0; i < 4; ++i) {
        const Value v = d.sample(rng);
        if (!fuzz::is_usable_value(v.typed))
            fuzz::finding("%s sampled the value %s", d.describe().c_str(), v.text.c_str());
    }
    if (*size <= max_grid_checked) {
        const auto grid = d.grid_values(7);
        for (const auto& v : grid) {
            if (!fuzz::is_usable_value(v.typed))
                fuzz::finding("%s has the grid value %s", d.describe().c_str(), v.text.c_str());
        }
        if (grid.size() != *size) {
            fuzz::finding("grid_size() says %llu but grid_values() has %zu values",
                          static_cast<unsigned long long>(*size), grid.size());
        }
        if (d.kind == Domain::Kind::sampled) {
            // Draws stay in [low, high] (log draws: up to rounding of exp(log(x))).
            const double slack = d.log_scale ? 1e-12 : 0.0;
            for (const auto& v : grid) {
                const double x = v.typed.get<double>();
                if (!std::isfinite(x) || x < d.minval * (d.minval < 0 ? 1 + slack : 1 - slack) ||
                    x > d.maxval * (d.maxval < 0 ? 1 - slack : 1 + slack)) {
                    fuzz::finding("%s drew %s, outside [%g, %g]", d.describe().c_str(),
                                  v.text.c_str(), d.minval, d.maxval);
                }
            }
        }
        // Deterministic for a given seed (trial tables are recomputed from the seed).
        if (!(d.grid_values(7) == grid))
            fuzz::finding("grid_values() differs between two calls with the same seed");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);
    try {
        const Domain d = parse_sweep_expression(text);
        check_domain(text, d);
    } catch (const ExpressionError& e) {
        // The column points into the text (callers turn it into file:line:col).
        if (e.column() < 1 || e.column() > text.size() + 1) {
            fuzz::finding("error column %zu outside the %zu-byte expression: %s", e.column(),
                          text.size(), e.what());
        }
    } catch (const Error&) {
        // Other documented bad-input errors.
    } catch (const std::exception& e) {
        fuzz::finding("an exception other than hpsweep::Error escaped: %s", e.what());
    }
    return 0;
}
