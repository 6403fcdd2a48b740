#include "hpsweep/launcher/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"

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

// Blocks the forwarded signals and SIGCHLD for the lifetime of the object (they are read
// from a signalfd instead), ignores SIGPIPE (a closed stdout must not kill the launcher),
// and restores everything on destruction.
class SignalGuard {
public:
    SignalGuard() {
        sigset_t mask;
        sigemptyset(&mask);
        for (int s : forwarded_signals()) sigaddset(&mask, s);
        sigaddset(&mask, SIGCHLD);
        if (::sigprocmask(SIG_BLOCK, &mask, &old_mask_) != 0)
            throw_errno("sigprocmask");
        struct sigaction ignore {};
        ignore.sa_handler = SIG_IGN;
        sigemptyset(&ignore.sa_mask);
        ::sigaction(SIGPIPE, &ignore, &old_pipe_);
        fd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
        if (!fd_) {
            restore();
            throw_errno("signalfd");
        }
    }
    SignalGuard(const SignalGuard&) = delete;
    SignalGuard& operator=(const SignalGuard&) = delete;
    ~SignalGuard() { restore(); }

    int fd() const noexcept { return fd_.get(); }
    const sigset_t& old_mask() const noexcept { return old_mask_; }

private:
    void restore() noexcept {
        fd_.reset();
        ::sigaction(SIGPIPE, &old_pipe_, nullptr);
        ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
    }
    sigset_t old_mask_{};
    struct sigaction old_pipe_ {};
    UniqueFd fd_;
};

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

// Best-effort full write: a log on a full disk or a closed stdout must not stop the child.
void write_all(int fd, const char* data, size_t size) noexcept {
    while (fd >= 0 && size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        data += n;
        size -= static_cast<size_t>(n);
    }
}

// One child output stream: where its bytes go and how they are split into lines.
struct Stream {
    UniqueFd source;
    int log_fd = -1;
    int echo_fd = -1;
    const std::function<void(std::string_view)>* line_hook = nullptr;
    std::string partial;
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
        write_all(log_fd, buffer, size);
        write_all(echo_fd, buffer, size);
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

}  // namespace

