#pragma once
// One line of EXP/trials.jsonl: {"id": i, "hyperparameters": {...}, "argv": [...]}, plus
// "chosen_at_start": true for a placeholder of model-based search. Also the form of
// trials/<id>/trial.json, the configuration such a trial chose. Written by submit (and by the
// trial that chooses); read by the launcher (its trial), the summary and the read commands.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hpsweep {

struct TrialRecord {
    long id = 0;
    nlohmann::ordered_json hyperparameters = nlohmann::ordered_json::object();  // name -> typed value
    std::vector<std::string> argv;  // the exact command line the trial runs
    // The configuration is chosen when the trial starts (model-based search): the table holds
    // a placeholder (no hyper-parameters, argv = the entrypoint) until trials/<id>/trial.json
    // exists, and ExperimentDir::read_trials() shows that file's record instead.
    bool chosen_at_start = false;
};

nlohmann::ordered_json to_json(const TrialRecord& trial);
// `source` names the line in messages ("EXP/trials.jsonl:3"). Throws Error(data) naming the
// field. Other keys are ignored.
TrialRecord trial_from_json(const nlohmann::ordered_json& j,
                            const std::string& source = "trial record");

}  // namespace hpsweep
