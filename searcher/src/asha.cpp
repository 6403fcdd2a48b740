#include "hpsweep/searcher/asha.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "hpsweep/contracts/json_fields.hpp"
#include "hpsweep/contracts/rung_record.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"

namespace fs = std::filesystem;

namespace hpsweep::searcher {

AshaMode parse_asha_mode(const std::string& text) {
    if (text == "aggressive")
        return AshaMode::aggressive;
    if (text == "standard")
        return AshaMode::standard;
    if (text == "conservative")
        return AshaMode::conservative;
    throw Error(ErrorKind::config, "unknown adaptive_asha mode '" + text +
                                       "' (expected aggressive, standard or conservative)");
}

AshaSettings asha_settings(const ExperimentConfig& config) {
    const auto& s = config.searcher;
    AshaSettings settings;
    settings.metric = s.metric;
    settings.smaller_is_better = s.smaller_is_better;
    settings.max_length = s.max_length ? s.max_length->value : 0;
    settings.divisor = static_cast<int>(s.divisor);
    settings.max_rungs = static_cast<int>(s.max_rungs);
    settings.mode = parse_asha_mode(s.mode);
    return settings;
}

const char* to_string(AshaMode mode) noexcept {
    switch (mode) {
        case AshaMode::aggressive:
            return "aggressive";
        case AshaMode::standard:
            return "standard";
        case AshaMode::conservative:
            return "conservative";
    }
    return "standard";
}

AshaSchedule::AshaSchedule(const AshaSettings& settings) : settings_(settings) {
    if (settings_.max_length < 1) {
        throw Error(ErrorKind::config, "adaptive_asha needs max_length >= 1");
    }
    if (settings_.divisor < 2) {
        throw Error(ErrorKind::config, "adaptive_asha needs divisor >= 2");
    }
    if (settings_.max_rungs < 1) {
        throw Error(ErrorKind::config, "adaptive_asha needs max_rungs >= 1");
    }
    // Build from the top down so the last rung is exactly max_length and no rung is < 1.
    for (long length = settings_.max_length, k = 0; k < settings_.max_rungs && length >= 1;
         ++k, length /= settings_.divisor) {
        rungs_.push_back(length);
    }
    std::reverse(rungs_.begin(), rungs_.end());
    rungs_.erase(std::unique(rungs_.begin(), rungs_.end()), rungs_.end());
    const int rung_count = static_cast<int>(rungs_.size());
    switch (settings_.mode) {
        case AshaMode::aggressive:
            brackets_ = 1;
            break;
        case AshaMode::standard:
            brackets_ = std::max(1, (rung_count + 1) / 2);
            break;
        case AshaMode::conservative:
            brackets_ = rung_count;
            break;
    }
}

int AshaSchedule::bracket_of(long trial_id) const noexcept {
    return static_cast<int>(trial_id % brackets_);
}

std::optional<int> AshaSchedule::rung_reached(long step) const noexcept {
    std::optional<int> reached;
    for (size_t k = 0; k < rungs_.size(); ++k) {
        if (step >= rungs_[k])
            reached = static_cast<int>(k);
    }
    return reached;
}

long AshaSchedule::survivors(long n) const noexcept {
    const long d = settings_.divisor;
    return std::max(1L, (n + d - 1) / d);
}

bool asha_continues(const AshaSchedule& schedule, const std::vector<RungResult>& results,
                    long candidate_trial) {
    const bool smaller = schedule.settings().smaller_is_better;
    const auto candidate = std::find_if(results.begin(), results.end(), [&](const RungResult& r) {
        return r.trial_id == candidate_trial;
    });
    if (candidate == results.end()) {
        throw Error(ErrorKind::internal, "asha: candidate trial is not among the results");
    }
    // Rank = how many results are strictly better (earlier arrival wins a tie).
    long better = 0;
    for (const auto& r : results) {
        if (r.trial_id == candidate_trial)
            continue;
        const bool strictly_better =
            smaller ? r.value < candidate->value : r.value > candidate->value;
        const bool tie_won = r.value == candidate->value && r.sequence < candidate->sequence;
        if (strictly_better || tie_won)
            ++better;
    }
    return better < schedule.survivors(static_cast<long>(results.size()));
}

std::vector<AshaDecision> simulate_asha(const AshaSchedule& schedule,
                                        const std::vector<AshaReport>& reports) {
    std::vector<std::vector<RungResult>> per_rung(schedule.rung_lengths().size());
    std::vector<AshaDecision> decisions;
    decisions.reserve(reports.size());
    for (const auto& report : reports) {
        auto& rung = per_rung.at(static_cast<size_t>(report.rung));
        rung.push_back({report.trial_id, report.value, static_cast<long>(rung.size())});
        decisions.push_back(asha_continues(schedule, rung, report.trial_id)
                                ? AshaDecision::continue_training
                                : AshaDecision::stop);
    }
    return decisions;
}

AshaPromotionRung::AshaPromotionRung(const AshaSchedule& schedule)
    : divisor_(schedule.settings().divisor),
      smaller_is_better_(schedule.settings().smaller_is_better) {}

std::optional<long> AshaPromotionRung::close() {
    // report() keeps the best floor(n / divisor) promoted, and ceil is at most one more.
    const long best = (static_cast<long>(ranked_.size()) + divisor_ - 1) / divisor_;
    for (long i = 0; i < best; ++i) {
        Entry& entry = ranked_[static_cast<size_t>(i)];
        if (!entry.promoted) {
            entry.promoted = true;
            ++promoted_count_;
            return entry.trial_id;
        }
    }
    return std::nullopt;
}

AshaPromotion AshaPromotionRung::report(long trial_id, double value) {
    const double key = !std::isfinite(value) ? std::numeric_limits<double>::infinity()
                       : smaller_is_better_  ? value
                                             : -value;
    const long promoted_before = static_cast<long>(ranked_.size()) / divisor_;
    const long promoted_now = static_cast<long>(ranked_.size() + 1) / divisor_;
    // After the results it ties with: the earlier arrival ranks first.
    const auto at = std::upper_bound(ranked_.begin(), ranked_.end(), key,
                                     [](double k, const Entry& entry) { return k < entry.key; });
    AshaPromotion promotion;
    promotion.reporting_trial = at - ranked_.begin() < promoted_now;
    ranked_.insert(at, Entry{key, trial_id, promotion.reporting_trial});
    promoted_count_ += promotion.reporting_trial ? 1 : 0;
    // Otherwise the best promoted_before results were promoted already and none of them moved
    // down, so the only one that can be new among the best promoted_now is the next in rank.
    Entry& entering = ranked_[static_cast<size_t>(promoted_before)];
    if (!promotion.reporting_trial && promoted_now != promoted_before && !entering.promoted) {
        entering.promoted = true;
        ++promoted_count_;
        promotion.paused_trial = entering.trial_id;
    }
    return promotion;
}

AshaStore::AshaStore(fs::path experiment_dir, AshaSchedule schedule)
    : root_(std::move(experiment_dir) / "asha"), schedule_(std::move(schedule)) {}

namespace {

fs::path rung_dir_of(const fs::path& asha_root, int rung) {
    return asha_root / ("rung" + std::to_string(rung));
}

}  // namespace

fs::path AshaStore::rung_dir(int rung) const {
    return rung_dir_of(root_, rung);
}

std::optional<PromotionRecord> read_promotion(const fs::path& experiment_dir, long trial_id,
                                              int rung) {
    const fs::path path =
        rung_dir_of(experiment_dir / "asha", rung) / "promoted" / std::to_string(trial_id);
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
        return std::nullopt;
    const std::string source = path.string();
    return promotion_record_from_json(contracts::parse_json_document(read_file(path), source),
                                      source);
}

std::vector<RungResult> AshaStore::results_at(int rung) const {
    std::vector<RungResult> results;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(rung_dir(rung), ec)) {
        const std::string name = entry.path().filename().string();
        long sequence = 0;
        const auto [end, parse_ec] =
            std::from_chars(name.data(), name.data() + name.size(), sequence);
        if (parse_ec != std::errc() || end != name.data() + name.size()) {
            continue;  // temporaries and anything else that is not a claimed slot
        }
        const std::string source = entry.path().string();
        const RungRecord record = rung_record_from_json(
            contracts::parse_json_document(read_file(entry.path()), source), source);
        results.push_back({record.trial, record.value, sequence});
    }
    std::sort(results.begin(), results.end(),
              [](const RungResult& a, const RungResult& b) { return a.sequence < b.sequence; });
    return results;
}

