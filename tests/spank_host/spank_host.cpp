// A stand-in for slurmstepd that loads the built hpsweep.so and calls its remote-context
// hooks exactly as slurmstepd does, so the security tests can drive the plugin's root code
// in-process: many times a second, and against a racer, which a real job cannot do.
//
//   hpsweep-spank-host step  [common options] [--env NAME=VALUE]...
//       one job step: prints the job environment after the tasks' hooks ("env NAME=VALUE"),
//       the task's fate ("task started" / "task refused") and exits 0 when the task would
//       have started, 3 when the plugin refused it.
//   hpsweep-spank-host race  [common options] --racer-uid UID --racer-gid GID
//                            --swap-dir DIR --swap A,B --runs N
//       N steps that each stage the --option datastore=... datasets while a process of the
//       racer's user exchanges DIR/A and DIR/B (renameat2 RENAME_EXCHANGE) in a loop. After
//       each step every staged dataset NAME must hold NAME in its file "which.txt" (what
//       the test wrote there): anything else is a win for the racer. "{run}" in an --arg
//       becomes the run's number. Prints one summary line
//       "runs N staged S fallbacks F refused R wins W" (S and F count datasets, R steps) and
//       exits 0 only with no win.
//
//   common options: --plugin SO (default: the plugin of this build) --uid UID --gid GID
//       [--groups G1,G2,...] [--job-id N] [--step-id N] [--arg WORD]... (plugstack words)
//       [--option NAME=VALUE]... (SPANK options as the client passed them)
//
// Hooks, in slurmstepd's order and with its identities: init and the option callbacks
// (remote = 1), init_post_opt as root; user_init with the job's effective uid, gid and
// groups; in a forked task, task_init_privileged as root, then task_init as the user (all
// ids); exit as root. A failed option callback ends the step before init_post_opt, as
// slurmstepd does. Each step runs in its own forked process, so the plugin's per-step
// state starts fresh every time, as it does in a new slurmstepd.

#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
#include <slurm/spank.h>
}

#ifndef HPSWEEP_PLUGIN_PATH
#error "HPSWEEP_PLUGIN_PATH must name the built hpsweep.so (tests/spank_host/CMakeLists.txt)"
#endif

namespace {

// ESPANK_SUCCESS is a plain int macro in Slurm 22.05's headers (SLURM_SUCCESS).
constexpr spank_err_t spank_ok = static_cast<spank_err_t>(ESPANK_SUCCESS);

struct JobStep {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
    std::uint32_t job_id = 4242;
    std::uint32_t step_id = 0;
    std::map<std::string, std::string> env;
    std::vector<char*> envp;  // S_JOB_ENV: rebuilt from env on each request
    std::vector<std::string> envp_storage;
    std::vector<spank_option> options;  // registered by the plugin
};

JobStep& job() {
    static JobStep instance;
    return instance;
}

void log_line(const char* level, const char* format, va_list args) {
    std::fprintf(stderr, "spank-host: %s: ", level);
    std::vfprintf(stderr, format, args);
    std::fputc('\n', stderr);
}

}  // namespace

