#include "hpsweep/launcher/pack_supervisor.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>

#include <nlohmann/json.hpp>

#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/launcher/slot_plan.hpp"
#include "hpsweep/launcher/topology.hpp"
#include "hpsweep/launcher/trial_run.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::launcher {

namespace {

// Forwarded signals and SIGCHLD are read from a signalfd for the object's lifetime; the
// old mask is what each child gets back before exec.
class BlockedSignals {
public:
    BlockedSignals() {
        sigset_t mask;
        sigemptyset(&mask);
        for (int s : forwarded_signals()) sigaddset(&mask, s);
        sigaddset(&mask, SIGCHLD);
        if (::sigprocmask(SIG_BLOCK, &mask, &old_mask_) != 0)
            throw_errno("sigprocmask");
        fd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
        if (!fd_) {
            ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
            throw_errno("signalfd");
        }
    }
    BlockedSignals(const BlockedSignals&) = delete;
    BlockedSignals& operator=(const BlockedSignals&) = delete;
    ~BlockedSignals() {
        fd_.reset();
        ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
    }
    int fd() const noexcept { return fd_.get(); }
    const sigset_t& old_mask() const noexcept { return old_mask_; }

private:
    sigset_t old_mask_{};
    UniqueFd fd_;
};

std::string list_of(const std::vector<int>& values) {
    std::vector<std::string> parts;
    for (int v : values) parts.push_back(std::to_string(v));
    return join(parts, ",");
}

// argv and environment of one trial's launcher, built before fork.
struct TrialCommand {
    std::vector<std::string> argv;
    std::vector<std::string> environment;
};

TrialCommand trial_command(const PackOptions& options, const Slot& slot, long trial,
                           const Environment& base) {
    TrialCommand command;
    command.argv = {options.launcher.string(),
                    "--experiment",
                    options.experiment.string(),
                    "--trial",
                    std::to_string(trial),
                    "--policy",
                    to_string(options.policy),
                    "--ntasks",
                    "1",
                    "--cpuset",
                    slot.placement.cpuset.to_list(),
                    "--master-port",
                    std::to_string(slot.master_port),
                    "--port-range",
                    std::to_string(options.ddp.port_range.first) + "-" +
                        std::to_string(options.ddp.port_range.last),
                    "--quiet"};
    if (options.ddp.master_addr) {
        command.argv.push_back("--master-addr");
        command.argv.push_back(*options.ddp.master_addr);
    }
    if (options.topology_file) {
        command.argv.push_back("--topology");
        command.argv.push_back(options.topology_file->string());
    }
    Environment env = base;
    if (slot.placement.gpus.empty()) {
        command.argv.push_back("--gpus-per-task");
        command.argv.push_back("0");
    } else {
        // The trial's launcher finds its one GPU the way an unpacked one does: the physical
        // index in SLURM_STEP_GPUS and what CUDA calls it (Slurm renumbers under cgroups).
        command.argv.push_back("--gpu-isolation");
        env["SLURM_STEP_GPUS"] = list_of(slot.placement.gpus);
        env["CUDA_VISIBLE_DEVICES"] = join(slot.placement.gpu_visible, ",");
    }
    for (const auto& [name, value] : slot.environment) env[name] = value;
    for (const auto& [name, value] : env) command.environment.push_back(name + "=" + value);
    return command;
}

pid_t spawn(const TrialCommand& command, const sigset_t& old_mask) {
    std::vector<std::string> argv_strings = command.argv;
    std::vector<std::string> env_strings = command.environment;
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
        throw_errno("fork");
    if (pid == 0) {
        ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    return pid;
}

bool is_success(const std::string& status) {
    return status == "completed" || status == "stopped_early";
}

std::string recorded_status(const ExperimentDir& dir, long trial) {
    try {
        const auto result = nlohmann::json::parse(read_file(dir.trial_result(trial)));
        return result.value("status", std::string());
    } catch (const std::exception&) {
        return "";
    }
}

// A trial that never started, recorded the way its launcher would have recorded it.
void record_not_started(const std::filesystem::path& experiment, long trial,
                        const std::string& status) {
    try {
        TrialRun run(experiment, trial, 0);
        run.prepare();
        run.record_start();
        ChildStatus ended;
        ended.stop_reason = status;
        run.record_end(ended);
    } catch (const Error& e) {
        std::fprintf(stderr, "hpsweep-launch: warning: trial %ld: %s\n", trial, e.what());
    }
}

struct Running {
    long trial = 0;
    size_t slot = 0;
    bool cancel_sent = false;
};

}  // namespace

bool finished_in_array(const std::filesystem::path& experiment, long trial,
                       const std::string& array_job_id) {
    const ExperimentDir dir(experiment);
    try {
        const auto result = nlohmann::json::parse(read_file(dir.trial_result(trial)));
        const auto job = result.value("array_job_id", nlohmann::json());
        if (!job.is_string() || job.get<std::string>() != array_job_id)
            return false;
        const std::string status = result.value("status", std::string());
        return status == "completed" || status == "failed" || status == "cancelled" ||
               status == "stopped_early";
    } catch (const std::exception&) {
        return false;  // no result yet (or one being rewritten): run the trial
    }
}

int run_pack(const PackOptions& options) {
    if (options.count < 1 || options.first_trial < 0)
        throw Error(ErrorKind::usage, "--pack-first must be >= 0 and --pack-count >= 1");
    const ExperimentDir dir(options.experiment);
    Environment env = current_environment();
    const DdpEnv ddp = ddp_from_environment(env, options.ddp);

    const Topology topology =
        options.topology_file ? Topology::load_xml(*options.topology_file)
                              : Topology::load_live_cached(get_env(env, "TMPDIR").value_or("/tmp"));
    SlotRequest request;
    gpus_from_environment(env, find_gpus(topology), options.gpus, request.placement);
    request.placement.allowed = allowed_cpus(topology, env, options.cpuset);
    request.placement.hints = options.policy != GpuAffinity::none;
    request.trials_per_gpu = options.trials_per_gpu;
    request.task_port = ddp.master_port;
    request.port_range = options.ddp.port_range;
    request.mps_pipe_directory = mps_pipe_directory(env);
    const SlotPlan plan = plan_slots(topology, request);
    if (options.policy == GpuAffinity::verbose) {
        std::fprintf(stderr,
                     "hpsweep-launch: packed task: trials %ld-%ld in %zu slot(s), GPU "
                     "sharing %s\n",
                     options.first_trial, options.first_trial + options.count - 1,
                     plan.slots.size(), to_string(plan.sharing));
        for (const auto& note : plan.notes)
            std::fprintf(stderr, "hpsweep-launch: note: %s\n", note.c_str());
        for (const auto& slot : plan.slots) {
            std::fprintf(stderr, "hpsweep-launch: slot %d: GPU %s, CPUs %s, port %d\n", slot.index,
                         slot.placement.gpus.empty() ? "-" : list_of(slot.placement.gpus).c_str(),
                         slot.placement.cpuset.to_list().c_str(), slot.master_port);
        }
    }
    // The trial's own launcher derives these again for its one slot.
    for (const char* name : {"SLURM_CPU_BIND_LIST", "SLURM_CPU_BIND_TYPE", "SLURM_CPU_BIND"})
        env.erase(name);

    const std::string array_job_id = get_env(env, "SLURM_ARRAY_JOB_ID").value_or("");
    std::deque<long> queue;
    for (long t = options.first_trial; t < options.first_trial + options.count; ++t) {
        if (!array_job_id.empty() && finished_in_array(options.experiment, t, array_job_id))
            continue;  // a requeued task: this trial already ended in this array
        queue.push_back(t);
    }

    BlockedSignals signals;
    std::map<pid_t, Running> running;
    std::vector<bool> slot_busy(plan.slots.size(), false);
    bool stopping = false;
    bool cancelled = false;
    int failures = 0;

    auto start_next = [&] {
        for (size_t s = 0; s < plan.slots.size() && !stopping; ++s) {
            if (slot_busy[s])
                continue;
            while (!queue.empty()) {
                const long trial = queue.front();
                queue.pop_front();
                if (std::filesystem::exists(dir.trial_cancel_request(trial))) {
                    record_not_started(options.experiment, trial, "cancelled");
                    ++failures;
                    continue;
                }
                const pid_t pid =
                    spawn(trial_command(options, plan.slots[s], trial, env), signals.old_mask());
                running[pid] = Running{trial, s, false};
                slot_busy[s] = true;
                break;
            }
        }
    };
    auto reap = [&] {
        for (;;) {
            int wait_status = 0;
            const pid_t pid = ::waitpid(-1, &wait_status, WNOHANG);
            if (pid <= 0)
                return;
            const auto it = running.find(pid);
            if (it == running.end())
                continue;
            const long trial = it->second.trial;
            slot_busy[it->second.slot] = false;
            running.erase(it);
            // The trial's launcher recorded how it ended; a launcher that died without
            // recording (killed with the trial) counts as a failure here too.
            if (!is_success(recorded_status(dir, trial)))
                ++failures;
        }
    };
    auto check_cancel_requests = [&] {
        for (auto& [pid, run] : running) {
            if (!run.cancel_sent && std::filesystem::exists(dir.trial_cancel_request(run.trial))) {
                ::kill(pid, SIGTERM);  // its launcher passes it on: the trial ends cancelled
                run.cancel_sent = true;
            }
        }
    };

    start_next();
    while (!running.empty() || (!stopping && !queue.empty())) {
        pollfd fd{signals.fd(), POLLIN, 0};
        const int ready = ::poll(&fd, 1, 1000);
        if (ready < 0 && errno != EINTR)
            throw_errno("poll");
        if (ready > 0) {
            signalfd_siginfo info;
            while (::read(signals.fd(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
                const int signo = static_cast<int>(info.ssi_signo);
                if (signo == SIGCHLD)
                    continue;
                for (const auto& [pid, run] : running) ::kill(pid, signo);
                if (signo == SIGUSR2) {
                    stopping = true;  // preemption: the unstarted trials run after the requeue
                } else if (signo == SIGTERM || signo == SIGINT || signo == SIGHUP) {
                    stopping = true;
                    cancelled = true;
                }
            }
        }
        reap();
        check_cancel_requests();
        start_next();
    }
    if (cancelled) {
        for (const long trial : queue) record_not_started(options.experiment, trial, "cancelled");
        failures += static_cast<int>(queue.size());
    } else if (stopping) {
        failures += static_cast<int>(queue.size());  // preempted: they run after the requeue
    }
    return failures == 0 ? 0 : 1;
}

}  // namespace hpsweep::launcher
