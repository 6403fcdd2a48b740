// `hpsweep logs EXP TRIAL [--stdout|--stderr] [-f]`: a trial's output. By default stdout and
// stderr interleaved in the order the program wrote them, read back through the launcher's
// output.timeline (hpsweep/output_timeline.hpp); the log files themselves hold exactly what
// the program printed. A trial that ended without printing anything says so, with the last
// lines of what did reach a log (its stderr, else Slurm's own output of the task), instead
// of printing nothing.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>

#include "command_registry.hpp"
#include "experiment_arrays.hpp"
#include "experiment_lookup.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/output_timeline.hpp"
#include "hpsweep/strings.hpp"
#include "option_values.hpp"
#include "trial_states.hpp"

namespace hpsweep::cli {
namespace {

namespace fs = std::filesystem;

enum class Which { both, stdout_only, stderr_only };

// Copies bytes [from, to) of `path` to stdout (to = npos: to the end); returns the new offset.
std::uintmax_t copy_range(const fs::path& path, std::uintmax_t from,
                          std::uintmax_t to = static_cast<std::uintmax_t>(-1)) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return from;
    in.seekg(static_cast<std::streamoff>(from));
    char buffer[65536];
    std::uintmax_t offset = from;
    while (offset < to) {
        const auto want =
            static_cast<std::streamsize>(std::min<std::uintmax_t>(sizeof buffer, to - offset));
        in.read(buffer, want);
        const auto got = in.gcount();
        if (got <= 0)
            break;
        std::fwrite(buffer, 1, static_cast<std::size_t>(got), stdout);
        offset += static_cast<std::uintmax_t>(got);
    }
    std::fflush(stdout);
    return offset;
}

// Streams one log, or both in time order, as the files grow.
class LogPrinter {
public:
    LogPrinter(const ExperimentDir& dir, long trial, Which which)
        : out_(dir.trial_stdout(trial)),
          err_(dir.trial_stderr(trial)),
          timeline_(output_timeline_path(dir.trial_dir(trial), 0)),
          which_(which) {}

    // Prints what is new. `final`: also bytes no timeline record covers yet (the launcher
    // writes the record just after the bytes; one from before timelines existed has none).
    void drain(bool final) {
        if (which_ == Which::stdout_only) {
            out_offset_ = copy_range(out_, out_offset_);
        } else if (which_ == Which::stderr_only) {
            err_offset_ = copy_range(err_, err_offset_);
        } else {
            std::string text;
            try {
                if (fs::exists(timeline_))
                    text = read_file(timeline_);
            } catch (const Error&) {
                text.clear();  // rewritten or unreadable: the final pass prints in file order
            }
            for (const auto& record : parse_timeline(text, timeline_consumed_)) {
                if (record.stream == OutputStream::stdout_log)
                    out_offset_ = copy_range(out_, out_offset_, record.end_offset);
                else
                    err_offset_ = copy_range(err_, err_offset_, record.end_offset);
            }
            if (final) {
                out_offset_ = copy_range(out_, out_offset_);
                err_offset_ = copy_range(err_, err_offset_);
            }
        }
    }

    bool printed_anything() const { return out_offset_ + err_offset_ > 0; }
    bool any_log_exists() const {
        return (which_ != Which::stderr_only && fs::exists(out_)) ||
               (which_ != Which::stdout_only && fs::exists(err_));
    }

private:
    fs::path out_, err_, timeline_;
    Which which_;
    std::uintmax_t out_offset_ = 0, err_offset_ = 0;
    std::size_t timeline_consumed_ = 0;
};

// The last `count` non-empty lines of a file (at most 64 KiB are read from its end).
std::vector<std::string> last_lines(const fs::path& path, std::size_t count) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in)
        return {};
    const auto size = static_cast<std::uintmax_t>(in.tellg());
    const std::uintmax_t from = size > 65536 ? size - 65536 : 0;
    in.seekg(static_cast<std::streamoff>(from));
    std::string text(static_cast<std::size_t>(size - from), '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    std::vector<std::string> lines;
    for (const auto& line : split(text, '\n')) {
        if (!trim(line).empty())
            lines.push_back(line);
    }
    if (lines.size() > count)
        lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(count));
    return lines;
}

