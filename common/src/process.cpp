#include "hpsweep/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstring>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"

extern char** environ;

namespace hpsweep {

namespace {
std::array<UniqueFd, 2> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw_errno("cannot create a pipe");
    }
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}
}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::optional<std::string>& stdin_text) {
    if (argv.empty()) {
        throw Error(ErrorKind::internal, "run_process: empty argv");
    }
    auto in = make_pipe();
    auto out = make_pipe();
    auto err = make_pipe();

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0].get(), 0);
    posix_spawn_file_actions_adddup2(&actions, out[1].get(), 1);
    posix_spawn_file_actions_adddup2(&actions, err[1].get(), 2);

    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);

    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        throw Error(ErrorKind::io, "cannot run " + argv[0] + ": " + std::strerror(rc));
    }
    in[0].reset();
    out[1].reset();
    err[1].reset();

    // Feed stdin and drain both outputs together so neither side blocks on a full pipe.
    std::string to_write = stdin_text.value_or("");
    size_t written = 0;
    if (to_write.empty()) {
        in[1].reset();
    }
    ProcessResult result;
    char buffer[65536];
    while (out[0] || err[0]) {
        std::vector<pollfd> fds;
        if (in[1]) fds.push_back({in[1].get(), POLLOUT, 0});
        if (out[0]) fds.push_back({out[0].get(), POLLIN, 0});
        if (err[0]) fds.push_back({err[0].get(), POLLIN, 0});
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        for (const auto& p : fds) {
            if (p.revents == 0) continue;
            if (in[1] && p.fd == in[1].get()) {
                const ssize_t n = ::write(p.fd, to_write.data() + written, to_write.size() - written);
                if (n > 0) written += static_cast<size_t>(n);
                if (n < 0 || written == to_write.size()) in[1].reset();
                continue;
            }
            UniqueFd& owner = (out[0] && p.fd == out[0].get()) ? out[0] : err[0];
            std::string& sink = (&owner == &out[0]) ? result.out : result.err;
            const ssize_t n = ::read(p.fd, buffer, sizeof buffer);
            if (n > 0) {
                sink.append(buffer, static_cast<size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                owner.reset();
            }
        }
    }
    in[1].reset();
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) throw_errno("waitpid");
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

std::string executable_dir() {
    char buf[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return ".";
    std::string path(buf, static_cast<size_t>(n));
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace hpsweep
