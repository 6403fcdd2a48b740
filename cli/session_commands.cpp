// `hpsweep session [options] [-- CMD...]`, `hpsweep session list`, `hpsweep session end [ID]`:
// an interactive allocation on compute nodes, the way an HPC user starts one by hand
// (`salloc`, then `srun --pty bash`), with what hpsweep adds to a trial: the datastores
// staged on the node, the DDP rendezvous variables set, placement for commands.
//
// The allocation is made with `salloc --no-shell` and named `hpsweep-session`, so it
// outlives the shell: the user can reconnect (`srun --jobid=ID --overlap --pty bash`) and
// ends it with `hpsweep session end ID` (or it ends at its time limit). With `-- CMD` the
// command runs on every rank of the allocation and the allocation is released afterwards,
// unless --keep: that is the scriptable (and tested) form.
//
// On the compute node every task runs the hidden `hpsweep session _step`, which stages the
// datastores through the datastore library (keeping the cache lease open across exec) and
// then execs either hpsweep-launch (a command: binding, DDP env, signal forwarding) or the
// shell itself with the DDP variables (an interactive shell needs the terminal, which
// hpsweep-launch's supervision would replace by pipes).

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "command_registry.hpp"
#include "hpsweep/datastore/cache.hpp"
#include "hpsweep/datastore/paths.hpp"
#include "hpsweep/datastore/settings.hpp"
#include "hpsweep/datastore/store.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/launcher/ddp_env.hpp"
#include "hpsweep/process.hpp"
#include "hpsweep/searcher/slurm_submission.hpp"
#include "hpsweep/strings.hpp"
#include "hpsweep/users.hpp"
#include "option_values.hpp"
#include "session_container.hpp"
#include "slurm_client.hpp"
#include "submit_checks.hpp"

extern char** environ;

