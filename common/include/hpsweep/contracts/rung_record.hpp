#pragma once
// One ASHA rung result, EXP/asha/rung<K>/<sequence>: {"trial", "value", "rung"}. Each trial
// that reaches rung K publishes its value there once (searcher/asha.hpp explains the slots);
// every trial judged at that rung reads them all.

#include <nlohmann/json.hpp>
#include <string>

namespace hpsweep {

struct RungRecord {
    long trial = 0;
    double value = 0;  // finite: a diverged trial is recorded as the worst finite value
    int rung = 0;
};

nlohmann::ordered_json to_json(const RungRecord& record);
// Throws Error(data) naming `source` and the field.
RungRecord rung_record_from_json(const nlohmann::ordered_json& j, const std::string& source);

// ASHA's promotion form: EXP/asha/rung<K>/promoted/<trial>, {"trial", "rung", "by", "by_rung"}.
// The trial, paused at rung K, was promoted when trial `by` reported at rung `by_rung` (K
// itself, or a higher rung whose result found rung K closed); `by`'s task resumes it. Created
// once, with link(), by `by`'s launcher.
struct PromotionRecord {
    long trial = 0;
    int rung = 0;
    long by = 0;
    int by_rung = 0;
};

nlohmann::ordered_json to_json(const PromotionRecord& record);
PromotionRecord promotion_record_from_json(const nlohmann::ordered_json& j,
                                           const std::string& source);

}  // namespace hpsweep