// ---- what slurmstepd provides to a plugin (the subset hpsweep.so uses, and a bit more) ----
extern "C" {

__attribute__((visibility("default"))) spank_context_t spank_context(void) {
    return S_CTX_REMOTE;
}

__attribute__((visibility("default"))) int spank_remote(spank_t) {
    return 1;
}

__attribute__((visibility("default"))) const char* spank_strerror(spank_err_t err) {
    if (err == spank_ok)
        return "success";
    switch (err) {
        case ESPANK_BAD_ARG:
            return "bad argument";
        case ESPANK_NOSPACE:
            return "buffer too small";
        case ESPANK_ENV_NOEXIST:
            return "no such variable";
        case ESPANK_ENV_EXISTS:
            return "variable exists";
        default:
            return "spank error";
    }
}

__attribute__((visibility("default"))) spank_err_t spank_option_register(spank_t,
                                                                         spank_option* opt) {
    if (opt == nullptr || opt->name == nullptr)
        return ESPANK_BAD_ARG;
    job().options.push_back(*opt);
    return spank_ok;
}

__attribute__((visibility("default"))) spank_err_t spank_get_item(spank_t, spank_item_t item, ...) {
    va_list args;
    va_start(args, item);
    spank_err_t rc = spank_ok;
    JobStep& j = job();
    switch (item) {
        case S_JOB_UID:
            *va_arg(args, uid_t*) = j.uid;
            break;
        case S_JOB_GID:
            *va_arg(args, gid_t*) = j.gid;
            break;
        case S_JOB_ID:
            *va_arg(args, std::uint32_t*) = j.job_id;
            break;
        case S_JOB_STEPID:
            *va_arg(args, std::uint32_t*) = j.step_id;
            break;
        case S_JOB_SUPPLEMENTARY_GIDS: {
            gid_t** gids = va_arg(args, gid_t**);
            int* count = va_arg(args, int*);
            *gids = j.groups.data();
            *count = static_cast<int>(j.groups.size());
            break;
        }
        case S_JOB_ENV: {
            j.envp_storage.clear();
            for (const auto& [name, value] : j.env) j.envp_storage.push_back(name + "=" + value);
            j.envp.clear();
            for (auto& entry : j.envp_storage) j.envp.push_back(entry.data());
            j.envp.push_back(nullptr);
            *va_arg(args, char***) = j.envp.data();
            break;
        }
        default:
            rc = ESPANK_BAD_ARG;
    }
    va_end(args);
    return rc;
}

__attribute__((visibility("default"))) spank_err_t spank_getenv(spank_t, const char* var, char* buf,
                                                                int len) {
    if (var == nullptr || buf == nullptr || len <= 0)
        return ESPANK_BAD_ARG;
    const auto it = job().env.find(var);
    if (it == job().env.end())
        return ESPANK_ENV_NOEXIST;
    if (it->second.size() + 1 > static_cast<std::size_t>(len))
        return ESPANK_NOSPACE;
    std::memcpy(buf, it->second.c_str(), it->second.size() + 1);
    return spank_ok;
}

__attribute__((visibility("default"))) spank_err_t spank_setenv(spank_t, const char* var,
                                                                const char* val, int overwrite) {
    if (var == nullptr || val == nullptr)
        return ESPANK_BAD_ARG;
    auto [it, inserted] = job().env.try_emplace(var, val);
    if (!inserted) {
        if (!overwrite)
            return ESPANK_ENV_EXISTS;
        it->second = val;
    }
    return spank_ok;
}

__attribute__((visibility("default"))) spank_err_t spank_unsetenv(spank_t, const char* var) {
    if (var == nullptr)
        return ESPANK_BAD_ARG;
    job().env.erase(var);
    return spank_ok;
}

__attribute__((visibility("default"))) void slurm_error(const char* format, ...) {
    va_list args;
    va_start(args, format);
    log_line("error", format, args);
    va_end(args);
}

__attribute__((visibility("default"))) void slurm_info(const char* format, ...) {
    va_list args;
    va_start(args, format);
    log_line("info", format, args);
    va_end(args);
}

__attribute__((visibility("default"))) void slurm_verbose(const char* format, ...) {
    va_list args;
    va_start(args, format);
    log_line("verbose", format, args);
    va_end(args);
}

__attribute__((visibility("default"))) void slurm_debug(const char*, ...) {}
__attribute__((visibility("default"))) void slurm_debug2(const char*, ...) {}
__attribute__((visibility("default"))) void slurm_debug3(const char*, ...) {}

}  // extern "C"

