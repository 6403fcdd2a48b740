#pragma once
// TrialRecorder: what hpsweep-launch uses to turn a trial's output into its metrics file.
//
//   hpsweep::metrics::TrialAttributes attributes;           // experiment, trial id, hps, ...
//   attributes.fill_from_slurm_environment();
//   hpsweep::metrics::TrialRecorder recorder(exp.trial_metrics(id), attributes);
//   // for every child stdout line and every line read from the HPSWEEP_METRICS_FD pipe:
//   recorder.consume_line(line);        // HPSWEEP_METRIC lines and regex metrics; others ignored
//   // about once a second from the supervisor loop:
//   recorder.tick();                    // tails Lightning's metrics.csv, flushes when due
//   // when the child exited:
//   recorder.finish("completed", 0);   // or ("failed", code), ("killed", 128+sig), ...
//
// Crash safety (docs/metrics-format.md, "Crash safety"): each flush writes the whole file to
// a temporary next to it, fsyncs it and renames it over metrics.h5. A kill -9 at any moment
// leaves the previous complete file (plus at most a stale temp that the next writer
// removes), holding every record of every completed flush(). Readers never need a lock.
// Records not yet flushed are also appended to a journal next to the file
// (metrics.h5.journal, one write per sync_journal(), no fsync): a launcher killed with
// kill -9 loses none of what it had read, because the next recorder on the trial replays
// the journal into the file before anything else. Only a node crash can lose the last
// flush_interval. Each flush empties the journal; finish() removes it.
//
// Resume: constructing a recorder on an existing file (a requeued trial) loads its records;
// a record whose step is not greater than the last step of its metric is dropped and counted
// in duplicate_records, so re-reported steps after a restart from a checkpoint never appear
// twice and no step is lost.
//
// Thread safety: every member function may be called from any thread (one internal mutex).
// Malformed metric lines never throw: they are counted (malformed_lines in the file) and the
// first few messages are kept in warnings(). I/O errors of flush() throw hpsweep::Error(io).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hpsweep/fs.hpp"
#include "hpsweep/metrics/csv_tailer.hpp"
#include "hpsweep/metrics/line_parser.hpp"
#include "hpsweep/metrics/trial_file.hpp"

namespace hpsweep::metrics {

// One value as the recorder accepted it (see RecorderOptions::on_record). `metric` is valid
// only during the call.
struct RecordedValue {
    std::string_view metric;
    std::int64_t step = 0;
    double value = 0;
};

struct RecorderOptions {
    // Longest time a record waits in memory before it is in metrics.h5. Each flush rewrites
    // the file, so this bounds both the loss on a node crash and the write load.
    std::chrono::milliseconds flush_interval{std::chrono::seconds(5)};
    std::vector<RegexMetric> regex_metrics;  // from the experiment config
    std::filesystem::path lightning_csv;     // empty: do not tail a CSVLogger file
    std::size_t max_kept_warnings = 20;
    // Called (under the recorder's lock) for every warning, e.g. to print it to the trial's
    // stderr log; may be empty.
    std::function<void(const std::string&)> on_warning;
    // Called once for every record the recorder accepts into the trial's series, whatever
    // carried it: an HPSWEEP_METRIC line (stdout or the metrics fd), a regex metric, a row of
    // the Lightning CSV or record(). Not called for records dropped as duplicates, nor for
    // those loaded from an existing file or replayed from the journal (a previous launcher
    // already saw them). This is how adaptive search sees every metric source without
    // parsing a line a second time. Called under the recorder's lock: it must not call back
    // into the recorder. May be empty.
    std::function<void(const RecordedValue&)> on_record;
};

class TrialRecorder {
public:
    // Opens (resume) or creates `path` and writes a first snapshot with status "running".
    TrialRecorder(std::filesystem::path path, TrialAttributes attributes,
                  RecorderOptions options = {});
    TrialRecorder(const TrialRecorder&) = delete;
    TrialRecorder& operator=(const TrialRecorder&) = delete;
    // Without finish(): flushes what it has (status stays "running"), never throws.
    ~TrialRecorder();

    // One output line without its '\n'. Returns true when it carried metrics.
    bool consume_line(std::string_view line);
    // One value. Returns false when dropped as a duplicate (step <= last step of `name`).
    // Throws Error(usage) for an invalid metric name.
    bool record(std::int64_t step, std::string_view name, double value);
    // Writes metrics.h5 now (atomic replace). No-op when nothing changed since the last one.
    void flush();
    // Appends the records taken since the last call to the journal, in one write: the
    // launcher calls it after each batch of output it has read. Never throws (a journal
    // that cannot be written is reported once through the warnings and then skipped).
    void sync_journal();
    // Tails the Lightning CSV (if any) and flushes when flush_interval has passed.
    // Returns true when it flushed.
    bool tick();
    // Final status and exit code, end time, last flush. Later calls to record are still
    // accepted and need another flush().
    void finish(std::string_view status, int exit_code);

    std::int64_t record_count() const;
    std::int64_t malformed_line_count() const;
    std::int64_t duplicate_record_count() const;
    std::int64_t flush_count() const;
    std::int64_t attempts() const;
    std::vector<std::string> warnings() const;
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    bool record_locked(std::int64_t step, std::string_view name, double value, double wall_time);
    bool record_auto_step_locked(std::string_view name, double value, double wall_time);
    bool record_into(MetricSeries& series, std::int64_t step, double value, double wall_time);
    double wall_time_at(std::chrono::steady_clock::time_point now) const;
    void anchor_clocks();
    MetricSeries& series_for(std::string_view name);
    void flush_locked();
    void poll_csv_locked();
    void warn_locked(std::string message);
    void load_existing();
    void replay_journal();
    void open_journal();
    void journal_locked(std::size_t series, const MetricRecord& record);
    void write_journal_locked();
    void remove_journal_locked();  // after a flush that holds every journaled record

    std::filesystem::path path_;
    RecorderOptions options_;
    mutable std::mutex mutex_;
    TrialFileContent content_;
    std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> series_index_;
    std::unique_ptr<LightningCsvTailer> csv_;
    ParsedLine parsed_;
    std::string parse_error_;
    std::vector<std::string> warnings_;
    std::int64_t line_number_ = 0;
    std::int64_t record_count_ = 0;
    std::int64_t flush_count_ = 0;
    bool dirty_ = true;
    bool finished_ = false;
    std::chrono::steady_clock::time_point last_flush_;
    // Wall time = wall_anchor_ + (steady now - steady_anchor_): one clock read per line.
    std::chrono::steady_clock::time_point steady_anchor_;
    double wall_anchor_ = 0;
    // Series index of each value position of the last metric line (a cache of series_index_).
    static constexpr std::size_t no_series = static_cast<std::size_t>(-1);
    std::vector<std::size_t> line_series_;
    // The journal (see the top of this file): entries waiting for the next sync_journal(),
    // and which series have been named in it since it was last emptied.
    std::filesystem::path journal_path_;
    UniqueFd journal_fd_;
    std::string journal_pending_;
    std::vector<bool> journal_named_;
    bool replaying_ = false;
};

}  // namespace hpsweep::metrics
