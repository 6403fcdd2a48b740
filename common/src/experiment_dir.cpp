#include "hpsweep/experiment_dir.hpp"

#include <algorithm>

#include "hpsweep/contracts/json_fields.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"

namespace hpsweep {

std::vector<TrialRecord> ExperimentDir::read_trials() const {
    const std::string text = read_file(trial_table_path());
    std::vector<TrialRecord> trials;
    size_t line_no = 0;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos)
            end = text.size();
        ++line_no;
        const std::string_view line(text.data() + start, end - start);
        start = end + 1;
        if (line.empty())
            continue;
        const std::string source = trial_table_path().string() + ":" + std::to_string(line_no);
        trials.push_back(
            trial_from_json(contracts::parse_json_document(std::string(line), source), source));
        if (trials.back().chosen_at_start)
            show_chosen_config(trials.back());
    }
    return trials;
}

void ExperimentDir::show_chosen_config(TrialRecord& placeholder) const {
    const auto path = trial_config(placeholder.id);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return;  // not started yet
    const TrialRecord chosen = trial_from_json(
        contracts::parse_json_document(read_file(path), path.string()), path.string());
    if (chosen.id != placeholder.id)
        throw Error(ErrorKind::data,
                    path.string() + ": it is the record of trial " + std::to_string(chosen.id));
    placeholder.hyperparameters = chosen.hyperparameters;
    placeholder.argv = chosen.argv;
}

TrialRecord ExperimentDir::read_trial(long id) const {
    // Ids are dense and written in order, so line id is the trial: parse that line alone (each
    // trial of a 10,000-trial sweep would otherwise parse the whole table to find its own), and
    // check rather than trust. Anything unexpected: the whole table, which names a bad line.
    const std::string text = read_file(trial_table_path());
    size_t start = 0;
    for (long line = 0; line < id && start != std::string::npos; ++line) {
        start = text.find('\n', start);
        if (start != std::string::npos)
            ++start;
    }
    if (id >= 0 && start != std::string::npos && start < text.size()) {
        const size_t end = std::min(text.find('\n', start), text.size());
        try {
            TrialRecord trial = trial_from_json(
                nlohmann::ordered_json::parse(std::string_view(text).substr(start, end - start)));
            if (trial.id == id) {
                if (trial.chosen_at_start)
                    show_chosen_config(trial);
                return trial;
            }
        } catch (const std::exception&) {
            // read below, with the line number in the error
        }
    }
    auto trials = read_trials();
    if (id >= 0 && static_cast<size_t>(id) < trials.size() &&
        trials[static_cast<size_t>(id)].id == id) {
        return std::move(trials[static_cast<size_t>(id)]);
    }
    for (auto& t : trials) {
        if (t.id == id)
            return std::move(t);
    }
    throw Error(ErrorKind::data,
                "trial " + std::to_string(id) + " is not in " + trial_table_path().string());
}

void ExperimentDir::write_trials(const std::vector<TrialRecord>& trials) const {
    std::string text;
    for (const auto& t : trials) {
        text += to_json(t).dump();
        text += '\n';
    }
    write_file_atomic(trial_table_path(), text);
}

void ExperimentDir::append_trials(const std::vector<TrialRecord>& trials) const {
    std::string text = read_file(trial_table_path());
    if (!text.empty() && text.back() != '\n') {
        throw Error(ErrorKind::data,
                    trial_table_path().string() + ": the last line is not complete (no newline)");
    }
    // Rows are dense and in id order (read_trial relies on it), blank lines aside.
    long rows = 0;
    for (size_t start = 0; start < text.size();) {
        const size_t end = text.find('\n', start);
        if (end > start)
            ++rows;
        start = end + 1;
    }
    for (const auto& t : trials) {
        if (t.id != rows) {
            throw Error(ErrorKind::data, trial_table_path().string() +
                                             ": a new row must be trial " + std::to_string(rows) +
                                             ", got trial " + std::to_string(t.id));
        }
        text += to_json(t).dump();
        text += '\n';
        ++rows;
    }
    write_file_atomic(trial_table_path(), text);
}

}  // namespace hpsweep