namespace {

using Hook = int (*)(spank_t, int, char**);

struct Plugin {
    void* handle = nullptr;
    Hook init = nullptr;
    Hook init_post_opt = nullptr;
    Hook user_init = nullptr;
    Hook task_init_privileged = nullptr;
    Hook task_init = nullptr;
    Hook exit = nullptr;
};

Hook hook(void* handle, const char* name) {
    return reinterpret_cast<Hook>(::dlsym(handle, name));
}

Plugin load_plugin(const std::string& path) {
    Plugin p;
    p.handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (p.handle == nullptr)
        throw std::runtime_error("cannot load " + path + ": " + ::dlerror());
    p.init = hook(p.handle, "slurm_spank_init");
    p.init_post_opt = hook(p.handle, "slurm_spank_init_post_opt");
    p.user_init = hook(p.handle, "slurm_spank_user_init");
    p.task_init_privileged = hook(p.handle, "slurm_spank_task_init_privileged");
    p.task_init = hook(p.handle, "slurm_spank_task_init");
    p.exit = hook(p.handle, "slurm_spank_exit");
    return p;
}

struct Options {
    std::string mode;
    std::string plugin = HPSWEEP_PLUGIN_PATH;
    JobStep step;
    std::vector<std::string> args;                                   // plugstack words
    std::vector<std::pair<std::string, std::string>> spank_options;  // --option NAME=VALUE
    uid_t racer_uid = 0;
    gid_t racer_gid = 0;
    std::string swap_dir;
    std::string swap_a, swap_b;
    long runs = 1000;
};

[[noreturn]] void usage_error(const std::string& why) {
    std::fprintf(stderr, "spank-host: %s (see the comment at the top of spank_host.cpp)\n",
                 why.c_str());
    std::exit(2);
}

unsigned long number(const std::string& text, const char* what) {
    try {
        std::size_t used = 0;
        const unsigned long value = std::stoul(text, &used);
        if (used != text.size())
            throw std::invalid_argument(text);
        return value;
    } catch (const std::exception&) {
        usage_error(std::string(what) + ": not a number: '" + text + "'");
    }
}

std::pair<std::string, std::string> assignment(const std::string& text, const char* what) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
        usage_error(std::string(what) + " wants NAME=VALUE, got '" + text + "'");
    return {text.substr(0, eq), text.substr(eq + 1)};
}

Options parse(int argc, char** argv) {
    if (argc < 2)
        usage_error("no mode (step or race)");
    Options o;
    o.mode = argv[1];
    if (o.mode != "step" && o.mode != "race")
        usage_error("unknown mode '" + o.mode + "'");
    for (int i = 2; i < argc; ++i) {
        const std::string flag = argv[i];
        if (i + 1 >= argc)
            usage_error(flag + " wants a value");
        const std::string value = argv[++i];
        if (flag == "--plugin") {
            o.plugin = value;
        } else if (flag == "--uid") {
            o.step.uid = static_cast<uid_t>(number(value, "--uid"));
        } else if (flag == "--gid") {
            o.step.gid = static_cast<gid_t>(number(value, "--gid"));
        } else if (flag == "--groups") {
            std::stringstream list(value);
            for (std::string g; std::getline(list, g, ',');)
                o.step.groups.push_back(static_cast<gid_t>(number(g, "--groups")));
        } else if (flag == "--job-id") {
            o.step.job_id = static_cast<std::uint32_t>(number(value, "--job-id"));
        } else if (flag == "--step-id") {
            o.step.step_id = static_cast<std::uint32_t>(number(value, "--step-id"));
        } else if (flag == "--arg") {
            o.args.push_back(value);
        } else if (flag == "--option") {
            o.spank_options.push_back(assignment(value, "--option"));
        } else if (flag == "--env") {
            auto [name, text] = assignment(value, "--env");
            o.step.env[name] = text;
        } else if (flag == "--racer-uid") {
            o.racer_uid = static_cast<uid_t>(number(value, "--racer-uid"));
        } else if (flag == "--racer-gid") {
            o.racer_gid = static_cast<gid_t>(number(value, "--racer-gid"));
        } else if (flag == "--swap-dir") {
            o.swap_dir = value;
        } else if (flag == "--swap") {
            const auto comma = value.find(',');
            if (comma == std::string::npos)
                usage_error("--swap wants A,B");
            o.swap_a = value.substr(0, comma);
            o.swap_b = value.substr(comma + 1);
        } else if (flag == "--runs") {
            o.runs = static_cast<long>(number(value, "--runs"));
        } else {
            usage_error("unknown option " + flag);
        }
    }
    if (o.step.uid == 0)
        usage_error("--uid: the job's user must not be root");
    if (o.mode == "race" && (o.racer_uid == 0 || o.swap_dir.empty() || o.swap_a.empty()))
        usage_error("race wants --racer-uid, --racer-gid, --swap-dir and --swap");
    return o;
}

// The job's identity, as slurmstepd takes it for user_init (effective ids only, undone
// after) or for a task (all ids, for good).
void become_user(const JobStep& step, bool for_good) {
    if (::setgroups(step.groups.size(), step.groups.data()) != 0)
        throw std::runtime_error(std::string("setgroups: ") + std::strerror(errno));
    if (for_good) {
        if (::setresgid(step.gid, step.gid, step.gid) != 0 ||
            ::setresuid(step.uid, step.uid, step.uid) != 0)
            throw std::runtime_error(std::string("setresuid: ") + std::strerror(errno));
    } else if (::setegid(step.gid) != 0 || ::seteuid(step.uid) != 0) {
        throw std::runtime_error(std::string("seteuid: ") + std::strerror(errno));
    }
}