std::pair<std::vector<RungResult>, long> AshaStore::publish(long trial_id, int rung, double value) {
    if (rung < 0 || static_cast<size_t>(rung) >= schedule_.rung_lengths().size()) {
        throw Error(ErrorKind::internal, "asha: rung " + std::to_string(rung) + " out of range");
    }
    if (!std::isfinite(value)) {
        // A diverged trial (nan/inf loss) ranks last rather than poisoning comparisons;
        // the worst finite double, because JSON has no infinity.
        value = schedule_.settings().smaller_is_better ? std::numeric_limits<double>::max()
                                                       : std::numeric_limits<double>::lowest();
    }
    fs::create_directories(rung_dir(rung));
    auto results = results_at(rung);
    const auto mine = std::find_if(results.begin(), results.end(),
                                   [&](const RungResult& r) { return r.trial_id == trial_id; });
    long my_sequence = mine != results.end() ? mine->sequence : -1;
    if (mine == results.end()) {
        // Publish the value: write a complete temp file, then link() it to the next free
        // slot number. link fails with EEXIST if another trial took the slot, so a slot
        // appears atomically and complete, without locks, on local disks and NFS alike.
        const std::string record = to_json(RungRecord{trial_id, value, rung}).dump();
        const fs::path temp = rung_dir(rung) / (".tmp." + std::to_string(trial_id) + "." +
                                                std::to_string(::getpid()));
        write_file_atomic(temp, record);
        for (my_sequence = static_cast<long>(results.size());; ++my_sequence) {
            const fs::path slot = rung_dir(rung) / std::to_string(my_sequence);
            if (::link(temp.c_str(), slot.c_str()) == 0)
                break;
            if (errno != EEXIST) {
                const int saved = errno;
                fs::remove(temp);
                errno = saved;
                throw_errno("cannot record ASHA result " + slot.string());
            }
        }
        fs::remove(temp);
        results = results_at(rung);
    }
    return {std::move(results), my_sequence};
}

