#include "hpsweep/contracts/strategy.hpp"

#include <array>
#include <utility>

namespace hpsweep {

namespace {
constexpr std::array<std::pair<Strategy, std::string_view>, 7> strategies = {{
    {Strategy::single, "single"},
    {Strategy::grid, "grid"},
    {Strategy::random, "random"},
    {Strategy::adaptive_asha, "adaptive_asha"},
    {Strategy::tpe, "tpe"},
    {Strategy::pbt, "pbt"},
    {Strategy::bohb, "bohb"},
}};
}  // namespace

bool chooses_at_start(Strategy strategy) noexcept {
    return strategy == Strategy::tpe || strategy == Strategy::bohb;
}

bool stops_early(Strategy strategy) noexcept {
    return strategy == Strategy::adaptive_asha || strategy == Strategy::bohb;
}

std::string_view strategy_name(Strategy strategy) noexcept {
    for (const auto& [value, name] : strategies) {
        if (value == strategy)
            return name;
    }
    return "unknown";
}

std::optional<Strategy> parse_strategy(std::string_view name) noexcept {
    for (const auto& [value, word] : strategies) {
        if (word == name)
            return value;
    }
    return std::nullopt;
}

std::string strategy_names() {
    std::string out;
    for (std::size_t i = 0; i < strategies.size(); ++i) {
        if (i > 0)
            out += i + 1 == strategies.size() ? " or " : ", ";
        out += strategies[i].second;
    }
    return out;
}

}  // namespace hpsweep