void become_root_again() {
    if (::seteuid(0) != 0 || ::setegid(0) != 0 || ::setgroups(0, nullptr) != 0)
        throw std::runtime_error(std::string("back to root: ") + std::strerror(errno));
}

int wait_for(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return status;
}

// Runs one step in this (already forked) process. Returns the task's exit status: 0 when
// the task would have started (after printing the job's environment as the task sees it,
// on `report_fd`), non-zero when the plugin refused it.
int run_step(const Plugin& plugin, const Options& o, int report_fd) {
    JobStep& step = job();
    step = o.step;
    std::vector<std::string> words = o.args;
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    const int argc = static_cast<int>(words.size());
    spank_t sp = nullptr;

    if (plugin.init(sp, argc, argv.data()) != 0)
        std::fprintf(stderr, "spank-host: slurm_spank_init failed\n");
    for (const auto& [name, value] : o.spank_options) {
        bool known = false;
        for (const auto& registered : step.options) {
            if (name == registered.name && registered.cb != nullptr) {
                known = true;
                // slurmstepd fails the step when a remote callback fails: no task runs.
                // The value stays out of this message: whether the plugin names it is
                // what a test may check.
                if (registered.cb(registered.val, value.c_str(), 1) != 0) {
                    std::fprintf(stderr, "spank-host: the callback of --%s failed\n", name.c_str());
                    return 3;
                }
            }
        }
        if (!known)
            std::fprintf(stderr, "spank-host: the plugin has no option --%s\n", name.c_str());
    }
    if (plugin.init_post_opt(sp, argc, argv.data()) != 0)
        std::fprintf(stderr, "spank-host: slurm_spank_init_post_opt failed\n");
    become_user(step, false);
    const int user_rc = plugin.user_init(sp, argc, argv.data());
    become_root_again();
    if (user_rc != 0)
        std::fprintf(stderr, "spank-host: slurm_spank_user_init failed\n");

    std::fflush(nullptr);
    const pid_t task = ::fork();
    if (task < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (task == 0) {
        // slurmstepd's task: a failed task_init_privileged ends it before exec.
        if (plugin.task_init_privileged(sp, argc, argv.data()) != 0)
            ::_exit(3);
        become_user(step, true);
        if (plugin.task_init(sp, argc, argv.data()) != 0)
            ::_exit(3);
        std::string report;
        for (const auto& [name, value] : step.env) report += "env " + name + "=" + value + "\n";
        for (std::size_t done = 0; done < report.size();) {
            const ssize_t n = ::write(report_fd, report.data() + done, report.size() - done);
            if (n <= 0)
                ::_exit(4);
            done += static_cast<std::size_t>(n);
        }
        ::_exit(0);
    }
    const int status = wait_for(task);
    plugin.exit(sp, argc, argv.data());
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

// Forks one step; returns its exit status and what its task reported.
int forked_step(const Plugin& plugin, const Options& o, std::string& report) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        ::close(pipe_fds[0]);
        int rc = 1;
        try {
            rc = run_step(plugin, o, pipe_fds[1]);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "spank-host: %s\n", e.what());
        }
        std::fflush(nullptr);
        ::_exit(rc);  // no exit handlers, no leak report of the plugin's per-step state
    }
    ::close(pipe_fds[1]);
    report.clear();
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        report.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(pipe_fds[0]);
    const int status = wait_for(pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int step_mode(const Plugin& plugin, const Options& o) {
    std::string report;
    const int rc = forked_step(plugin, o, report);
    std::fputs(report.c_str(), stdout);
    std::printf("task %s (status %d)\n", rc == 0 ? "started" : "refused", rc);
    return rc == 0 ? 0 : 3;
}

// The racer: a process of the attacking user that swaps the two names until killed.
pid_t start_racer(const Options& o) {
    const pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid != 0)
        return pid;
    if (::setgroups(0, nullptr) != 0 || ::setresgid(o.racer_gid, o.racer_gid, o.racer_gid) != 0 ||
        ::setresuid(o.racer_uid, o.racer_uid, o.racer_uid) != 0) {
        std::fprintf(stderr, "spank-host: racer cannot become uid %u\n", o.racer_uid);
        ::_exit(1);
    }
    const int dir = ::open(o.swap_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
        std::fprintf(stderr, "spank-host: racer cannot open %s\n", o.swap_dir.c_str());
        ::_exit(1);
    }
    for (;;) {
        if (::syscall(SYS_renameat2, dir, o.swap_a.c_str(), dir, o.swap_b.c_str(),
                      RENAME_EXCHANGE) != 0) {
            std::fprintf(stderr, "spank-host: racer: renameat2: %s\n", std::strerror(errno));
            ::_exit(1);
        }
        // Leaves the victim the CPU it needs on a small machine; the names still flip
        // thousands of times a second.
        ::sched_yield();
    }
}