namespace hpsweep::cli {
namespace {

namespace fs = std::filesystem;
namespace ds = hpsweep::datastore;

// Every session allocation carries this job name: `session list|end` find sessions by it.
constexpr const char* session_job_name = "hpsweep-session";

struct SessionOptions {
    int gpus = 0;  // over all nodes, as `hpsweep run --gpus`
    int nodes = 1;
    std::optional<int> ntasks_per_node;
    std::string time, partition, account, mem;
    std::vector<std::string> datastores;
    std::string container;  // image, absolute once checked
    bool keep = false;
    std::vector<std::string> command;
};

std::string current_user() {
    return user_name(::getuid());
}

fs::path launcher_path() {
    if (const char* env = std::getenv("HPSWEEP_LAUNCH"); env && *env)
        return fs::absolute(env);
    return fs::path(executable_dir()) / "hpsweep-launch";
}

fs::path this_executable() {
    return fs::path(executable_dir()) / "hpsweep";
}

ProcessResult run_slurm_command(const std::vector<std::string>& argv) {
    try {
        return run_process(argv);
    } catch (const Error& e) {
        throw Error(ErrorKind::slurm, std::string(e.what()) + " (is Slurm installed and on PATH?)");
    }
}

// Runs argv with this process's stdin/stdout/stderr (the user's terminal) and returns its
// exit code, 128+N when killed by signal N. Ctrl-C reaches the child (same process group);
// we ignore it meanwhile, so that we survive to release the allocation.
int run_in_foreground(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    struct sigaction old_int {
    }, old_quit{};
    ::sigaction(SIGINT, &ignore, &old_int);
    ::sigaction(SIGQUIT, &ignore, &old_quit);
    posix_spawnattr_t attr;
    ::posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGQUIT);
    ::posix_spawnattr_setsigdefault(&attr, &defaults);
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    const int spawn_error = ::posix_spawnp(&pid, args[0], nullptr, &attr, args.data(), environ);
    ::posix_spawnattr_destroy(&attr);
    int status = 0;
    if (spawn_error == 0) {
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGQUIT, &old_quit, nullptr);
    if (spawn_error != 0) {
        throw Error(ErrorKind::slurm, "cannot run " + argv[0] + ": " + std::strerror(spawn_error) +
                                          " (is Slurm installed and on PATH?)");
    }
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

// `salloc --no-shell` prints "salloc: Granted job allocation 123" on stderr once granted.
std::string allocate(const SessionOptions& o) {
    if (o.gpus % o.nodes != 0) {
        throw Error(ErrorKind::usage, fmt::format("--gpus {} is not a multiple of --nodes {}: "
                                                  "sessions get the same GPUs on every node",
                                                  o.gpus, o.nodes));
    }
    const int gpus_per_node = o.gpus / o.nodes;
    const int tasks_per_node = o.ntasks_per_node.value_or(gpus_per_node > 0 ? gpus_per_node : 1);
    std::vector<std::string> argv{"salloc", "--no-shell",
                                  std::string("--job-name=") + session_job_name};
    searcher::ResourceRequest request;
    request.nodes = o.nodes;
    request.tasks_per_node = tasks_per_node;
    request.gpus_per_node = gpus_per_node;
    request.mem = o.mem;
    request.time = o.time;
    request.partition = o.partition;
    request.account = o.account;
    check_request_fits_cluster(request, 0);
    for (auto& flag : searcher::resource_flags(request)) argv.push_back(std::move(flag));
    std::fprintf(
        stderr, "hpsweep: requesting %d node%s%s for a session...\n", o.nodes,
        o.nodes == 1 ? "" : "s",
        gpus_per_node > 0 ? fmt::format(" with {} GPU(s) each", gpus_per_node).c_str() : "");
    const auto result = run_slurm_command(argv);
    const auto job_id = slurm::parse_salloc_job_id(result.err);
    if (!result.ok() || !job_id) {
        throw Error(ErrorKind::slurm, fmt::format("salloc failed (exit {}): {}", result.exit_code,
                                                  std::string(trim(result.err + result.out))));
    }
    return *job_id;
}

std::string nodes_of(const std::string& job_id) {
    const auto r = run_slurm_command({"squeue", "-h", "-j", job_id, "-o", "%N"});
    return r.ok() ? std::string(trim(r.out)) : std::string("?");
}

void print_how_to(const std::string& job_id) {
    std::fprintf(stderr,
                 "hpsweep: session %s is running on %s\n"
                 "hpsweep:   reconnect: srun --jobid=%s --overlap --pty bash\n"
                 "hpsweep:   end it:    hpsweep session end %s\n",
                 job_id.c_str(), nodes_of(job_id).c_str(), job_id.c_str(), job_id.c_str());
}

void end_session(const std::string& job_id) {
    const auto r = run_slurm_command({"scancel", job_id});
    if (!r.ok()) {
        throw Error(ErrorKind::slurm, fmt::format("scancel {} failed (exit {}): {}", job_id,
                                                  r.exit_code, std::string(trim(r.err + r.out))));
    }
}

// The `hpsweep session _step` command line every task runs on the compute nodes.
std::vector<std::string> step_command(const SessionOptions& o, bool interactive) {
    std::vector<std::string> argv{this_executable().string(), "session", "_step"};
    for (const auto& d : o.datastores) argv.insert(argv.end(), {"--datastore", d});
    if (!o.container.empty())
        argv.insert(argv.end(), {"--container", o.container});
    if (interactive)
        argv.emplace_back("--interactive");
    argv.emplace_back("--");
    if (interactive) {
        const char* shell = std::getenv("SHELL");
        argv.emplace_back(shell && *shell ? shell : "/bin/bash");
    } else {
        argv.insert(argv.end(), o.command.begin(), o.command.end());
    }
    return argv;
}

void start_session(SessionOptions o) {
    const bool interactive = o.command.empty();
    if (interactive && ::isatty(STDIN_FILENO) != 1) {
        throw Error(ErrorKind::usage,
                    "an interactive session needs a terminal on stdin; to run a command in a "
                    "session without one, give it after --: hpsweep session -- CMD ARGS...");
    }
    // A bad or unknown datastore fails here, before anything is allocated.
    check_datastores(o.datastores, "--datastore");
    if (!o.container.empty())
        o.container = session_container_image(o.container);
    const std::string job_id = allocate(o);
    print_how_to(job_id);

    std::vector<std::string> srun{"srun", "--jobid=" + job_id, "--overlap",
                                  "--job-name=" + std::string(session_job_name)};
    int rc = 0;
    try {
        if (interactive) {
            // One shell on the first node, like `srun --pty bash`; DDP programs started from
            // it (torchrun, srun) get their own ranks.
            srun.insert(srun.end(), {"--nodes=1", "--ntasks=1", "--pty"});
        } else {
            // Every rank of the allocation runs the command, as in a trial.
            srun.emplace_back("--kill-on-bad-exit=1");
        }
        const auto step = step_command(o, interactive);
        srun.insert(srun.end(), step.begin(), step.end());
        rc = run_in_foreground(srun);
    } catch (...) {
        if (!o.keep && !interactive)
            end_session(job_id);
        throw;
    }
    if (interactive || o.keep) {
        std::fprintf(stderr,
                     "hpsweep: session %s is still running (until `hpsweep session end %s` or "
                     "its time limit)\n"
                     "hpsweep:   reconnect: srun --jobid=%s --overlap --pty bash\n",
                     job_id.c_str(), job_id.c_str(), job_id.c_str());
    } else {
        end_session(job_id);
        std::fprintf(stderr, "hpsweep: session %s ended (command exit code %d)\n", job_id.c_str(),
                     rc);
    }
    global_options().exit_code = rc;
}

// Runs on a compute node inside the session's step: stage, set the environment, exec.
[[noreturn]] void run_step(const std::vector<std::string>& datastores, bool interactive,
                           const std::string& container, const std::vector<std::string>& command) {
    if (command.empty())
        throw Error(ErrorKind::usage, "session _step: nothing to run after --");
    const char* inherited = std::getenv("HPSWEEP_DATASTORES");
    std::string names(trim(inherited ? inherited : ""));
    if (!datastores.empty()) {
        const auto settings = ds::load_settings();
        for (const auto& reference : datastores) {
            const auto ref = ds::Ref::parse(reference);
            const std::string variable = ds::environment_variable(ref.name);
            if (const char* staged = std::getenv(variable.c_str()); staged && *staged) {
                continue;  // the SPANK plugin (srun --datastore) staged it already
            }
            auto result =
                ds::stage(settings.store(), settings.cache(), ref, ds::Credentials::current());
            if (!result.warning.empty()) {
                std::fprintf(stderr, "hpsweep: datastore %s: %s\n", reference.c_str(),
                             result.warning.c_str());
            }
            // The lease (a shared lock that keeps the version from eviction) must live as
            // long as the session's program: keep its descriptor open across exec.
            if (result.lease.active()) {
                const int fd = result.lease.release_fd();
                ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) & ~FD_CLOEXEC);
            }
            ::setenv(variable.c_str(), result.path.c_str(), 1);
            names += (names.empty() ? "" : ",") + result.name;
        }
        ::setenv("HPSWEEP_DATASTORES", names.c_str(), 1);
    }
    if (const char* job = std::getenv("SLURM_JOB_ID"); job)
        ::setenv("HPSWEEP_SESSION_ID", job, 1);

