#pragma once
// trials/<id>/output.timeline: when each piece of a trial's stdout.log and stderr.log was
// written, so that `hpsweep logs EXP TRIAL` can show both streams interleaved in time order
// while the log files stay exactly what the program printed. The launcher appends one line
// per chunk it copied into a log:
//
//   <unix milliseconds> <o|e> <end offset>\n
//
// "o" is stdout.log, "e" is stderr.log; the chunk is the bytes of that log from the previous
// record's end offset (0 at first) to this end offset. A requeued trial appends to the logs
// and to the timeline alike, so offsets keep growing.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace hpsweep {

enum class OutputStream { stdout_log, stderr_log };

struct TimelineRecord {
    std::int64_t unix_ms = 0;
    OutputStream stream = OutputStream::stdout_log;
    std::uint64_t end_offset = 0;
};

// The trial's timeline next to its logs (rank 0; rank N: output.rankN.timeline).
std::filesystem::path output_timeline_path(const std::filesystem::path& trial_dir, int rank);

std::string format_timeline_record(const TimelineRecord& record);

// Parses complete lines of TEXT from `consumed` on, advancing `consumed` past them (a last
// line without its newline is being written: left for the next call). A malformed line is
// skipped: the timeline only orders output, it never hides any.
std::vector<TimelineRecord> parse_timeline(std::string_view text, std::size_t& consumed);

}  // namespace hpsweep
