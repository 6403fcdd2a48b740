#pragma once
// Tails the metrics.csv of PyTorch Lightning's CSVLogger (columns such as
// epoch,step,train_loss,val_loss; empty cells where a row has no value for a column).
// Lightning rewrites the whole file when a new column appears, so each poll checks the
// header and starts over when it changed; the recorder's dedupe by step drops the rows
// already recorded.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hpsweep::metrics {

class LightningCsvTailer {
public:
    using ValueSink =
        std::function<void(std::optional<std::int64_t> step, std::string_view name, double value)>;
    using WarningSink = std::function<void(const std::string& message)>;

    explicit LightningCsvTailer(std::filesystem::path path) : path_(std::move(path)) {}

    // Reads the complete lines added since the last poll. A missing file is not an error
    // (the trainer has not created it yet). Returns the number of rows read.
    std::size_t poll(const ValueSink& on_value, const WarningSink& on_warning);

    const std::filesystem::path& path() const noexcept { return path_; }

private:
    void parse_header(std::string_view line, const WarningSink& on_warning);
    void parse_row(std::string_view line, const ValueSink& on_value, const WarningSink& on_warning);

    std::filesystem::path path_;
    std::uint64_t offset_ = 0;  // bytes consumed (complete lines only)
    std::uint64_t line_number_ = 0;
    std::string header_line_;
    std::vector<std::string> columns_;  // "" for a column that is not recorded
    int step_column_ = -1;
};

}  // namespace hpsweep::metrics