    std::vector<std::string> argv;
    if (interactive) {
        // The shell keeps the terminal; it gets the rendezvous variables directly.
        const auto ddp = launcher::ddp_from_environment(launcher::current_environment());
        for (const auto& [name, value] : ddp.variables()) ::setenv(name.c_str(), value.c_str(), 1);
        argv = command;
    }
    if (!container.empty()) {
        argv = session_container_argv(container, interactive, command, launcher_path());
    } else if (!interactive) {
        argv = {launcher_path().string(), "--"};
        argv.insert(argv.end(), command.begin(), command.end());
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    throw Error(ErrorKind::io, "cannot run " + argv[0] + ": " + std::strerror(errno));
}

std::vector<slurm::SessionRow> list_sessions() {
    const auto r = run_slurm_command({"squeue", "-h", "-u", current_user(), "-n", session_job_name,
                                      "-o", slurm::squeue_session_format});
    if (!r.ok()) {
        throw Error(ErrorKind::slurm, fmt::format("squeue failed (exit {}): {}", r.exit_code,
                                                  std::string(trim(r.err + r.out))));
    }
    return slurm::parse_squeue_sessions(r.out);
}

// A word before `--` that is not a session subcommand: `hpsweep session lst` is a typo far
// more often than a program called lst.
[[noreturn]] void refuse_command_without_dashes(const std::vector<std::string>& command) {
    const std::string& word = command.front();
    std::string hint;
    for (const char* known : {"list", "end"}) {
        if (edit_distance(word, known) <= 2)
            hint = fmt::format(" (did you mean 'hpsweep session {}'?)", known);
    }
    throw Error(ErrorKind::usage, fmt::format("unknown session command '{}'{}; to run a program in "
                                              "a session, give it after --: hpsweep session -- {}",
                                              word, hint, join(command, " ")));
}

void print_sessions(bool json) {
    const auto rows = list_sessions();
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& s : rows) {
            out.push_back({{"id", s.id},
                           {"state", s.state},
                           {"elapsed", s.elapsed},
                           {"time_left", s.time_left},
                           {"nodes", s.nodes},
                           {"nodelist", s.nodelist}});
        }
        std::printf("%s\n", out.dump(2).c_str());
        return;
    }
    if (rows.empty()) {
        std::printf("No sessions (start one with `hpsweep session`).\n");
        return;
    }
    std::printf("%-10s %-10s %-12s %-12s %-6s %s\n", "SESSION", "STATE", "ELAPSED", "TIME LEFT",
                "NODES", "NODELIST");
    for (const auto& s : rows) {
        std::printf("%-10s %-10s %-12s %-12s %-6s %s\n", s.id.c_str(), s.state.c_str(),
                    s.elapsed.c_str(), s.time_left.c_str(), s.nodes.c_str(), s.nodelist.c_str());
    }
}

