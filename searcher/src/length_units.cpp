#include "hpsweep/searcher/length_units.hpp"

#include <fmt/format.h>

#include <limits>
#include <vector>

#include "hpsweep/error.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::searcher {

namespace {

// Records in one unit; nullopt for a size the sizes do not give (and for steps).
std::optional<long long> records_in(const std::string& unit, const UnitSizes& sizes) {
    if (unit == "records")
        return 1;
    if (unit == "epochs")
        return sizes.records_per_epoch;
    if (unit == "batches")
        return sizes.global_batch_size;
    return std::nullopt;
}

// "epoch" for "epochs", "batch" for "batches".
std::string singular(const std::string& unit) {
    return unit == "batches" ? "batch" : unit.substr(0, unit.size() - 1);
}

// "1 epoch" / "16 epochs".
std::string amount(long long value, const std::string& unit) {
    return fmt::format("{} {}", value, value == 1 ? singular(unit) : unit);
}

// The sizes a conversion between the two units used, for messages: "records_per_epoch 60000".
std::string sizes_used(const std::string& from, const std::string& to, const UnitSizes& sizes) {
    std::vector<std::string> used;
    if ((from == "epochs" || to == "epochs") && sizes.records_per_epoch)
        used.push_back(fmt::format("records_per_epoch {}", *sizes.records_per_epoch));
    if ((from == "batches" || to == "batches") && sizes.global_batch_size)
        used.push_back(fmt::format("global_batch_size {}", *sizes.global_batch_size));
    return join(used, ", ");
}

// The key the file gave a pbt length under: hpsweep's perturb_every or Determined's
// length_per_round.
std::string perturb_key(const ExperimentConfig& c) {
    return c.locations.count("searcher.length_per_round") ? "searcher.length_per_round"
                                                          : "searcher.perturb_every";
}

// The global_batch_size hyper-parameter as one positive integer, or nullopt when there is
// none; throws when it is a sweep or not a positive integer.
std::optional<long long> global_batch_size(const ExperimentConfig& c,
                                           const std::string& needed_for) {
    for (const auto& hp : c.hyperparameters) {
        if (hp.name != "global_batch_size")
            continue;
        const auto& d = hp.domain;
        if (d.kind != Domain::Kind::constant) {
            throw Error(
                ErrorKind::config,
                fmt::format("{}: {} needs the hyper-parameter 'global_batch_size' to be "
                            "one integer (the records in a batch), but it is {}",
                            hp.origin.empty() ? c.source : hp.origin, needed_for, d.describe()));
        }
        const auto& v = d.values.front().typed;
        if (!v.is_number_integer() || v.get<long long>() < 1) {
            throw Error(ErrorKind::config,
                        fmt::format("{}: {} needs the hyper-parameter 'global_batch_size' to be "
                                    "an integer >= 1 (the records in a batch), but it is {}",
                                    hp.origin.empty() ? c.source : hp.origin, needed_for,
                                    d.values.front().text));
        }
        return v.get<long long>();
    }
    return std::nullopt;
}

}  // namespace

bool is_length_unit(const std::string& unit) {
    return unit == "epochs" || unit == "batches" || unit == "records" || unit == "steps";
}

std::string missing_size(const std::string& from, const std::string& to, const UnitSizes& sizes) {
    if (from == to)
        return "";
    for (const auto& unit : {from, to}) {
        if (unit == "epochs" && !sizes.records_per_epoch)
            return "records_per_epoch";
        if (unit == "batches" && !sizes.global_batch_size)
            return "global_batch_size";
    }
    return "";
}

ConvertedLength convert_length(const MaxLength& length, const std::string& unit,
                               const UnitSizes& sizes) {
    if (length.unit == unit)
        return ConvertedLength{length, static_cast<double>(length.value), false};
    if (length.unit == "steps" || unit == "steps") {
        throw Error(ErrorKind::config,
                    fmt::format("{} {} cannot be counted in {}: steps have no size (write the "
                                "length as {{epochs: N}}, {{batches: N}} or {{records: N}})",
                                length.value, length.unit, unit));
    }
    if (const auto missing = missing_size(length.unit, unit, sizes); !missing.empty()) {
        throw Error(ErrorKind::config, fmt::format("{} {} cannot be counted in {} without {}",
                                                   length.value, length.unit, unit, missing));
    }
    const auto per_from = *records_in(length.unit, sizes);
    const auto per_to = *records_in(unit, sizes);
    if (per_from < 1 || per_to < 1)
        throw Error(ErrorKind::config, "records_per_epoch and global_batch_size must be >= 1");
    // In records first; epochs x records_per_epoch may not fit, which is refused.
    long long records = 0;
    if (__builtin_mul_overflow(length.value, per_from, &records)) {
        throw Error(ErrorKind::config,
                    fmt::format("{} {} is too many records to count", length.value, length.unit));
    }
    const long long whole = records / per_to;
    ConvertedLength out;
    out.length = MaxLength{unit, whole};
    out.rounded = records % per_to != 0;
    out.exact = static_cast<double>(length.value) * static_cast<double>(per_from) /
                static_cast<double>(per_to);
    return out;
}

