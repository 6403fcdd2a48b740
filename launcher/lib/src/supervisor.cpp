#include "hpsweep/launcher/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/output_timeline.hpp"
#include "hpsweep/write_all.hpp"
#include "signal_guard.hpp"

extern char** environ;

namespace hpsweep::launcher {

const std::vector<int>& forwarded_signals() {
    static const std::vector<int> signals{SIGTERM, SIGINT,  SIGHUP, SIGQUIT,
                                          SIGUSR1, SIGUSR2, SIGCONT};
    return signals;
}

namespace {

// The fd number the child finds its metrics pipe at ($HPSWEEP_METRICS_FD).
constexpr int metrics_child_fd = 3;

struct Pipe {
    UniqueFd read_end;
    UniqueFd write_end;
};

Pipe make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw_errno("pipe2");
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

UniqueFd open_log(const std::optional<std::filesystem::path>& path) {
    if (!path)
        return UniqueFd{};
    UniqueFd fd(::open(path->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!fd)
        throw_errno("cannot open log " + path->string());
    return fd;
}

// Appends "when this log reached its current end" to the trial's output timeline. The log
// is opened O_APPEND, so its offset after a write is its end.
void record_time(int timeline_fd, OutputStream stream, int log_fd) {
    const off_t end = ::lseek(log_fd, 0, SEEK_CUR);
    if (end < 0)
        return;
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    (void)write_fully(timeline_fd, format_timeline_record(
                                       {now.count(), stream, static_cast<std::uint64_t>(end)}));
}

// One child output stream: where its bytes go and how they are split into lines.
struct Stream {
    UniqueFd source;
    int log_fd = -1;
    int echo_fd = -1;
    const std::function<void(std::string_view)>* line_hook = nullptr;
    std::string partial;
    int timeline_fd = -1;
    OutputStream timeline_tag = OutputStream::stdout_log;
    bool open() const noexcept { return static_cast<bool>(source); }

    // Returns false at EOF.
    bool pump() {
        char buffer[65536];
        const ssize_t n = ::read(source.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                return true;
            finish();
            return false;
        }
        if (n == 0) {
            finish();
            return false;
        }
        const auto size = static_cast<size_t>(n);
        // Best effort: a log on a full disk or a closed stdout must not stop the child.
        const std::string_view bytes(buffer, size);
        if (log_fd >= 0 && write_fully(log_fd, bytes) == 0 && timeline_fd >= 0)
            record_time(timeline_fd, timeline_tag, log_fd);
        if (echo_fd >= 0)
            (void)write_fully(echo_fd, bytes);
        if (line_hook && *line_hook) {
            partial.append(buffer, size);
            size_t start = 0;
            for (size_t nl = partial.find('\n'); nl != std::string::npos;
                 nl = partial.find('\n', start)) {
                (*line_hook)(std::string_view(partial).substr(start, nl - start));
                start = nl + 1;
            }
            partial.erase(0, start);
        }
        return true;
    }

    void finish() {
        source.reset();
        if (!partial.empty() && line_hook && *line_hook)
            (*line_hook)(partial);
        partial.clear();
    }
};

ChildStatus decode(int wait_status) {
    ChildStatus status;
    if (WIFEXITED(wait_status)) {
        status.exit_code = WEXITSTATUS(wait_status);
    } else if (WIFSIGNALED(wait_status)) {
        status.signal = WTERMSIG(wait_status);
        status.exit_code = 128 + status.signal;
    }
    return status;
}

// The child's stdout, stderr and (when asked for) metrics pipes.
struct ChildPipes {
    Pipe out = make_pipe();
    Pipe err = make_pipe();
    Pipe metrics;

    // Only the read ends stay open in the parent, so EOF means every writer is gone.
    void close_write_ends() noexcept {
        out.write_end.reset();
        err.write_end.reset();
        metrics.write_end.reset();
    }
};

// Everything the child needs, built before fork: after fork only async-signal-safe calls.
// Not movable: the pointer arrays point into the strings.
class ExecArguments {
public:
    ExecArguments(const SupervisorOptions& options, bool with_metrics_fd) {
        if (options.environment) {
            env_strings_ = *options.environment;
        } else {
            for (char** e = environ; *e; ++e) env_strings_.emplace_back(*e);
        }
        if (with_metrics_fd) {
            const std::string assignment = std::string(metrics_fd_variable) + "=";
            std::erase_if(env_strings_,
                          [&](const std::string& s) { return s.starts_with(assignment); });
            // Always fd 3 in the child: dash (/bin/sh) only redirects to fds 0-9 (`>&$FD`),
            // and the pipe's own number can be higher when the launcher inherited open fds.
            env_strings_.push_back(assignment + std::to_string(metrics_child_fd));
        }
        for (auto& s : env_strings_) envp_.push_back(s.data());
        envp_.push_back(nullptr);
        argv_strings_ = options.argv;
        for (auto& s : argv_strings_) argv_.push_back(s.data());
        argv_.push_back(nullptr);
        exec_failed_ = "hpsweep-launch: cannot run '" + options.argv[0] + "': ";
    }
    ExecArguments(const ExecArguments&) = delete;
    ExecArguments& operator=(const ExecArguments&) = delete;

    // Runs the command; on failure says why on stderr and exits 127 (not found) or 126.
    [[noreturn]] void exec() const noexcept {
        ::execvpe(argv_[0], argv_.data(), envp_.data());
        const int saved = errno;
        (void)write_fully(STDERR_FILENO, exec_failed_);
        (void)write_fully(STDERR_FILENO, std::strerror(saved));
        (void)write_fully(STDERR_FILENO, "\n");
        ::_exit(saved == ENOENT ? 127 : 126);
    }

private:
    std::vector<std::string> env_strings_;
    std::vector<char*> envp_;
    std::vector<std::string> argv_strings_;
    std::vector<char*> argv_;
    std::string exec_failed_;
};

// The child side of fork(): default dispositions and the caller's signal mask, output into
// the pipes, the metrics pipe at fd 3, then exec. Only async-signal-safe calls (and the
// caller's in_child_before_exec).
[[noreturn]] void exec_child(const ExecArguments& exec, const sigset_t& caller_mask,
                             const ChildPipes& pipes,
                             const std::function<void()>& in_child_before_exec) {
    ::signal(SIGPIPE, SIG_DFL);
    ::sigprocmask(SIG_SETMASK, &caller_mask, nullptr);
    if (::dup2(pipes.out.write_end.get(), STDOUT_FILENO) < 0 ||
        ::dup2(pipes.err.write_end.get(), STDERR_FILENO) < 0) {
        ::_exit(127);
    }
    if (pipes.metrics.write_end) {
        // Move the metrics pipe to fd 3 (whatever was there is not the child's: stdio
        // is already in place) and keep it open across exec.
        if (pipes.metrics.write_end.get() != metrics_child_fd &&
            ::dup2(pipes.metrics.write_end.get(), metrics_child_fd) < 0) {
            ::_exit(127);
        }
        ::fcntl(metrics_child_fd, F_SETFD, 0);
    }
    if (in_child_before_exec)
        in_child_before_exec();
    exec.exec();
}

// Watches a started child until it has ended and its pipes are drained: forwards signals,
// pumps output to the logs and hooks, enforces stop_child()'s kill deadline, ticks once a
// second, reaps it.
class ChildWatch {
public:
    using clock = std::chrono::steady_clock;

    ChildWatch(pid_t pid, int signal_fd, std::array<Stream, 3>& streams,
               const SupervisorHooks& hooks, std::optional<clock::time_point>& kill_deadline)
        : pid_(pid),
          signal_fd_(signal_fd),
          streams_(streams),
          hooks_(hooks),
          kill_deadline_(kill_deadline) {}

    // The child's status with the signals forwarded to it. When a hook throws, a child that
    // is still running is killed and reaped before the exception goes on.
    ChildStatus watch() {
        try {
            if (hooks_.on_start)
                hooks_.on_start(pid_);
            loop();
        } catch (...) {
            if (!exited_) {
                ::kill(pid_, SIGKILL);
                int ignored = 0;
                ::waitpid(pid_, &ignored, 0);
            }
            throw;
        }
        status_.forwarded_signals = std::move(forwarded_);
        return std::move(status_);
    }

private:
    // The signalfd first, then the open streams; stream_of maps a poll slot to its stream.
    struct PollSet {
        pollfd fds[4];
        int stream_of[4] = {-1, -1, -1, -1};
        int count = 0;
    };

    void loop() {
        next_tick_ = clock::now() + std::chrono::seconds(1);
        for (;;) {
            PollSet set = poll_set();
            if (exited_ && set.count == 1)
                return;  // child gone, all pipes at EOF
            const std::optional<int> timeout_ms = poll_timeout_ms();
            if (!timeout_ms)
                return;
            const int ready = ::poll(set.fds, static_cast<nfds_t>(set.count), *timeout_ms);
            if (ready < 0) {
                if (errno == EINTR)
                    continue;
                throw_errno("poll");
            }
            if (set.fds[0].revents & POLLIN)
                forward_signals();
            if (pump_ready_streams(set) && hooks_.on_lines_done)
                hooks_.on_lines_done();
            if (!exited_ && hooks_.on_tick && clock::now() >= next_tick_) {
                next_tick_ = clock::now() + std::chrono::seconds(1);
                hooks_.on_tick();
            }
            if (!exited_)
                reap();
        }
    }

    PollSet poll_set() const {
        PollSet set;
        set.fds[set.count++] = pollfd{signal_fd_, POLLIN, 0};
        for (int i = 0; i < 3; ++i) {
            if (streams_[i].open()) {
                set.stream_of[set.count] = i;
                set.fds[set.count++] = pollfd{streams_[i].source.get(), POLLIN, 0};
            }
        }
        return set;
    }

    // How long the next poll may wait; nullopt once the drain time after the exit is over.
    // Sends SIGKILL when the grace period of stop_child() is over.
    std::optional<int> poll_timeout_ms() {
        int timeout_ms = 1000;
        if (exited_) {
            // A grandchild may keep a pipe open forever: drain for a short while only.
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                drain_deadline_ - clock::now());
            if (left.count() <= 0)
                return std::nullopt;
            timeout_ms = static_cast<int>(left.count());
        } else if (kill_deadline_) {
            if (clock::now() >= *kill_deadline_) {
                ::kill(pid_, SIGKILL);
                kill_deadline_.reset();
            } else {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    *kill_deadline_ - clock::now());
                timeout_ms = std::min(timeout_ms, static_cast<int>(left.count()) + 1);
            }
        }
        return timeout_ms;
    }

