#include "hpsweep/launcher/trial_hparams.hpp"

#include <cctype>

namespace hpsweep::launcher {

namespace {

std::string value_text(const nlohmann::ordered_json& value) {
    if (value.is_string())
        return value.get<std::string>();
    return value.dump();
}

}  // namespace

nlohmann::ordered_json nested_hyperparameters(const nlohmann::ordered_json& flat) {
    nlohmann::ordered_json nested = nlohmann::ordered_json::object();
    if (!flat.is_object())
        return nested;
    for (const auto& [name, value] : flat.items()) {
        nlohmann::ordered_json* group = &nested;
        std::string rest = name;
        bool placed = false;
        for (auto dot = rest.find('.'); dot != std::string::npos; dot = rest.find('.')) {
            const std::string part = rest.substr(0, dot);
            auto& child = (*group)[part];
            if (child.is_null())
                child = nlohmann::ordered_json::object();
            if (!child.is_object()) {
                nested[name] = value;  // "a" is a value already: keep "a.b" whole
                placed = true;
                break;
            }
            group = &child;
            rest = rest.substr(dot + 1);
        }
        if (!placed)
            (*group)[rest] = value;
    }
    return nested;
}

std::string hyperparameter_variable(const std::string& name) {
    std::string variable = "HPSWEEP_HP_";
    for (const char c : name) {
        const auto byte = static_cast<unsigned char>(c);
        variable += std::isalnum(byte) ? static_cast<char>(std::toupper(byte)) : '_';
    }
    return variable;
}

std::map<std::string, std::string> hyperparameter_variables(const nlohmann::ordered_json& flat) {
    std::map<std::string, std::string> variables;
    if (!flat.is_object())
        return variables;
    for (const auto& [name, value] : flat.items())
        variables[hyperparameter_variable(name)] = value_text(value);
    return variables;
}

}  // namespace hpsweep::launcher
