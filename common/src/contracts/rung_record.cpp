#include "hpsweep/contracts/rung_record.hpp"

#include <limits>

#include "hpsweep/contracts/json_fields.hpp"

namespace hpsweep {

nlohmann::ordered_json to_json(const RungRecord& record) {
    return nlohmann::ordered_json{
        {"trial", record.trial}, {"value", record.value}, {"rung", record.rung}};
}

RungRecord rung_record_from_json(const nlohmann::ordered_json& j, const std::string& source) {
    const contracts::JsonFields f(j, source);
    RungRecord record;
    record.trial = static_cast<long>(f.integer("trial", 0, std::numeric_limits<long>::max()));
    record.value = f.number("value");
    record.rung = static_cast<int>(f.integer("rung", 0, std::numeric_limits<int>::max()));
    return record;
}

nlohmann::ordered_json to_json(const PromotionRecord& record) {
    return nlohmann::ordered_json{{"trial", record.trial},
                                  {"rung", record.rung},
                                  {"by", record.by},
                                  {"by_rung", record.by_rung}};
}

PromotionRecord promotion_record_from_json(const nlohmann::ordered_json& j,
                                           const std::string& source) {
    const contracts::JsonFields f(j, source);
    PromotionRecord record;
    record.trial = static_cast<long>(f.integer("trial", 0, std::numeric_limits<long>::max()));
    record.rung = static_cast<int>(f.integer("rung", 0, std::numeric_limits<int>::max()));
    record.by = static_cast<long>(f.integer("by", 0, std::numeric_limits<long>::max()));
    record.by_rung = static_cast<int>(f.integer("by_rung", 0, std::numeric_limits<int>::max()));
    return record;
}

}  // namespace hpsweep