std::string read_small(const std::string& path) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!text.empty() && (text.back() == '\n')) text.pop_back();
    return text;
}

int race_mode(const Plugin& plugin, const Options& o) {
    const pid_t racer = start_racer(o);
    long staged = 0, fallbacks = 0, refused = 0, wins = 0;
    std::string first_win;
    for (long run = 0; run < o.runs; ++run) {
        // "{run}" in a plugstack word becomes the run's number (a fresh cache per run makes
        // every run a fill, the slow path with the most to race).
        Options this_run = o;
        for (auto& word : this_run.args) {
            for (auto at = word.find("{run}"); at != std::string::npos; at = word.find("{run}"))
                word.replace(at, 5, std::to_string(run));
        }
        std::string cache_dir;
        for (const auto& word : this_run.args) {
            if (word.starts_with("cache_dir="))
                cache_dir = word.substr(10);
        }
        std::string report;
        const int rc = forked_step(plugin, this_run, report);
        if (::waitpid(racer, nullptr, WNOHANG) == racer) {
            std::fprintf(stderr, "spank-host: the racer stopped\n");
            return 1;
        }
        if (rc != 0) {
            ++refused;
            continue;
        }
        // Every staged dataset must hold its own bytes: "which.txt" says whose they are.
        std::istringstream lines(report);
        for (std::string line; std::getline(lines, line);) {
            const std::string prefix = "env HPSWEEP_DATASTORE_";
            const auto eq = line.find('=');
            if (!line.starts_with(prefix) || eq == std::string::npos ||
                line.compare(prefix.size(), eq - prefix.size(), "ROOT") == 0) {
                continue;
            }
            std::string variable_name = line.substr(prefix.size(), eq - prefix.size());
            const std::string path = line.substr(eq + 1);
            // A path on the store (a fallback) is named through the racer's directories,
            // so what it shows later proves nothing about what the plugin staged.
            if (cache_dir.empty() || !path.starts_with(cache_dir + "/")) {
                ++fallbacks;
                continue;
            }
            ++staged;
            const std::string content = read_small(path + "/which.txt");
            std::string expected;
            for (const std::string& name : {o.swap_a, o.swap_b}) {
                std::string upper;
                for (char c : name)
                    upper += (c >= 'a' && c <= 'z')   ? static_cast<char>(c - 'a' + 'A')
                             : (c == '-' || c == '.') ? '_'
                                                      : c;
                if (upper == variable_name)
                    expected = name;
            }
            if (content != expected) {
                ++wins;
                if (first_win.empty())
                    first_win = "run " + std::to_string(run) + ": HPSWEEP_DATASTORE_" +
                                variable_name + " (" + path + ") holds '" + content +
                                "', expected '" + expected + "'";
            }
        }
    }
    ::kill(racer, SIGKILL);
    wait_for(racer);
    std::printf("runs %ld staged %ld fallbacks %ld refused %ld wins %ld\n", o.runs, staged,
                fallbacks, refused, wins);
    if (!first_win.empty())
        std::printf("first win: %s\n", first_win.c_str());
    return wins == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    if (::geteuid() != 0) {
        std::fprintf(stderr, "spank-host: must run as root, as slurmstepd does\n");
        return 2;
    }
    try {
        const Plugin plugin = load_plugin(o.plugin);
        if (!plugin.init || !plugin.init_post_opt || !plugin.user_init ||
            !plugin.task_init_privileged || !plugin.task_init || !plugin.exit) {
            std::fprintf(stderr, "spank-host: %s lacks a slurm_spank_* hook\n", o.plugin.c_str());
            return 2;
        }
        return o.mode == "step" ? step_mode(plugin, o) : race_mode(plugin, o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "spank-host: %s\n", e.what());
        return 2;
    }
}
