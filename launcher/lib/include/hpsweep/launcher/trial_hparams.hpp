#pragma once
// A trial's hyper-parameters for programs that do not read them as command-line flags (a
// ported Determined script calls context.get_hparams()): the same values as a JSON file,
// $HPSWEEP_HPARAMS, and one variable per hyper-parameter, $HPSWEEP_HP_<NAME>.
//
//   hparams.json      {"lr": 0.01, "optimizer": {"momentum": 0.9}}  (dotted names nested, as
//                     Determined's nested hyper-parameter groups are)
//   HPSWEEP_HP_LR=0.01, HPSWEEP_HP_OPTIMIZER_MOMENTUM=0.9  (name upper-cased, every character
//                     other than a letter or digit turned into '_'; strings unquoted)

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace hpsweep::launcher {

// Dotted names ("optimizer.momentum") become nested objects; a name that is both a value and
// a group ("a" and "a.b") keeps the value under its full dotted name.
nlohmann::ordered_json nested_hyperparameters(const nlohmann::ordered_json& flat);

// "optimizer.momentum" -> "HPSWEEP_HP_OPTIMIZER_MOMENTUM".
std::string hyperparameter_variable(const std::string& name);

// HPSWEEP_HP_<NAME> -> value as the program would have read it from its flag.
std::map<std::string, std::string> hyperparameter_variables(const nlohmann::ordered_json& flat);

}  // namespace hpsweep::launcher
