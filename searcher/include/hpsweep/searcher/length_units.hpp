#pragma once
// Lengths in Determined's units turned into the unit the trial reports steps in
// (`searcher.step_unit`), so that ASHA's rungs, PBT's ready points, HPSWEEP_MAX_LENGTH and the
// budget flag count what the trial counts. An epoch is `records_per_epoch` records, a batch
// is the `global_batch_size` hyper-parameter's records; `steps` has no size and converts to
// nothing. Results are rounded down, so that no trial trains past the length written.

#include <optional>
#include <string>

#include "hpsweep/searcher/config.hpp"

namespace hpsweep::searcher {

struct UnitSizes {
    std::optional<long long> records_per_epoch;
    std::optional<long long> global_batch_size;
};

struct ConvertedLength {
    MaxLength length;      // in the target unit, rounded down (0 when under one unit)
    double exact = 0;      // the unrounded value, for messages
    bool rounded = false;  // true when exact was not a whole number
};

bool is_length_unit(const std::string& unit);

// The size a conversion between `from` and `to` lacks: "records_per_epoch",
// "global_batch_size", or "" when it has all it needs (a unit into itself needs nothing).
std::string missing_size(const std::string& from, const std::string& to, const UnitSizes& sizes);

// `length` in `unit`. Throws Error(config) when either unit is `steps` (and they differ),
// when a size it needs is missing (see missing_size), or when the result overflows.
ConvertedLength convert_length(const MaxLength& length, const std::string& unit,
                               const UnitSizes& sizes);

// Converts config.searcher.max_length and pbt.perturb_every into searcher.step_unit, keeping
// the lengths as written in searcher.as_written. Nothing happens without a step_unit or when
// the lengths are already in it. Throws Error(config) "file:line:col: ..." naming the keys:
// a length in steps, records_per_epoch missing, global_batch_size missing or not one integer,
// a length under one unit. A rounded length and an unused records_per_epoch add a warning.
void apply_step_unit(ExperimentConfig& config);

// "960000 records = 16 epochs at records_per_epoch 60000" (as_written's max_length against the
// converted one; "" when nothing was converted).
std::string describe_conversion(const SearcherConfig& searcher);

}  // namespace hpsweep::searcher
