#include "hpsweep/metrics/recorder.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <system_error>
#include <unordered_map>

#include "hpsweep/error.hpp"

namespace hpsweep::metrics {

namespace {
double wall_clock_now() {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Journal entries (native byte order: the journal never leaves the node that wrote it):
//   'N' u32 id, u16 length, name     names series `id` for the entries that follow
//   'R' u32 id, i64 step, f64 value, f64 wall_time
constexpr char journal_name_tag = 'N';
constexpr char journal_record_tag = 'R';

template <typename T>
void append_raw(std::string& out, const T& value) {
    out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

// Temporaries of a writer that was killed between creating and renaming its snapshot.
void remove_stale_temporaries(const std::filesystem::path& path) {
    std::error_code ec;
    const auto directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    const std::string prefix = path.filename().string() + ".tmp.";
    for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
        if (entry.path().filename().string().starts_with(prefix)) {
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
    journal_path_ = path_;
    journal_path_ += ".journal";
    anchor_clocks();
    load_existing();
    replay_journal();  // what a killed launcher had read but not flushed
    content_.attributes = std::move(attributes);
    content_.status = "running";
    content_.exit_code = -1;
    content_.end_unix = 0;
    if (!options_.lightning_csv.empty()) {
        csv_ = std::make_unique<LightningCsvTailer>(options_.lightning_csv);
    }
    flush_locked();
    open_journal();  // only now: the replayed records are in the file
}

void TrialRecorder::replay_journal() {
    std::string data;
    std::error_code ec;
    if (!std::filesystem::exists(journal_path_, ec))
        return;
    try {
        data = read_file(journal_path_);
    } catch (const Error& e) {
        warn_locked(std::string(e.what()) +
                    "; records the previous launcher did not flush "
                    "are lost");
        return;
    }
    std::unordered_map<std::uint32_t, std::string> names;
    std::size_t pos = 0;
    std::int64_t recovered = 0;
    const auto take = [&](void* out, std::size_t size) {
        if (data.size() - pos < size)
            return false;
        std::memcpy(out, data.data() + pos, size);
        pos += size;
        return true;
    };
    replaying_ = true;
    while (pos < data.size()) {
        const std::size_t entry_start = pos;
        const char tag = data[pos++];
        std::uint32_t id = 0;
        bool complete = false;
        if (tag == journal_name_tag) {
            std::uint16_t length = 0;
            if (take(&id, sizeof id) && take(&length, sizeof length) &&
                data.size() - pos >= length) {
                std::string name = data.substr(pos, length);
                pos += length;
                complete = is_valid_metric_name(name);
                names[id] = std::move(name);
            }
        } else if (tag == journal_record_tag) {
            MetricRecord r;
            if (take(&id, sizeof id) && take(&r.step, sizeof r.step) &&
                take(&r.value, sizeof r.value) && take(&r.wall_time, sizeof r.wall_time)) {
                if (const auto name = names.find(id); name != names.end() && r.step >= 0) {
                    complete = true;
                    recovered += record_locked(r.step, name->second, r.value, r.wall_time) ? 1 : 0;
                }
            }
        }
        if (!complete) {
            // A launcher killed in the middle of a write leaves a cut entry at the end.
            if (entry_start + 64 < data.size())
                warn_locked("metrics journal " + journal_path_.string() + " is damaged at byte " +
                            std::to_string(entry_start) + "; kept the records before it");
            break;
        }
    }
    replaying_ = false;
    if (recovered > 0) {
        warn_locked("recovered " + std::to_string(recovered) +
                    " record(s) that the previous launcher had not flushed (metrics journal)");
    }
}

void TrialRecorder::open_journal() {
    journal_fd_.reset(::open(journal_path_.c_str(),
                             O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
                             0644));
    if (!journal_fd_) {
        warn_locked("cannot open the metrics journal " + journal_path_.string() + ": " +
                    std::strerror(errno) + "; a killed launcher loses what it did not flush");
    }
}

void TrialRecorder::journal_locked(std::size_t series, const MetricRecord& record) {
    if (!journal_fd_ || replaying_)
        return;
    if (journal_named_.size() <= series)
        journal_named_.resize(series + 1, false);
    if (!journal_named_[series]) {
        const std::string& name = content_.metrics[series].name;
        journal_pending_ += journal_name_tag;
        append_raw(journal_pending_, static_cast<std::uint32_t>(series));
        append_raw(journal_pending_, static_cast<std::uint16_t>(name.size()));  // <= 128
        journal_pending_ += name;
        journal_named_[series] = true;
    }
    journal_pending_ += journal_record_tag;
    append_raw(journal_pending_, static_cast<std::uint32_t>(series));
    append_raw(journal_pending_, record.step);
    append_raw(journal_pending_, record.value);
    append_raw(journal_pending_, record.wall_time);
}

void TrialRecorder::write_journal_locked() {
    if (journal_pending_.empty() || !journal_fd_)
        return;
    const char* data = journal_pending_.data();
    std::size_t left = journal_pending_.size();
    while (left > 0) {
        const ssize_t n = ::write(journal_fd_.get(), data, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            warn_locked("cannot write the metrics journal " + journal_path_.string() + ": " +
                        std::strerror(errno) + "; it is turned off for this run");
            journal_fd_.reset();
            break;
        }
        data += n;
        left -= static_cast<std::size_t>(n);
    }
    journal_pending_.clear();
}

void TrialRecorder::remove_journal_locked() {
    if (!journal_fd_)
        return;
    journal_fd_.reset();
    std::error_code ec;
    std::filesystem::remove(journal_path_, ec);
}

void TrialRecorder::sync_journal() {
    const std::lock_guard lock(mutex_);
    write_journal_locked();
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
        remove_journal_locked();  // everything is in the file now
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
        if (!replaying_)  // a replayed record that made it into the file before the kill
            ++content_.duplicate_records;
        return false;
    }
    series.records.push_back({step, wall_time, value});
    if (journal_fd_)
        journal_locked(static_cast<std::size_t>(&series - content_.metrics.data()),
                       series.records.back());
    ++record_count_;
    dirty_ = true;
    if (options_.on_record && !replaying_)
        options_.on_record(RecordedValue{series.name, step, value});
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
    // Everything journaled is in the file now.
    journal_pending_.clear();
    journal_named_.assign(journal_named_.size(), false);
    if (journal_fd_ && ::ftruncate(journal_fd_.get(), 0) != 0) {
        warn_locked("cannot empty the metrics journal " + journal_path_.string() + ": " +
                    std::strerror(errno) + "; it is turned off for this run");
        journal_fd_.reset();
    }
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
    remove_journal_locked();
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
