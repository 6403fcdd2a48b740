#include "hpsweep/output_timeline.hpp"

#include <charconv>

namespace hpsweep {

std::filesystem::path output_timeline_path(const std::filesystem::path& trial_dir, int rank) {
    if (rank == 0)
        return trial_dir / "output.timeline";
    return trial_dir / ("output.rank" + std::to_string(rank) + ".timeline");
}

std::string format_timeline_record(const TimelineRecord& record) {
    return std::to_string(record.unix_ms) +
           (record.stream == OutputStream::stdout_log ? " o " : " e ") +
           std::to_string(record.end_offset) + "\n";
}

namespace {

template <typename T>
bool read_number(std::string_view text, T& value) {
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && p == text.data() + text.size();
}

}  // namespace

std::vector<TimelineRecord> parse_timeline(std::string_view text, std::size_t& consumed) {
    std::vector<TimelineRecord> records;
    while (consumed < text.size()) {
        const auto newline = text.find('\n', consumed);
        if (newline == std::string_view::npos)
            break;
        const std::string_view line = text.substr(consumed, newline - consumed);
        consumed = newline + 1;
        const auto first = line.find(' ');
        const auto second = first == std::string_view::npos ? first : line.find(' ', first + 1);
        if (second == std::string_view::npos || second != first + 2)
            continue;
        TimelineRecord record;
        const char tag = line[first + 1];
        if (tag != 'o' && tag != 'e')
            continue;
        record.stream = tag == 'o' ? OutputStream::stdout_log : OutputStream::stderr_log;
        if (!read_number(line.substr(0, first), record.unix_ms) ||
            !read_number(line.substr(second + 1), record.end_offset))
            continue;
        records.push_back(record);
    }
    return records;
}

}  // namespace hpsweep
