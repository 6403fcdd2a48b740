#pragma once
// What `submit --dry-run` and `extend` print about the trials they plan, the same way: the
// size beyond which a plan needs --force, and the trial list that text output shortens.

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hpsweep/contracts/trial_record.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::cli {

// Sweeps (and extensions) larger than this are almost always a typo (one range too many);
// --force allows them.
inline constexpr std::uint64_t max_trials_without_force = 100'000;
// Text output lists this many trials; --json lists them all.
inline constexpr size_t trials_shown = 20;

// One line per trial, "  ID  ARGV" shell-quoted, the first trials_shown of them.
inline void print_trial_commands(const std::vector<TrialRecord>& trials) {
    for (size_t i = 0; i < trials.size() && i < trials_shown; ++i) {
        std::vector<std::string> words;
        for (const auto& w : trials[i].argv) words.push_back(shell_quote(w));
        std::printf("  %4ld  %s\n", trials[i].id, join(words, " ").c_str());
    }
    if (trials.size() > trials_shown)
        std::printf("  ... and %zu more (--json lists them all)\n", trials.size() - trials_shown);
}

// The trials as the trial table writes them.
inline nlohmann::ordered_json trials_json(const std::vector<TrialRecord>& trials) {
    nlohmann::ordered_json table = nlohmann::ordered_json::array();
    for (const auto& t : trials) table.push_back(hpsweep::to_json(t));
    return table;
}

}  // namespace hpsweep::cli