// Says why nothing was printed: the trial's state, and for one that did not succeed the last
// lines of its stderr (what --stdout left out) or of Slurm's output of its task.
void explain_silence(const ExperimentDir& dir, long trial, Which which,
                     const std::optional<sweep::TrialJob>& job) {
    const auto states = sweep::collect_states(dir, dir.read_record());
    const auto& state = states.trials.at(static_cast<std::size_t>(trial));
    const std::string stream = which == Which::stdout_only   ? "on stdout"
                               : which == Which::stderr_only ? "on stderr"
                                                             : "";
    if (state.state == "pending" || state.state == "running") {
        std::fprintf(stderr, "hpsweep: trial %ld is %s and has printed nothing %s yet\n", trial,
                     state.state.c_str(), stream.c_str());
        return;
    }
    const std::string exit =
        state.exit_code ? fmt::format(" (exit code {})", *state.exit_code) : std::string();
    std::fprintf(stderr, "hpsweep: trial %ld %s%s without printing anything %s\n", trial,
                 state.state.c_str(), exit.c_str(), stream.c_str());
    if (sweep::is_success(state.state))
        return;
    global_options().exit_code = 1;
    std::vector<std::pair<fs::path, std::vector<std::string>>> sources;
    if (which == Which::stdout_only)
        sources.emplace_back(dir.trial_stderr(trial), last_lines(dir.trial_stderr(trial), 10));
    if (job) {
        const fs::path slurm =
            dir.slurm_log_dir() / fmt::format("{}_{}.out", job->array_job_id, job->task_id);
        sources.emplace_back(slurm, last_lines(slurm, 10));
    }
    for (const auto& [path, lines] : sources) {
        if (lines.empty())
            continue;
        std::fprintf(stderr, "hpsweep: the last lines of %s:\n", path.c_str());
        for (const auto& line : lines) std::fprintf(stderr, "  %s\n", line.c_str());
        return;
    }
    std::fprintf(stderr, "hpsweep: no log of it holds anything either (see hpsweep status %s)\n",
                 dir.root().c_str());
}

void logs_command(const std::string& exp_arg, long trial, bool follow, Which which) {
    const fs::path root = find_experiment(exp_arg);
    const ExperimentDir dir(root);
    const auto record = dir.read_record();
    const long num_trials = record.num_trials;
    if (trial < 0 || trial >= num_trials) {
        throw Error(ErrorKind::usage, fmt::format("trial {} is not in {} (it has trials 0-{})",
                                                  trial, root.string(), num_trials - 1));
    }
    const auto job = sweep::trial_jobs(record)[static_cast<std::size_t>(trial)];
    LogPrinter printer(dir, trial, which);
    // Before the launcher starts (or if it could not), Slurm's own output is all there is.
    const fs::path slurm_log =
        job ? dir.slurm_log_dir() / fmt::format("{}_{}.out", job->array_job_id, job->task_id)
            : fs::path();
    std::uintmax_t slurm_offset = 0;
    if (!follow) {
        printer.drain(true);
        if (!printer.printed_anything()) {
            if (!printer.any_log_exists() && !slurm_log.empty() && fs::exists(slurm_log) &&
                copy_range(slurm_log, 0) > 0)
                return;
            explain_silence(dir, trial, which, job);
        }
        return;
    }
    // Follow: stream new output until the trial has ended, checking its state every few
    // seconds (one squeue + one sacct for the experiment each time).
    auto last_check = std::chrono::steady_clock::now() - std::chrono::seconds(10);
    for (;;) {
        if (printer.any_log_exists())
            printer.drain(false);
        else if (!slurm_log.empty())
            slurm_offset = copy_range(slurm_log, slurm_offset);
        if (std::chrono::steady_clock::now() - last_check >= std::chrono::seconds(3)) {
            last_check = std::chrono::steady_clock::now();
            const auto states = sweep::collect_states(dir, dir.read_record());
            if (sweep::is_terminal(states.trials[static_cast<std::size_t>(trial)].state)) {
                printer.drain(true);
                if (!printer.printed_anything() && slurm_offset == 0)
                    explain_silence(dir, trial, which, job);
                return;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
}

void add_logs_command(CLI::App& app) {
    auto exp = std::make_shared<std::string>();
    auto trial = std::make_shared<long>(0);
    auto follow = std::make_shared<bool>(false);
    auto out = std::make_shared<bool>(false);
    auto err = std::make_shared<bool>(false);
    auto* logs = app.add_subcommand(
        "logs", "Print (or follow) a trial's output: stdout and stderr in the order written");
    logs->add_option("experiment", *exp, "Experiment directory or name")->required();
    accept_integer(logs->add_option("trial", *trial, "Trial id"), {0})->required();
    logs->add_flag("-f,--follow", *follow, "Keep streaming until the trial ends");
    auto* out_flag = logs->add_flag("--stdout", *out, "Only the trial's stdout");
    logs->add_flag("--stderr", *err, "Only the trial's stderr")->excludes(out_flag);
    logs->callback([exp, trial, follow, out, err] {
        logs_command(*exp, *trial, *follow,
                     *out ? Which::stdout_only : (*err ? Which::stderr_only : Which::both));
    });
}

const CommandRegistrar registrar{"sweep-watch-logs", &add_logs_command};

}  // namespace
}  // namespace hpsweep::cli