void apply_step_unit(ExperimentConfig& c) {
    auto& s = c.searcher;
    const bool converts =
        !s.step_unit.empty() && ((s.max_length && s.max_length->unit != s.step_unit) ||
                                 (s.pbt.perturb_every && s.pbt.perturb_every->unit != s.step_unit));
    if (!converts) {
        if (c.records_per_epoch) {
            c.warnings.push_back(fmt::format(
                "{}: warning: 'records_per_epoch' converts lengths only when "
                "'searcher.step_unit' names the unit your trial reports steps in (epochs, "
                "batches or records); without it lengths stay in the unit they are written in",
                c.location_of("records_per_epoch")));
        }
        return;
    }
    const std::string unit_at = fmt::format("searcher.step_unit: {} at {}", s.step_unit,
                                            c.location_of("searcher.step_unit"));
    LengthsAsWritten written;
    UnitSizes sizes;
    sizes.records_per_epoch = c.records_per_epoch;
    written.records_per_epoch = c.records_per_epoch;

    // One length, named by its key: the checks with the key's place, then the conversion.
    auto convert = [&](const MaxLength& length, const std::string& key) {
        const std::string where = c.location_of(key);
        const std::string what =
            fmt::format("converting '{}' ({}) into {} ({})", key, amount(length.value, length.unit),
                        s.step_unit, unit_at);
        if (length.unit == "steps" || s.step_unit == "steps") {
            throw Error(ErrorKind::config,
                        fmt::format("{}: {}: steps have no size in records; write the length as "
                                    "{{epochs: N}}, {{batches: N}} or {{records: N}}, or leave "
                                    "out searcher.step_unit",
                                    where, what));
        }
        if (!sizes.global_batch_size && (length.unit == "batches" || s.step_unit == "batches")) {
            sizes.global_batch_size = global_batch_size(c, what);
            written.global_batch_size = sizes.global_batch_size;
        }
        const std::string missing = missing_size(length.unit, s.step_unit, sizes);
        if (missing == "records_per_epoch") {
            throw Error(ErrorKind::config,
                        fmt::format("{}: {} needs 'records_per_epoch' (the records in one "
                                    "epoch), which the file does not give: add "
                                    "`records_per_epoch: N` at its top level",
                                    where, what));
        }
        if (missing == "global_batch_size") {
            throw Error(ErrorKind::config,
                        fmt::format("{}: {} needs the hyper-parameter 'global_batch_size' (the "
                                    "records in a batch), which the file does not give: add "
                                    "`global_batch_size: N` under hyperparameters",
                                    where, what));
        }
        const ConvertedLength converted = convert_length(length, s.step_unit, sizes);
        const std::string used = sizes_used(length.unit, s.step_unit, sizes);
        if (converted.length.value < 1) {
            throw Error(ErrorKind::config,
                        fmt::format("{}: '{}' ({}) is {:.4g} {} at {} ({}): under one {}, so the "
                                    "trial would never report a step that reaches it",
                                    where, key, amount(length.value, length.unit), converted.exact,
                                    s.step_unit, used, unit_at, singular(s.step_unit)));
        }
        if (converted.rounded) {
            c.warnings.push_back(
                fmt::format("{}: warning: '{}' ({}) is {:.6g} {} at {}; rounded down to {}, so "
                            "that no trial trains past the length written",
                            where, key, amount(length.value, length.unit), converted.exact,
                            s.step_unit, used, amount(converted.length.value, s.step_unit)));
        }
        return converted.length;
    };

    if (s.pbt.perturb_every && s.pbt.perturb_every->unit != s.step_unit) {
        written.perturb_every = s.pbt.perturb_every;
        s.pbt.perturb_every = convert(*s.pbt.perturb_every, perturb_key(c));
    }
    if (s.max_length && s.max_length->unit != s.step_unit) {
        written.max_length = s.max_length;
        if (s.pbt.num_rounds && s.pbt.perturb_every) {
            // Determined's rounds: keep their number, each round the converted length.
            s.max_length = MaxLength{s.step_unit, *s.pbt.num_rounds * s.pbt.perturb_every->value};
        } else {
            s.max_length = convert(*s.max_length, "searcher.max_length");
        }
    }
    s.as_written = written;
}

std::string describe_conversion(const SearcherConfig& s) {
    if (!s.as_written || !s.as_written->max_length || !s.max_length)
        return "";
    const auto& w = *s.as_written;
    const UnitSizes sizes{w.records_per_epoch, w.global_batch_size};
    const std::string used = sizes_used(w.max_length->unit, s.max_length->unit, sizes);
    const ConvertedLength direct = convert_length(*w.max_length, s.max_length->unit, sizes);
    if (!direct.rounded && direct.length.value == s.max_length->value) {
        return fmt::format("{} {} = {} at {}", w.max_length->value, w.max_length->unit,
                           amount(s.max_length->value, s.max_length->unit), used);
    }
    return fmt::format("{} {} = {:.6g} {} at {}, rounded down to {}", w.max_length->value,
                       w.max_length->unit, direct.exact, s.max_length->unit, used,
                       amount(s.max_length->value, s.max_length->unit));
}

}  // namespace hpsweep::searcher
