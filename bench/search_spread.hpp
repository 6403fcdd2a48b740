#pragma once
// The spread the search benchmarks (search, search_tpe, search_pbt) print over their seeds.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <vector>

namespace hpsweep::bench {

struct Spread {
    double mean = 0, sd = 0, median = 0, low = 0, high = 0;
};

// Mean, sample standard deviation, median, min and max; all 0 for no values.
inline Spread spread_of(std::vector<double> values) {
    Spread s;
    if (values.empty())
        return s;
    std::sort(values.begin(), values.end());
    const double n = static_cast<double>(values.size());
    s.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
    double squares = 0;
    for (double v : values) squares += (v - s.mean) * (v - s.mean);
    s.sd = values.size() > 1 ? std::sqrt(squares / (n - 1)) : 0;
    const std::size_t mid = values.size() / 2;
    s.median = values.size() % 2 ? values[mid] : 0.5 * (values[mid - 1] + values[mid]);
    s.low = values.front();
    s.high = values.back();
    return s;
}

}  // namespace hpsweep::bench
