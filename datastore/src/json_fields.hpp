#pragma once
// Integer fields of JSON files a user wrote (dataset.json, manifests, cache metadata).
// nlohmann's get<T>() converts a float, or a number out of T's range, with undefined
// behaviour (4e20 as an unsigned), so every integer is checked for its kind and range first.

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "hpsweep/error.hpp"

namespace hpsweep::datastore::detail {

template <typename T>
T integer_field(const nlohmann::json& object, const char* key, const std::string& where) {
    const nlohmann::json& value = object.at(key);
    if (value.is_number_unsigned()) {
        const auto number = value.get<std::uint64_t>();
        if (std::in_range<T>(number)) {
            return static_cast<T>(number);
        }
    } else if (value.is_number_integer()) {
        const auto number = value.get<std::int64_t>();
        if (std::in_range<T>(number)) {
            return static_cast<T>(number);
        }
    }
    throw Error(ErrorKind::data, where + ": '" + key + "' must be an integer from " +
                                     std::to_string(std::numeric_limits<T>::min()) + " to " +
                                     std::to_string(std::numeric_limits<T>::max()) + ", got " +
                                     value.dump().substr(0, 40));
}

}  // namespace hpsweep::datastore::detail
