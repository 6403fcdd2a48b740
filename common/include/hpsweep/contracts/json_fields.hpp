#pragma once
// Typed reading of one JSON object of an on-disk contract. Every failure is an Error(data)
// that names the file and the field ("EXP/experiment.json: field 'searcher.divisor': expected
// an integer >= 2, got 1"), so a person can find what to fix. Keys the reader does not ask
// for are left alone: a newer hpsweep may have added them.

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace hpsweep::contracts {

class JsonFields {
public:
    // `source` names the file (and line, for JSON lines); `prefix` is the dotted path of this
    // object inside the document ("" at the top). Throws when `object` is not an object.
    JsonFields(const nlohmann::ordered_json& object, std::string source, std::string prefix = {});

    bool has(const char* key) const;  // present and not null
    const nlohmann::ordered_json& object() const noexcept { return object_; }

    std::string string(const char* key) const;
    std::optional<std::string> optional_string(const char* key) const;
    long long integer(const char* key, long long min, long long max) const;
    std::optional<long long> optional_integer(const char* key, long long min,
                                              long long max) const;
    std::optional<std::uint64_t> optional_unsigned(const char* key) const;
    double number(const char* key) const;  // finite
    bool boolean(const char* key) const;
    std::optional<bool> optional_boolean(const char* key) const;
    // The nested object at `key` (required), for reading its own fields.
    JsonFields nested(const char* key) const;
    // The array at `key` (required).
    const nlohmann::ordered_json& array(const char* key) const;

    // "file: field 'prefix.key'" for messages about a value that was read fine but is wrong.
    std::string where(const char* key) const;
    [[noreturn]] void fail(const char* key, const std::string& problem) const;

private:
    const nlohmann::ordered_json& required(const char* key) const;

    const nlohmann::ordered_json& object_;
    std::string source_;
    std::string prefix_;
};

// The JSON kind of a value as a person says it: "string", "integer", "object"...
std::string json_kind(const nlohmann::ordered_json& value);

// The members of `object` whose keys are not in `known`, in their order: what a reader keeps
// to write back unchanged.
nlohmann::ordered_json unknown_members(const nlohmann::ordered_json& object,
                                       std::initializer_list<std::string_view> known);

// Parses one JSON document; Error(data) "SOURCE: invalid JSON: ..." when it is not one.
nlohmann::ordered_json parse_json_document(const std::string& text, const std::string& source);

}  // namespace hpsweep::contracts
