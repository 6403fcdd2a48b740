#include "hpsweep/contracts/json_fields.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "hpsweep/error.hpp"

namespace hpsweep::contracts {

std::string json_kind(const nlohmann::ordered_json& value) {
    if (value.is_number_integer())
        return "integer";
    if (value.is_number_float())
        return "number";
    return value.type_name();
}

nlohmann::ordered_json unknown_members(const nlohmann::ordered_json& object,
                                       std::initializer_list<std::string_view> known) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& [key, value] : object.items()) {
        if (std::find(known.begin(), known.end(), key) == known.end())
            out[key] = value;
    }
    return out;
}

nlohmann::ordered_json parse_json_document(const std::string& text, const std::string& source) {
    try {
        return nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorKind::data, fmt::format("{}: invalid JSON: {}", source, e.what()));
    }
}

JsonFields::JsonFields(const nlohmann::ordered_json& object, std::string source, std::string prefix)
    : object_(object), source_(std::move(source)), prefix_(std::move(prefix)) {
    if (!object_.is_object()) {
        throw Error(ErrorKind::data, prefix_.empty()
                                         ? fmt::format("{}: expected a JSON object, got {}",
                                                       source_, json_kind(object_))
                                         : fmt::format("{}: field '{}': expected an object, got {}",
                                                       source_, prefix_, json_kind(object_)));
    }
}

std::string JsonFields::where(const char* key) const {
    return fmt::format("{}: field '{}{}{}'", source_, prefix_, prefix_.empty() ? "" : ".", key);
}

void JsonFields::fail(const char* key, const std::string& problem) const {
    throw Error(ErrorKind::data, where(key) + ": " + problem);
}

bool JsonFields::has(const char* key) const {
    const auto it = object_.find(key);
    return it != object_.end() && !it->is_null();
}

const nlohmann::ordered_json& JsonFields::required(const char* key) const {
    const auto it = object_.find(key);
    if (it == object_.end() || it->is_null())
        fail(key, "missing");
    return *it;
}

std::string JsonFields::string(const char* key) const {
    const auto& value = required(key);
    if (!value.is_string())
        fail(key, "expected a string, got " + json_kind(value));
    return value.get<std::string>();
}

std::optional<std::string> JsonFields::optional_string(const char* key) const {
    if (!has(key))
        return std::nullopt;
    return string(key);
}

long long JsonFields::integer(const char* key, long long min, long long max) const {
    const auto& value = required(key);
    const auto out_of_range = [&](const std::string& got) {
        std::string wanted = "an integer";
        if (min != std::numeric_limits<long long>::min() &&
            max != std::numeric_limits<long long>::max())
            wanted += fmt::format(" from {} to {}", min, max);
        else if (min != std::numeric_limits<long long>::min())
            wanted += fmt::format(" >= {}", min);
        else if (max != std::numeric_limits<long long>::max())
            wanted += fmt::format(" <= {}", max);
        fail(key, fmt::format("expected {}, got {}", wanted, got));
    };
    if (value.is_number_unsigned()) {
        const auto v = value.get<std::uint64_t>();
        if (v > static_cast<std::uint64_t>(max) || static_cast<long long>(v) < min)
            out_of_range(std::to_string(v));
        return static_cast<long long>(v);
    }
    if (!value.is_number_integer())
        out_of_range(json_kind(value));
    const auto v = value.get<long long>();
    if (v < min || v > max)
        out_of_range(std::to_string(v));
    return v;
}

std::optional<long long> JsonFields::optional_integer(const char* key, long long min,
                                                      long long max) const {
    if (!has(key))
        return std::nullopt;
    return integer(key, min, max);
}

std::optional<std::uint64_t> JsonFields::optional_unsigned(const char* key) const {
    if (!has(key))
        return std::nullopt;
    const auto& value = object_.at(key);
    if (value.is_number_unsigned())
        return value.get<std::uint64_t>();
    if (value.is_number_integer())
        fail(key, fmt::format("expected an integer >= 0, got {}", value.get<long long>()));
    fail(key, "expected an integer >= 0, got " + json_kind(value));
}

double JsonFields::number(const char* key) const {
    const auto& value = required(key);
    if (!value.is_number())
        fail(key, "expected a number, got " + json_kind(value));
    const double v = value.get<double>();
    if (!std::isfinite(v))
        fail(key, "expected a finite number");
    return v;
}

bool JsonFields::boolean(const char* key) const {
    const auto& value = required(key);
    if (!value.is_boolean())
        fail(key, "expected true or false, got " + json_kind(value));
    return value.get<bool>();
}

std::optional<bool> JsonFields::optional_boolean(const char* key) const {
    if (!has(key))
        return std::nullopt;
    return boolean(key);
}

JsonFields JsonFields::nested(const char* key) const {
    return JsonFields(required(key), source_, prefix_.empty() ? key : prefix_ + "." + key);
}

const nlohmann::ordered_json& JsonFields::array(const char* key) const {
    const auto& value = required(key);
    if (!value.is_array())
        fail(key, "expected an array, got " + json_kind(value));
    return value;
}

}  // namespace hpsweep::contracts
