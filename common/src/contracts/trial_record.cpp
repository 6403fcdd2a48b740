#include "hpsweep/contracts/trial_record.hpp"

#define XXH_INLINE_ALL  // header-only: the common library (and the plugin) gains no link dependency
#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "hpsweep/contracts/json_fields.hpp"

namespace hpsweep {

nlohmann::ordered_json to_json(const TrialRecord& trial) {
    nlohmann::ordered_json j{
        {"id", trial.id}, {"hyperparameters", trial.hyperparameters}, {"argv", trial.argv}};
    if (trial.chosen_at_start)
        j["chosen_at_start"] = true;
    if (!trial.hp_hash.empty())
        j["hp_hash"] = trial.hp_hash;
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
    trial.hp_hash = f.optional_string("hp_hash").value_or("");
    if (trial.argv.empty())
        f.fail("argv", "empty: a trial needs a command to run");
    return trial;
}

namespace {

// A number by its value: integral doubles below 2^53 as the integer they equal (1.0 -> 1),
// others as the shortest text that reads back as the same double (0.10 -> 0.1).
std::string canonical_number(const nlohmann::ordered_json& number) {
    if (number.is_number_integer())
        return number.dump();
    const double v = number.get<double>();
    if (!std::isfinite(v))
        return "null";  // what nlohmann writes for NaN and infinities
    constexpr double exact_integers = 9007199254740992.0;  // 2^53
    if (v == std::floor(v) && std::fabs(v) < exact_integers)
        return std::to_string(static_cast<long long>(v));  // -0.0 too becomes 0
    char buf[32];
    const auto result = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, result.ptr);
}

void append_canonical(const nlohmann::ordered_json& value, std::string& out) {
    if (value.is_object()) {
        std::vector<std::string> keys;
        for (const auto& [key, _] : value.items()) keys.push_back(key);
        std::sort(keys.begin(), keys.end());
        out += '{';
        for (size_t i = 0; i < keys.size(); ++i) {
            if (i > 0)
                out += ',';
            out += nlohmann::ordered_json(keys[i]).dump();
            out += ':';
            append_canonical(value.at(keys[i]), out);
        }
        out += '}';
    } else if (value.is_array()) {
        out += '[';
        for (size_t i = 0; i < value.size(); ++i) {
            if (i > 0)
                out += ',';
            append_canonical(value[i], out);
        }
        out += ']';
    } else if (value.is_number()) {
        out += canonical_number(value);
    } else {
        out += value.dump();  // strings (JSON-escaped), booleans, null
    }
}

}  // namespace

std::string canonical_json(const nlohmann::ordered_json& value) {
    std::string out;
    append_canonical(value, out);
    return out;
}

std::string hyperparameter_hash(const nlohmann::ordered_json& hyperparameters) {
    const std::string text = canonical_json(hyperparameters);
    return fmt::format("xxh3-64:{:016x}", XXH3_64bits(text.data(), text.size()));
}

}  // namespace hpsweep