    void forward_signals() {
        signalfd_siginfo info;
        while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
            const int signo = static_cast<int>(info.ssi_signo);
            if (signo == SIGCHLD)
                continue;  // reaped by reap()
            if (!exited_) {
                ::kill(pid_, signo);
                forwarded_.push_back(signo);
                if (hooks_.on_signal)
                    hooks_.on_signal(signo);
            }
        }
    }

    // Returns whether any stream was read.
    bool pump_ready_streams(const PollSet& set) {
        bool read_any = false;
        for (int i = 1; i < set.count; ++i) {
            if (set.fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                streams_[set.stream_of[i]].pump();
                read_any = true;
            }
        }
        return read_any;
    }

    void reap() {
        int wait_status = 0;
        if (::waitpid(pid_, &wait_status, WNOHANG) == pid_) {
            exited_ = true;
            status_ = decode(wait_status);
            drain_deadline_ = clock::now() + std::chrono::milliseconds(2000);
        }
    }

    const pid_t pid_;
    const int signal_fd_;
    std::array<Stream, 3>& streams_;
    const SupervisorHooks& hooks_;
    std::optional<clock::time_point>& kill_deadline_;
    bool exited_ = false;
    ChildStatus status_;
    std::vector<int> forwarded_;
    clock::time_point drain_deadline_{};
    clock::time_point next_tick_{};
};

}  // namespace

