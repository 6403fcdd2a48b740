#include "hpsweep/contracts/trial_record.hpp"

#include <limits>

#include "hpsweep/contracts/json_fields.hpp"

namespace hpsweep {

nlohmann::ordered_json to_json(const TrialRecord& trial) {
    nlohmann::ordered_json j{
        {"id", trial.id}, {"hyperparameters", trial.hyperparameters}, {"argv", trial.argv}};
    if (trial.chosen_at_start)
        j["chosen_at_start"] = true;
    return j;
}

TrialRecord trial_from_json(const nlohmann::ordered_json& j, const std::string& source) {
    const contracts::JsonFields f(j, source);
    TrialRecord trial;
    trial.id = static_cast<long>(f.integer("id", 0, std::numeric_limits<long>::max()));
    trial.hyperparameters = f.nested("hyperparameters").object();
    for (const auto& word : f.array("argv")) {
        if (!word.is_string())
            f.fail("argv", "expected strings, found " + contracts::json_kind(word));
        trial.argv.push_back(word.get<std::string>());
    }
    trial.chosen_at_start = f.optional_boolean("chosen_at_start").value_or(false);
    if (trial.argv.empty())
        f.fail("argv", "empty: a trial needs a command to run");
    return trial;
}

}  // namespace hpsweep
