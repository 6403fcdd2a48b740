#pragma once
// One line of EXP/trials.jsonl: {"id": i, "hyperparameters": {...}, "argv": [...]}. Written
// once by submit; read by the launcher (its trial), the summary and the read commands.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hpsweep {

struct TrialRecord {
    long id = 0;
    nlohmann::ordered_json hyperparameters = nlohmann::ordered_json::object();  // name -> typed value
    std::vector<std::string> argv;  // the exact command line the trial runs
};

nlohmann::ordered_json to_json(const TrialRecord& trial);
// `source` names the line in messages ("EXP/trials.jsonl:3"). Throws Error(data) naming the
// field. Keys other than these three are ignored.
TrialRecord trial_from_json(const nlohmann::ordered_json& j,
                            const std::string& source = "trial record");

}  // namespace hpsweep
