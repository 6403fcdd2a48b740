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
    nlohmann::ordered_json hyperparameters =
        nlohmann::ordered_json::object();  // name -> typed value
    std::vector<std::string> argv;         // the exact command line the trial runs
    // The configuration is chosen when the trial starts (model-based search): the table holds
    // a placeholder (no hyper-parameters, argv = the entrypoint) until trials/<id>/trial.json
    // exists, and ExperimentDir::read_trials() shows that file's record instead.
    bool chosen_at_start = false;
    // "hp_hash": hyperparameter_hash() of the row, recorded by `hpsweep extend` on the rows
    // it adds (rows written at submit have none; it is recomputed from hyperparameters).
    std::string hp_hash;
};

nlohmann::ordered_json to_json(const TrialRecord& trial);
// `source` names the line in messages ("EXP/trials.jsonl:3"). Throws Error(data) naming the
// field. Other keys are ignored.
TrialRecord trial_from_json(const nlohmann::ordered_json& j,
                            const std::string& source = "trial record");

// What makes two trials "the same configuration" (`hpsweep extend` skips configurations
// already in the table, docs/user-guide.md): the hyper-parameters as canonical JSON, keys
// sorted at every level, numbers by value (0.1, 0.10 and 1e-1 are one number; 1 and 1.0 are
// one number; the shortest text that reads back as the same double), strings as JSON strings
// (the string "0.1" is not the number 0.1). The argv spelling does not count.
std::string canonical_json(const nlohmann::ordered_json& value);
// XXH3-64 of canonical_json(hyperparameters), "xxh3-64:" and 16 hex digits.
std::string hyperparameter_hash(const nlohmann::ordered_json& hyperparameters);

}  // namespace hpsweep
