#include "experiment_wait.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "hpsweep/error.hpp"
#include "hpsweep/metrics/summary.hpp"

namespace fs = std::filesystem;

namespace hpsweep::cli::sweep {

namespace {

// "best val_loss 0.231 (trial 7)" for the live line. Reading every trial's metrics file
// attributes is cheap for hundreds of trials but not for 10,000 on a slow shared file system,
// so when a refresh costs more than a quarter of the polling interval the next ones are
// skipped in proportion, and the last answer is shown meanwhile.
class BestSoFar {
public:
    std::string refresh(const fs::path& root, double interval_s) {
        if (skip_ > 0) {
            --skip_;
            return text_;
        }
        const auto start = std::chrono::steady_clock::now();
        try {
            const auto results = metrics::collect_results(root);
            const std::string metric = results.primary_metric();
            if (const auto index = metric.empty() ? std::nullopt : results.best_trial(metric)) {
                const auto& trial = results.trials[*index];
                if (const auto value = results.best_of(trial, metric)) {
                    text_ =
                        fmt::format("best {} {:.6g} (trial {})", metric, value->value, trial.id);
                }
            }
        } catch (const Error&) {
            // A trial table being rewritten or a file being created: try again next time.
        }
        const double took =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        skip_ = static_cast<int>(took / (interval_s / 4));
        return text_;
    }

private:
    std::string text_;
    int skip_ = 0;
};

}  // namespace

ExperimentStates wait_for_experiment(const ExperimentDir& dir, bool json_output) {
    (void)json_output;  // the live line goes to stderr, so JSON on stdout stays clean
    // stdout is block-buffered into a pipe: what the command printed before waiting (the
    // "Submitted ..." lines) would otherwise reach the reader after every progress line.
    std::fflush(stdout);
    const bool tty = ::isatty(2) == 1;
    std::string last_line;
    double interval_s = 1.0;
    BestSoFar best_so_far;
    for (;;) {
        const auto record = dir.read_record();
        auto states = collect_states(dir, record);
        long done = 0;
        for (const auto& [state, count] : states.counts) done += is_success(state) ? count : 0;
        std::string line = fmt::format(
            "{}: {} pending, {} running, {} done, {} failed",
            record.id.empty() ? dir.root().filename().string() : record.id,
            states.counts["pending"], states.counts["running"], done, states.unsuccessful());
        if (const std::string best = best_so_far.refresh(dir.root(), interval_s); !best.empty())
            line += ", " + best;
        if (tty) {
            std::fprintf(stderr, "\r\033[K%s", line.c_str());
        } else if (line != last_line) {
            std::fprintf(stderr, "%s\n", line.c_str());
        }
        std::fflush(stderr);
        last_line = line;
        if (states.active() == 0) {
            if (tty)
                std::fputc('\n', stderr);
            // Drop the zero entries operator[] added above.
            std::erase_if(states.counts, [](const auto& kv) { return kv.second == 0; });
            return states;
        }
        std::this_thread::sleep_for(std::chrono::duration<double>(interval_s));
        interval_s = std::min(interval_s * 1.5, 10.0);  // poll gently on long sweeps
    }
}

}  // namespace hpsweep::cli::sweep
