#pragma once
// Supervision of the training process: hpsweep-launch stays the parent of the child so
// that it can copy the child's output to the trial's log files, feed metric lines to the
// metrics writer, forward Slurm's signals, and record how the child ended.
//
// Hook API (what the metrics library plugs into). All hooks run on the supervisor's
// thread, one at a time, in the order the events happen; a hook that throws stops
// supervision: the child is killed (SIGKILL) and the exception propagates from run().
//
//   on_start(pid)              once, right after the child was started.
//   on_stdout_line(line)       every complete line the child writes to stdout (no '\n'),
//                              plus a final unterminated line at EOF.
//   on_stderr_line(line)       the same for stderr.
//   on_metrics_line(line)      every line written to the fd whose number the child finds
//                              in $HPSWEEP_METRICS_FD (always 3; when
//                              SupervisorOptions::metrics_fd). These lines are NOT copied to the
//                              logs or to our stdout.
//   on_lines_done()            after the lines of one round of reads were handed to the
//                              hooks above (the metrics journal is written once per round).
//   on_signal(signo)           a signal was received and forwarded to the child.
//   on_tick()                  about once a second while the child runs (periodic work:
//                              flushing the metrics file, tailing a CSV).
//   restart(status)            after a child ended and its pipes were drained: a value starts
//                              the program again (same hooks, logs appended) with its argv
//                              and variables; population-based training swaps the flags.
//   on_exit(status)            once, after the last child ended and its pipes were drained.
//
// Output copying is raw (chunks as they arrive, so progress bars without '\n' still show):
// child stdout -> stdout_log (if set) and our stdout (if echo); the same for stderr.

#include <sys/types.h>

#include <chrono>
#include <csignal>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hpsweep::launcher {

// The variable that names the metrics pipe's fd to the child.
inline constexpr std::string_view metrics_fd_variable = "HPSWEEP_METRICS_FD";

// How the child ended.
struct ChildStatus {
    int exit_code = 0;  // the child's exit code, or 128+N when killed by signal N
    int signal = 0;     // N when killed by signal N, else 0
    // Signals the launcher received and forwarded while the child ran (SIGTERM...).
    std::vector<int> forwarded_signals;
    // Set when the launcher itself stopped the child (Supervisor::stop_child), e.g.
    // "stopped_early" for an ASHA decision; empty when the child ended on its own.
    std::string stop_reason;
    bool killed_by_signal() const noexcept { return signal != 0; }
};

// The next child of a restart: its argv, and the variables that change in its environment.
struct ChildRestart {
    std::vector<std::string> argv;
    std::map<std::string, std::string> environment;
};

struct SupervisorHooks {
    std::function<void(pid_t child)> on_start;
    std::function<void(std::string_view line)> on_stdout_line;
    std::function<void(std::string_view line)> on_stderr_line;
    std::function<void(std::string_view line)> on_metrics_line;
    std::function<void(int signo)> on_signal;
    std::function<std::optional<ChildRestart>(const ChildStatus& status)> restart;
    std::function<void(const ChildStatus& status)> on_exit;
    std::function<void()> on_tick;
    std::function<void()> on_lines_done;
};

struct SupervisorOptions {
    std::vector<std::string> argv;  // argv[0] looked up in the child's PATH
    // Complete environment of the child ("NAME=value"); empty optional = our own environ.
    std::optional<std::vector<std::string>> environment;
    std::optional<std::filesystem::path> stdout_log;  // appended to (requeue keeps history)
    std::optional<std::filesystem::path> stderr_log;
    // When each chunk reached the logs (hpsweep/output_timeline.hpp), for `hpsweep logs`.
    std::optional<std::filesystem::path> output_timeline;
    bool echo = true;        // also copy child output to our own stdout/stderr
    bool metrics_fd = true;  // create the metrics pipe and export HPSWEEP_METRICS_FD
    // Applied in the child just before exec (e.g. CPU/memory binding); must be
    // async-signal-safe enough for a post-fork child (no locks, no allocation ideally).
    std::function<void()> in_child_before_exec;
};

// The signals forwarded to the child: SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
// SIGCONT (Slurm --signal, preemption, scancel).
const std::vector<int>& forwarded_signals();

class Supervisor {
public:
    Supervisor(SupervisorOptions options, SupervisorHooks hooks = {});
    // Starts the child and supervises it until it ended; throws Error(io) when the
    // command cannot be started (exit code 127 is returned when exec itself fails,
    // as a shell does, with a message on stderr).
    ChildStatus run();

    // Replaces the hooks (before run()): lets hooks be built once the Supervisor exists,
    // so that they can call stop_child().
    void set_hooks(SupervisorHooks hooks) { hooks_ = std::move(hooks); }

    // From a hook, while run() runs: ask the child to end gracefully. `signal` (SIGTERM, or
    // SIGUSR2: checkpoint and exit, as before a preemption) now, SIGKILL once `grace` has
    // passed if it is still alive; the ChildStatus carries `reason`. Later calls do not
    // extend the grace period.
    void stop_child(std::chrono::milliseconds grace, std::string reason, int signal = SIGTERM);
    // Like stop_child() but sends nothing now: the child was already told (a forwarded
    // SIGUSR2 preemption notice) and gets `grace` to checkpoint and exit on its own.
    void expect_exit(std::chrono::milliseconds grace, std::string reason);
    // The command the child runs (the latest restart's).
    const std::vector<std::string>& argv() const { return options_.argv; }

private:
    ChildStatus run_child();
    void prepare_restart(ChildRestart restart);

    SupervisorOptions options_;
    SupervisorHooks hooks_;
    pid_t child_ = -1;
    std::string stop_reason_;
    std::optional<std::chrono::steady_clock::time_point> kill_deadline_;
};

}  // namespace hpsweep::launcher
