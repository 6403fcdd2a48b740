#pragma once
// The search strategies, by the names experiment files and experiment.json use.

#include <optional>
#include <string>
#include <string_view>

namespace hpsweep {

enum class Strategy { single, grid, random, adaptive_asha, tpe, pbt };

// "single", "grid", "random", "adaptive_asha", "tpe", "pbt".
std::string_view strategy_name(Strategy strategy) noexcept;
// The strategy of that name; nullopt for any other word.
std::optional<Strategy> parse_strategy(std::string_view name) noexcept;
// "single, grid, random, adaptive_asha, tpe or pbt", for messages.
std::string strategy_names();

}  // namespace hpsweep
