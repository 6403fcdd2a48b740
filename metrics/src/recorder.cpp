#include "hpsweep/metrics/recorder.hpp"

#include <ctime>
#include <system_error>

#include "hpsweep/error.hpp"

namespace hpsweep::metrics {

namespace {
double wall_clock_now() {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Temporaries of a writer that was killed between creating and renaming its snapshot.
void remove_stale_temporaries(const std::filesystem::path& path) {
    std::error_code ec;
    const auto directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    const std::string prefix = path.filename().string() + ".tmp.";
    for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
        if (entry.path().filename().string().rfind(prefix, 0) == 0) {
            std::filesystem::remove(entry.path(), ec);
        }
    }
}
}  // namespace

TrialRecorder::TrialRecorder(std::filesystem::path path, TrialAttributes attributes,
                             RecorderOptions options)
    : path_(std::move(path)), options_(std::move(options)) {
    if (path_.has_parent_path()) {
        std::error_code ec;
        std::filesystem::create_directories(path_.parent_path(), ec);
        if (ec) {
            throw Error(ErrorKind::io,
                        "cannot create " + path_.parent_path().string() + ": " + ec.message());
        }
    }
    remove_stale_temporaries(path_);
    anchor_clocks();
    load_existing();
    content_.attributes = std::move(attributes);
    content_.status = "running";
    content_.exit_code = -1;
    content_.end_unix = 0;
    if (!options_.lightning_csv.empty()) {
        csv_ = std::make_unique<LightningCsvTailer>(options_.lightning_csv);
    }
    flush_locked();
}

void TrialRecorder::load_existing() {
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec)) {
        content_.start_unix = wall_clock_now();
        content_.attempts = 1;
        return;
    }
    try {
        content_ = read_trial_file(path_);
        content_.attempts += 1;
        if (content_.start_unix <= 0)
            content_.start_unix = wall_clock_now();
        for (std::size_t i = 0; i < content_.metrics.size(); ++i) {
            series_index_.emplace(content_.metrics[i].name, i);
        }
    } catch (const Error& e) {
        // Cannot happen with files we wrote (they are replaced atomically); a foreign or
        // damaged file is kept aside rather than overwritten.
        auto aside = path_;
        aside += ".unreadable." + std::to_string(static_cast<long long>(wall_clock_now()));
        std::filesystem::rename(path_, aside, ec);
        content_ = TrialFileContent{};
        content_.start_unix = wall_clock_now();
        warn_locked(std::string(e.what()) + "; moved to " + aside.string() +
                    ", starting a new file");
    }
}

TrialRecorder::~TrialRecorder() {
    try {
        const std::lock_guard lock(mutex_);
        if (dirty_)
            flush_locked();
    } catch (...) {
        // A destructor must not throw; the last complete snapshot is still on disk.
    }
}

double TrialRecorder::wall_time_at(std::chrono::steady_clock::time_point now) const {
    return wall_anchor_ + std::chrono::duration<double>(now - steady_anchor_).count();
}

void TrialRecorder::anchor_clocks() {
    steady_anchor_ = std::chrono::steady_clock::now();
    wall_anchor_ = wall_clock_now();
}

MetricSeries& TrialRecorder::series_for(std::string_view name) {
    if (const auto found = series_index_.find(name); found != series_index_.end()) {
        return content_.metrics[found->second];
    }
    series_index_.emplace(std::string(name), content_.metrics.size());
    content_.metrics.push_back(MetricSeries{std::string(name), {}});
    return content_.metrics.back();
}

bool TrialRecorder::record_locked(std::int64_t step, std::string_view name, double value,
                                  double wall_time) {
    return record_into(series_for(name), step, value, wall_time);
}

bool TrialRecorder::record_into(MetricSeries& series, std::int64_t step, double value,
                                double wall_time) {
    if (!series.records.empty() && step <= series.records.back().step) {
        ++content_.duplicate_records;
        return false;
    }
    series.records.push_back({step, wall_time, value});
    ++record_count_;
    dirty_ = true;
    return true;
}

bool TrialRecorder::record_auto_step_locked(std::string_view name, double value, double wall_time) {
    const MetricSeries& series = series_for(name);
    const std::int64_t step = series.records.empty() ? 0 : series.records.back().step + 1;
    return record_locked(step, name, value, wall_time);
}

bool TrialRecorder::record(std::int64_t step, std::string_view name, double value) {
    if (!is_valid_metric_name(name)) {
        throw Error(ErrorKind::usage, "invalid metric name '" + std::string(name) + "'");
    }
    if (step < 0) {
        throw Error(ErrorKind::usage, "metric '" + std::string(name) + "': negative step");
    }
    const std::lock_guard lock(mutex_);
    return record_locked(step, name, value, wall_clock_now());
}

