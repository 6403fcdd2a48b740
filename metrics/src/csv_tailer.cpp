#include "hpsweep/metrics/csv_tailer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>

#include "hpsweep/fs.hpp"
#include "hpsweep/metrics/line_parser.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::metrics {

namespace {
std::string read_range(int fd, std::uint64_t offset, std::uint64_t length) {
    std::string data(length, '\0');
    std::size_t done = 0;
    while (done < length) {
        const ssize_t n =
            ::pread(fd, data.data() + done, length - done, static_cast<off_t>(offset + done));
        if (n <= 0)
            break;
        done += static_cast<std::size_t>(n);
    }
    data.resize(done);
    return data;
}

std::string_view strip_cr(std::string_view line) {
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    return line;
}
}  // namespace

std::size_t LightningCsvTailer::poll(const ValueSink& on_value, const WarningSink& on_warning) {
    const UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        return 0;
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0)
        return 0;
    const auto size = static_cast<std::uint64_t>(info.st_size);
    if (size < offset_) {
        offset_ = 0;  // truncated or replaced
    }
    if (offset_ > 0) {
        // Same header still? Lightning rewrites the file from scratch when a column appears.
        const std::string head = read_range(fd.get(), 0, header_line_.size() + 1);
        if (head.size() != header_line_.size() + 1 ||
            head.compare(0, header_line_.size(), header_line_) != 0 || head.back() != '\n') {
            offset_ = 0;
        }
    }
    if (offset_ == 0) {
        header_line_.clear();
        columns_.clear();
        line_number_ = 0;
    }
    if (size == offset_)
        return 0;
    const std::string data = read_range(fd.get(), offset_, size - offset_);
    std::size_t rows = 0;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = data.find('\n', start);
        if (end == std::string::npos)
            break;  // partial line: wait for the rest
        const std::string_view line(data.data() + start, end - start);
        ++line_number_;
        if (header_line_.empty() && offset_ + start == 0) {
            header_line_ = std::string(line);
            parse_header(strip_cr(line), on_warning);
        } else if (!strip_cr(line).empty()) {
            parse_row(strip_cr(line), on_value, on_warning);
            ++rows;
        }
        start = end + 1;
    }
    offset_ += start;
    return rows;
}

void LightningCsvTailer::parse_header(std::string_view line, const WarningSink& on_warning) {
    columns_.clear();
    step_column_ = -1;
    int index = 0;
    for (const auto& cell : split(line, ',')) {
        const std::string name(trim(cell));
        if (name == "step") {
            step_column_ = index;
            columns_.emplace_back();
        } else if (is_valid_metric_name(name)) {
            columns_.push_back(name);
        } else {
            on_warning(path_.string() + ":1: column '" + name +
                       "' is not a valid metric name; ignored");
            columns_.emplace_back();
        }
        ++index;
    }
}

void LightningCsvTailer::parse_row(std::string_view line, const ValueSink& on_value,
                                   const WarningSink& on_warning) {
    const auto cells = split(line, ',');
    const std::string where = path_.string() + ":" + std::to_string(line_number_);
    if (cells.size() != columns_.size()) {
        on_warning(where + ": " + std::to_string(cells.size()) + " cells, the header has " +
                   std::to_string(columns_.size()));
        return;
    }
    std::optional<std::int64_t> step;
    if (step_column_ >= 0) {
        const auto text = trim(cells[static_cast<std::size_t>(step_column_)]);
        std::int64_t value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
            on_warning(where + ": step '" + std::string(text) + "' is not a non-negative integer");
            return;
        }
        step = value;
    }
    for (std::size_t i = 0; i < cells.size(); ++i) {
        if (columns_[i].empty())
            continue;
        const auto text = trim(cells[i]);
        if (text.empty())
            continue;
        double value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size()) {
            on_warning(where + ": value '" + std::string(text) + "' of column '" + columns_[i] +
                       "' is not a number");
            continue;
        }
        on_value(step, columns_[i], value);
    }
}

}  // namespace hpsweep::metrics
