#pragma once
// The search strategies, by the names experiment files and experiment.json use.

#include <optional>
#include <string>
#include <string_view>

namespace hpsweep {

enum class Strategy { single, grid, random, adaptive_asha, tpe, pbt, bohb };

// What a strategy does at run time, one predicate per capability, so that the submit path,
// the launcher and the CLI ask the same question instead of comparing names:
// - chooses_at_start: the table holds placeholder rows and each trial's hpsweep-launch picks
//   its configuration when its task starts, from the results published so far, and
//   publishes its final value when it completes (tpe, bohb);
// - stops_early: trials are judged at ASHA's rungs and may be stopped (adaptive_asha, bohb).
bool chooses_at_start(Strategy strategy) noexcept;
bool stops_early(Strategy strategy) noexcept;

// "single", "grid", "random", "adaptive_asha", "tpe", "pbt", "bohb".
std::string_view strategy_name(Strategy strategy) noexcept;
// The strategy of that name; nullopt for any other word.
std::optional<Strategy> parse_strategy(std::string_view name) noexcept;
// "single, grid, random, adaptive_asha, tpe, pbt or bohb", for messages.
std::string strategy_names();

}  // namespace hpsweep