bool TrialRecorder::consume_line(std::string_view line) {
    const std::lock_guard lock(mutex_);
    ++line_number_;
    const LineKind kind = parse_metric_line(line, parsed_, parse_error_);
    if (kind == LineKind::malformed) {
        ++content_.malformed_lines;
        dirty_ = true;
        warn_locked("output line " + std::to_string(line_number_) + ": malformed " +
                    std::string(metric_marker) + " line, " + parse_error_);
        return false;
    }
    if (kind == LineKind::not_metric) {
        if (options_.regex_metrics.empty())
            return false;
        if (!apply_regex_metrics(options_.regex_metrics, line, parsed_, parse_error_)) {
            ++content_.malformed_lines;
            dirty_ = true;
            warn_locked("output line " + std::to_string(line_number_) + ": " + parse_error_);
            return false;
        }
        if (parsed_.values.empty())
            return false;
    }
    // One clock read per line (the wall time is derived from the steady clock anchored at
    // the last flush), and the series of the previous line's values tried first by position:
    // a trainer prints the same metrics in the same order, so the hash lookup is rare.
    const auto steady_now = std::chrono::steady_clock::now();
    const double now = wall_time_at(steady_now);
    if (line_series_.size() < parsed_.values.size())
        line_series_.resize(parsed_.values.size(), no_series);
    for (std::size_t i = 0; i < parsed_.values.size(); ++i) {
        const auto& [name, value] = parsed_.values[i];
        std::size_t& cached = line_series_[i];
        if (cached == no_series || content_.metrics[cached].name != name) {
            cached = static_cast<std::size_t>(&series_for(name) - content_.metrics.data());
        }
        MetricSeries& series = content_.metrics[cached];
        if (parsed_.step) {
            record_into(series, *parsed_.step, value, now);
        } else {
            const std::int64_t step = series.records.empty() ? 0 : series.records.back().step + 1;
            record_into(series, step, value, now);
        }
    }
    if (steady_now - last_flush_ >= options_.flush_interval) {
        flush_locked();
    }
    return true;
}

void TrialRecorder::poll_csv_locked() {
    if (!csv_)
        return;
    const double now = wall_clock_now();
    csv_->poll(
        [&](std::optional<std::int64_t> step, std::string_view name, double value) {
            if (step) {
                record_locked(*step, name, value, now);
            } else {
                record_auto_step_locked(name, value, now);
            }
        },
        [&](const std::string& message) {
            ++content_.malformed_lines;
            dirty_ = true;
            warn_locked(message);
        });
}

void TrialRecorder::warn_locked(std::string message) {
    if (options_.on_warning)
        options_.on_warning(message);
    if (warnings_.size() < options_.max_kept_warnings)
        warnings_.push_back(std::move(message));
}

void TrialRecorder::flush_locked() {
    anchor_clocks();  // re-anchor the derived wall clock every flush (NTP adjustments)
    last_flush_ = steady_anchor_;
    if (!dirty_)
        return;
    write_trial_file(path_, content_);
    dirty_ = false;
    ++flush_count_;
}

void TrialRecorder::flush() {
    const std::lock_guard lock(mutex_);
    flush_locked();
}

bool TrialRecorder::tick() {
    const std::lock_guard lock(mutex_);
    poll_csv_locked();
    if (std::chrono::steady_clock::now() - last_flush_ < options_.flush_interval)
        return false;
    const bool was_dirty = dirty_;
    flush_locked();
    return was_dirty;
}

void TrialRecorder::finish(std::string_view status, int exit_code) {
    const std::lock_guard lock(mutex_);
    poll_csv_locked();
    content_.status = std::string(status);
    content_.exit_code = exit_code;
    content_.end_unix = wall_clock_now();
    finished_ = true;
    dirty_ = true;
    flush_locked();
}

std::int64_t TrialRecorder::record_count() const {
    const std::lock_guard lock(mutex_);
    return record_count_;
}
std::int64_t TrialRecorder::malformed_line_count() const {
    const std::lock_guard lock(mutex_);
    return content_.malformed_lines;
}
std::int64_t TrialRecorder::duplicate_record_count() const {
    const std::lock_guard lock(mutex_);
    return content_.duplicate_records;
}
std::int64_t TrialRecorder::flush_count() const {
    const std::lock_guard lock(mutex_);
    return flush_count_;
}
std::int64_t TrialRecorder::attempts() const {
    const std::lock_guard lock(mutex_);
    return content_.attempts;
}
std::vector<std::string> TrialRecorder::warnings() const {
    const std::lock_guard lock(mutex_);
    return warnings_;
}

}  // namespace hpsweep::metrics