AshaDecision AshaStore::report(long trial_id, int rung, double value) {
    const auto [results, my_sequence] = publish(trial_id, rung, value);
    // Judge against everything that arrived up to and including this report, so the
    // decision is the one a sequential run would make for the same arrival order.
    std::vector<RungResult> seen;
    for (const auto& r : results) {
        if (r.sequence <= my_sequence)
            seen.push_back(r);
    }
    return asha_continues(schedule_, seen, trial_id) ? AshaDecision::continue_training
                                                     : AshaDecision::stop;
}

AshaStore::Arrival AshaStore::arrive_promotion(long trial_id, int rung, double value, long trials) {
    const auto [my_rung_results, my_sequence] = publish(trial_id, rung, value);
    const int rungs = static_cast<int>(schedule_.rung_lengths().size());
    Arrival arrival;
    std::optional<long> promoted_by_me;
    // Every rung below the last, from the first: whether a rung has closed depends on how many
    // trials the one below promoted once it closed.
    std::vector<PromotionRecord> closings;
    bool below_closed = true;
    long promoted_below = 0;
    for (int k = 0; k + 1 < rungs; ++k) {
        const auto results = k == rung ? my_rung_results : results_at(k);
        AshaPromotionRung replay(schedule_);
        for (const auto& r : results) {
            const auto promotion = replay.report(r.trial_id, r.value);
            if (k == rung && r.sequence == my_sequence) {
                arrival.goes_on = promotion.reporting_trial;
                promoted_by_me = promotion.paused_trial;
            }
        }
        long starting_here = 0;
        for (long trial = 0; trial < trials; ++trial)
            starting_here += schedule_.first_rung_of(trial) == k ? 1 : 0;
        const bool closed =
            below_closed && static_cast<long>(results.size()) >= promoted_below + starting_here;
        if (closed) {
            if (const auto promoted = replay.close())
                closings.push_back({*promoted, k, trial_id, rung});
        }
        below_closed = closed;
        promoted_below = replay.promoted_count();
    }
    if (arrival.goes_on)
        return arrival;
    for (const auto& closing : closings) {
        if (closing.trial == trial_id && closing.rung == rung) {
            record_promotion(closing);  // its own rung closed with it among the best
            arrival.goes_on = true;
            return arrival;
        }
    }
    if (promoted_by_me && claim({*promoted_by_me, rung, trial_id, rung})) {
        arrival.host = PromotionRecord{*promoted_by_me, rung, trial_id, rung};
        return arrival;
    }
    for (const auto& closing : closings) {
        if (claim(closing)) {
            arrival.host = closing;
            break;
        }
    }
    return arrival;
}

bool AshaStore::claim(const PromotionRecord& candidate) {
    record_promotion(candidate);
    // Held by this very arrival: claimed now, or by an earlier run of the trial that reported
    // the same rung again after a requeue. A later arrival of the same trial hosts it no more.
    const auto holder = promotion_of(candidate.trial, candidate.rung);
    return holder && holder->by == candidate.by && holder->by_rung == candidate.by_rung;
}

bool AshaStore::record_promotion(const PromotionRecord& record) {
    const fs::path dir = rung_dir(record.rung) / "promoted";
    fs::create_directories(dir);
    const fs::path target = dir / std::to_string(record.trial);
    const fs::path temp = dir / (".tmp." + std::to_string(record.trial) + "." +
                                 std::to_string(record.by) + "." + std::to_string(::getpid()));
    write_file_atomic(temp, to_json(record).dump());
    const bool created = ::link(temp.c_str(), target.c_str()) == 0;
    const int saved = errno;
    fs::remove(temp);
    if (!created && saved != EEXIST) {
        errno = saved;
        throw_errno("cannot record ASHA promotion " + target.string());
    }
    return created;
}

std::optional<PromotionRecord> AshaStore::promotion_of(long trial_id, int rung) const {
    return read_promotion(root_.parent_path(), trial_id, rung);
}

std::optional<int> AshaStore::highest_promotion(long trial_id) const {
    for (int rung = static_cast<int>(schedule_.rung_lengths().size()) - 1; rung >= 0; --rung) {
        if (promotion_of(trial_id, rung))
            return rung;
    }
    return std::nullopt;
}

}  // namespace hpsweep::searcher