void Supervisor::stop_child(std::chrono::milliseconds grace, std::string reason, int signal) {
    if (child_ <= 0 || !stop_reason_.empty())
        return;
    stop_reason_ = std::move(reason);
    ::kill(child_, signal);
    kill_deadline_ = std::chrono::steady_clock::now() + grace;
}

void Supervisor::expect_exit(std::chrono::milliseconds grace, std::string reason) {
    if (child_ <= 0 || !stop_reason_.empty())
        return;
    stop_reason_ = std::move(reason);
    kill_deadline_ = std::chrono::steady_clock::now() + grace;
}

Supervisor::Supervisor(SupervisorOptions options, SupervisorHooks hooks)
    : options_(std::move(options)), hooks_(std::move(hooks)) {
    if (options_.argv.empty())
        throw Error(ErrorKind::usage, "no command to run");
}
ChildStatus Supervisor::run() {
    for (;;) {
        ChildStatus status = run_child();
        std::optional<ChildRestart> restart;
        if (hooks_.restart)
            restart = hooks_.restart(status);
        if (!restart) {
            if (hooks_.on_exit)
                hooks_.on_exit(status);
            return status;
        }
        prepare_restart(std::move(*restart));
    }
}

void Supervisor::prepare_restart(ChildRestart restart) {
    if (restart.argv.empty())
        throw Error(ErrorKind::internal, "a restart without a command");
    options_.argv = std::move(restart.argv);
    if (!options_.environment) {
        options_.environment.emplace();
        for (char** entry = environ; *entry != nullptr; ++entry)
            options_.environment->emplace_back(*entry);
    }
    for (const auto& [name, value] : restart.environment) {
        const std::string prefix = name + "=";
        auto& variables = *options_.environment;
        variables.erase(
            std::remove_if(variables.begin(), variables.end(),
                           [&](const std::string& v) { return v.rfind(prefix, 0) == 0; }),
            variables.end());
        variables.push_back(prefix + value);
    }
    stop_reason_.clear();
    kill_deadline_.reset();
}