void Supervisor::stop_child(std::chrono::milliseconds grace, std::string reason) {
    if (child_ <= 0 || !stop_reason_.empty())
        return;
    stop_reason_ = std::move(reason);
    ::kill(child_, SIGTERM);
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
    SignalGuard signals;
    Pipe out = make_pipe();
    Pipe err = make_pipe();
    Pipe metrics;
    if (options_.metrics_fd)
        metrics = make_pipe();
    UniqueFd out_log = open_log(options_.stdout_log);
    UniqueFd err_log = open_log(options_.stderr_log);

    // Everything the child needs is built before fork: after fork only async-signal-safe calls.
    std::vector<std::string> env_strings;
    if (options_.environment) {
        env_strings = *options_.environment;
    } else {
        for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
    }
    if (metrics.write_end) {
        std::erase_if(env_strings,
                      [](const std::string& s) { return s.rfind("HPSWEEP_METRICS_FD=", 0) == 0; });
        // Always fd 3 in the child: dash (/bin/sh) only redirects to fds 0-9 (`>&$FD`),
        // and the pipe's own number can be higher when the launcher inherited open fds.
        env_strings.push_back("HPSWEEP_METRICS_FD=" + std::to_string(metrics_child_fd));
    }
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_strings = options_.argv;
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    const std::string exec_failed = "hpsweep-launch: cannot run '" + options_.argv[0] + "': ";

    const pid_t pid = ::fork();
    if (pid < 0)
        throw_errno("fork");
    if (pid == 0) {
        // Child: default dispositions and the caller's signal mask, output into the pipes.
        ::signal(SIGPIPE, SIG_DFL);
        ::sigprocmask(SIG_SETMASK, &signals.old_mask(), nullptr);
        if (::dup2(out.write_end.get(), STDOUT_FILENO) < 0 ||
            ::dup2(err.write_end.get(), STDERR_FILENO) < 0) {
            ::_exit(127);
        }
        if (metrics.write_end) {
            // Move the metrics pipe to fd 3 (whatever was there is not the child's: stdio
            // is already in place) and keep it open across exec.
            if (metrics.write_end.get() != metrics_child_fd &&
                ::dup2(metrics.write_end.get(), metrics_child_fd) < 0) {
                ::_exit(127);
            }
            ::fcntl(metrics_child_fd, F_SETFD, 0);
        }
        if (options_.in_child_before_exec)
            options_.in_child_before_exec();
        ::execvpe(argv[0], argv.data(), envp.data());
        const int saved = errno;
        write_all(STDERR_FILENO, exec_failed.data(), exec_failed.size());
        const char* reason = std::strerror(saved);
        write_all(STDERR_FILENO, reason, std::strlen(reason));
        write_all(STDERR_FILENO, "\n", 1);
        ::_exit(saved == ENOENT ? 127 : 126);
    }

    // Parent: only the read ends stay open here, so EOF means every writer is gone.
    out.write_end.reset();
    err.write_end.reset();
    metrics.write_end.reset();

    Stream streams[3];
    streams[0] = Stream{std::move(out.read_end),
                        out_log.get(),
                        options_.echo ? STDOUT_FILENO : -1,
                        &hooks_.on_stdout_line,
                        {}};
    streams[1] = Stream{std::move(err.read_end),
                        err_log.get(),
                        options_.echo ? STDERR_FILENO : -1,
                        &hooks_.on_stderr_line,
                        {}};
    streams[2] = Stream{std::move(metrics.read_end), -1, -1, &hooks_.on_metrics_line, {}};

    ChildStatus status;
    bool exited = false;
    std::vector<int> forwarded;
    child_ = pid;
    try {
        if (hooks_.on_start)
            hooks_.on_start(pid);
        using clock = std::chrono::steady_clock;
        clock::time_point drain_deadline{};
        clock::time_point next_tick = clock::now() + std::chrono::seconds(1);
        for (;;) {
            pollfd fds[4];
            int count = 0;
            int stream_of[4] = {-1, -1, -1, -1};
            fds[count++] = pollfd{signals.fd(), POLLIN, 0};
            for (int i = 0; i < 3; ++i) {
                if (streams[i].open()) {
                    stream_of[count] = i;
                    fds[count++] = pollfd{streams[i].source.get(), POLLIN, 0};
                }
            }
            if (exited && count == 1)
                break;  // child gone, all pipes at EOF
            int timeout_ms = 1000;
            if (exited) {
                // A grandchild may keep a pipe open forever: drain for a short while only.
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    drain_deadline - clock::now());
                if (left.count() <= 0)
                    break;
                timeout_ms = static_cast<int>(left.count());
            } else if (kill_deadline_) {
                if (clock::now() >= *kill_deadline_) {
                    ::kill(pid, SIGKILL);  // the grace period of stop_child() is over
                    kill_deadline_.reset();
                } else {
                    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        *kill_deadline_ - clock::now());
                    timeout_ms = std::min(timeout_ms, static_cast<int>(left.count()) + 1);
                }
            }
            const int ready = ::poll(fds, static_cast<nfds_t>(count), timeout_ms);
            if (ready < 0) {
                if (errno == EINTR)
                    continue;
                throw_errno("poll");
            }
            if (fds[0].revents & POLLIN) {
                signalfd_siginfo info;
                while (::read(signals.fd(), &info, sizeof info) ==
                       static_cast<ssize_t>(sizeof info)) {
                    const int signo = static_cast<int>(info.ssi_signo);
                    if (signo == SIGCHLD)
                        continue;  // reaped below
                    if (!exited) {
                        ::kill(pid, signo);
                        forwarded.push_back(signo);
                        if (hooks_.on_signal)
                            hooks_.on_signal(signo);
                    }
                }
            }
            bool read_any = false;
            for (int i = 1; i < count; ++i) {
                if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                    streams[stream_of[i]].pump();
                    read_any = true;
                }
            }
            if (read_any && hooks_.on_lines_done)
                hooks_.on_lines_done();
            if (!exited && hooks_.on_tick && clock::now() >= next_tick) {
                next_tick = clock::now() + std::chrono::seconds(1);
                hooks_.on_tick();
            }
            if (!exited) {
                int wait_status = 0;
                const pid_t r = ::waitpid(pid, &wait_status, WNOHANG);
                if (r == pid) {
                    exited = true;
                    status = decode(wait_status);
                    drain_deadline = clock::now() + std::chrono::milliseconds(2000);
                }
            }
        }
    } catch (...) {
        if (!exited) {
            ::kill(pid, SIGKILL);
            int ignored = 0;
            ::waitpid(pid, &ignored, 0);
        }
        throw;
    }
    for (auto& s : streams) {
        if (s.open())
            s.finish();
    }
    status.forwarded_signals = std::move(forwarded);
    status.stop_reason = stop_reason_;
    child_ = -1;
    if (hooks_.on_exit)
        hooks_.on_exit(status);
    return status;
}

}  // namespace hpsweep::launcher