void add_list_command(CLI::App* session) {
    auto* list = session->add_subcommand("list", "Your running and pending sessions");
    auto list_json = std::make_shared<bool>(false);
    list->add_flag("--json", *list_json, "JSON output");
    list->callback([list_json] { print_sessions(*list_json || global_options().json); });
}

// ID, or the user's only session; Error unless it is one of the user's running sessions.
std::string session_to_end(const std::string& requested) {
    const auto rows = list_sessions();
    if (!requested.empty()) {
        bool mine = false;
        for (const auto& s : rows) mine = mine || s.id == requested;
        if (!mine) {
            throw Error(ErrorKind::state, "no session " + requested +
                                              " of yours is running (see hpsweep session list)");
        }
        return requested;
    }
    if (rows.empty())
        throw Error(ErrorKind::state, "no session is running");
    if (rows.size() > 1) {
        std::string ids;
        for (const auto& s : rows) ids += (ids.empty() ? "" : ", ") + s.id;
        throw Error(ErrorKind::usage, "you have " + std::to_string(rows.size()) + " sessions (" +
                                          ids + "): say which one, hpsweep session end ID");
    }
    return rows.front().id;
}

void add_end_command(CLI::App* session) {
    auto* end = session->add_subcommand("end", "End session ID (or your only session)");
    auto end_id = std::make_shared<std::string>();
    end->add_option("id", *end_id, "Session (job) id, as `session list` shows it");
    end->callback([end_id] {
        const std::string id = session_to_end(*end_id);
        end_session(id);
        std::printf("Ended session %s\n", id.c_str());
    });
}

void add_session_commands(CLI::App& app) {
    auto options = std::make_shared<SessionOptions>();
    auto* session = app.add_subcommand(
        "session",
        "Interactive allocation on compute nodes; `-- CMD` runs CMD there instead of a shell");
    add_integer_option(session, "--gpus", options->gpus,
                       "GPUs over all nodes (a multiple of --nodes)", 0, 4096);
    add_integer_option(session, "--nodes", options->nodes, "Nodes", 1, 4096);
    add_integer_option(session, "--ntasks-per-node", options->ntasks_per_node,
                       "Ranks per node for -- CMD (default: GPUs per node, or 1)", 1, 1024);
    session->add_option("--time", options->time, "Time limit, Slurm syntax (30, 1:00:00)");
    session->add_option("--partition", options->partition, "Slurm partition");
    session->add_option("--account", options->account, "Slurm account");
    session->add_option("--mem", options->mem, "Memory per node, Slurm syntax (16G)");
    session
        ->add_option("--datastore", options->datastores,
                     "Datastore NAME[:VER] to stage on the nodes (repeatable)")
        // One value per --datastore: a list would swallow the `--` before CMD.
        ->allow_extra_args(false);
    session->add_option("--container", options->container,
                        "Run the command, or the shell, in this container image "
                        "(docs/containers.md)");
    session->add_flag("--keep", options->keep,
                      "With -- CMD: keep the allocation after CMD ends (end it yourself)");
    session->add_option("command", options->command,
                        "Command to run instead of a shell (after --)");
    session->callback([session, options] {
        if (!session->get_subcommands().empty())
            return;
        if (!options->command.empty() && !global_options().has_double_dash)
            refuse_command_without_dashes(options->command);
        start_session(*options);
    });

    add_list_command(session);
    add_end_command(session);

    // Internal: what each task runs on the compute node (hidden from --help).
    struct StepArgs {
        std::vector<std::string> datastores;
        bool interactive = false;
        std::string container;
        std::vector<std::string> command;
    };
    auto step_args = std::make_shared<StepArgs>();
    auto* step = session->add_subcommand("_step", "Internal: the session's task on a node");
    step->group("");
    step->add_option("--datastore", step_args->datastores)->allow_extra_args(false);
    step->add_flag("--interactive", step_args->interactive);
    step->add_option("--container", step_args->container);
    step->add_option("command", step_args->command);
    step->callback([step_args] {
        run_step(step_args->datastores, step_args->interactive, step_args->container,
                 step_args->command);
    });
}

const CommandRegistrar registrar{"session", &add_session_commands};

}  // namespace
}  // namespace hpsweep::cli