ChildStatus Supervisor::run_child() {
    SignalGuard signals;
    ChildPipes pipes;
    if (options_.metrics_fd)
        pipes.metrics = make_pipe();
    UniqueFd out_log = open_log(options_.stdout_log);
    UniqueFd err_log = open_log(options_.stderr_log);
    UniqueFd timeline = open_log(options_.output_timeline);
    const ExecArguments exec(options_, static_cast<bool>(pipes.metrics.write_end));

    const pid_t pid = ::fork();
    if (pid < 0)
        throw_errno("fork");
    if (pid == 0)
        exec_child(exec, signals.old_mask(), pipes, options_.in_child_before_exec);
    pipes.close_write_ends();

    std::array<Stream, 3> streams{
        Stream{std::move(pipes.out.read_end),
               out_log.get(),
               options_.echo ? STDOUT_FILENO : -1,
               &hooks_.on_stdout_line,
               {}},
        Stream{std::move(pipes.err.read_end),
               err_log.get(),
               options_.echo ? STDERR_FILENO : -1,
               &hooks_.on_stderr_line,
               {}},
        Stream{std::move(pipes.metrics.read_end), -1, -1, &hooks_.on_metrics_line, {}}};
    streams[0].timeline_fd = streams[1].timeline_fd = timeline.get();
    streams[1].timeline_tag = OutputStream::stderr_log;
    child_ = pid;
    ChildStatus status = ChildWatch(pid, signals.fd(), streams, hooks_, kill_deadline_).watch();
    for (auto& s : streams) {
        if (s.open())
            s.finish();
    }
    status.stop_reason = stop_reason_;
    child_ = -1;
    return status;
}

}  // namespace hpsweep::launcher
