#pragma once
// Grid-compatible sweep expressions, the values a `--flag` or a YAML hyper-parameter may take:
//
//   "[8, 16, 32]"  "['a', 'b']"  "[resnet18, resnet50]"   a list (categorical)
//   "range(1, 10, 2)"                                      Python's range: 1, 3, 5, 7, 9
//   "uniform(1e-5, 1e-2, 5)"                               5 draws from U[lo, hi), seeded
//   "loguniform(1e-5, 1e-1, 4)"                            4 draws, uniform in log space
//   anything else                                          a plain value (one trial)

#include <cstddef>
#include <string>
#include <string_view>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/domain.hpp"

namespace hpsweep::searcher {

// A malformed expression. what() is "column N: reason"; callers that know where the text
// came from (a flag, file:line:col) rebuild the message with column() and reason().
class ExpressionError : public Error {
public:
    ExpressionError(std::size_t column, const std::string& reason)
        : Error(ErrorKind::config, "column " + std::to_string(column) + ": " + reason),
          column_(column),
          reason_(reason) {}
    std::size_t column() const noexcept { return column_; }  // 1-based, in the given text
    const std::string& reason() const noexcept { return reason_; }

private:
    std::size_t column_;
    std::string reason_;
};

// True when the text is meant as a sweep (starts with '[' or is `word(...)`), so a typo in
// one is reported instead of being taken silently as a plain string.
bool looks_like_sweep_expression(std::string_view text);

// Parses one expression; throws ExpressionError. A plain value becomes a constant domain
// whose text is exactly the input.
Domain parse_sweep_expression(std::string_view text);

}  // namespace hpsweep::searcher
