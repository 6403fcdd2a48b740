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
#include <memory>

#include <nlohmann/json.hpp>

#include "hpsweep/contracts/trial_result.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/launcher/slot_plan.hpp"
#include "hpsweep/launcher/topology.hpp"
#include "hpsweep/launcher/trial_run.hpp"
#include "hpsweep/strings.hpp"
#include "signal_guard.hpp"

namespace hpsweep::launcher {

namespace {

std::string list_of(const std::vector<int>& values) {
    std::vector<std::string> parts;
    for (int v : values) parts.push_back(std::to_string(v));
    return join(parts, ",");
}

// What one trial's launch gets in its slot: the options an unpacked trial's launcher would
// get from its command line (one local rank, the slot's CPUs, GPU and port, no copy of the
// output to the task's own stdout) and its environment.
struct TrialLaunch {
    LaunchOptions options;
    Environment environment;
};

TrialLaunch trial_launch(const PackOptions& pack, const std::shared_ptr<const Topology>& topology,
                         const Slot& slot, long trial, const Environment& base) {
    TrialLaunch launch;
    LaunchOptions& options = launch.options;
    options.experiment = pack.experiment;
    options.trial = trial;
    options.policy = pack.policy;
    options.ntasks = 1;
    options.cpuset = slot.placement.cpuset.to_list();
    options.ddp.master_port = slot.master_port;
    options.ddp.port_range = pack.ddp.port_range;
    options.ddp.master_addr = pack.ddp.master_addr;
    options.topology_file = pack.topology_file;
    options.topology = topology;
    options.echo = false;
    launch.environment = base;
    if (slot.placement.gpus.empty()) {
        options.gpus_per_task = 0;
    } else {
        // The trial finds its one GPU the way an unpacked one does: the physical index in
        // SLURM_STEP_GPUS and what CUDA calls it (Slurm renumbers under cgroups).
        options.gpu_isolation = true;
        launch.environment["SLURM_STEP_GPUS"] = list_of(slot.placement.gpus);
        launch.environment["CUDA_VISIBLE_DEVICES"] = join(slot.placement.gpu_visible, ",");
    }
    for (const auto& [name, value] : slot.environment) launch.environment[name] = value;
    return launch;
}

void replace_environment(const Environment& env) {
    ::clearenv();
    for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
}

// The child side: the trial's own launch, in a copy of this process (config, topology and
// staged data already loaded), then _exit: the copy must not run the parent's destructors
// (they would release the task's datastore and snapshot leases) or flush its buffers twice.
[[noreturn]] void run_trial_in_child(const PackOptions& pack, SignalGuard& signals,
                                     const TrialLaunch& launch) {
    signals.restore();
    int code = exit_code_for(ErrorKind::internal);
    try {
        replace_environment(launch.environment);
        code = pack.run_trial(launch.options);
    } catch (const Error& e) {
        std::fprintf(stderr, "hpsweep-launch: error: trial %ld: %s\n", *launch.options.trial,
                     e.what());
        code = e.exit_code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hpsweep-launch: internal error: trial %ld: %s\n",
                     *launch.options.trial, e.what());
    }
    std::fflush(nullptr);
    ::_exit(code);
}

pid_t start_trial(const PackOptions& pack, SignalGuard& signals, const TrialLaunch& launch) {
    std::fflush(nullptr);  // or the child would write what is buffered here a second time
    const pid_t pid = ::fork();
    if (pid < 0)
        throw_errno("fork");
    if (pid == 0)
        run_trial_in_child(pack, signals, launch);
    return pid;
}

bool is_success(const std::string& status) {
    return status == "completed" || status == "stopped_early";
}

std::string recorded_status(const ExperimentDir& dir, long trial) {
    try {
        return read_trial_result(dir.trial_result(trial)).status;
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
        const auto result = read_trial_result(dir.trial_result(trial));
        if (result.array_job_id != array_job_id)
            return false;
        const std::string& status = result.status;
        return status == "completed" || status == "failed" || status == "cancelled" ||
               status == "stopped_early";
    } catch (const std::exception&) {
        return false;  // no result yet (or one being rewritten): run the trial
    }
}

namespace {

// The task's slots: its GPUs and CPUs cut into one slot per trial that runs at once.
SlotPlan plan_task_slots(const Topology& topology, const Environment& env, const DdpEnv& ddp,
                         const PackOptions& options) {
    SlotRequest request;
    gpus_from_environment(env, find_gpus(topology), options.gpus, request.placement);
    request.placement.allowed = allowed_cpus(topology, env, options.cpuset);
    request.placement.hints = options.policy != GpuAffinity::none;
    request.trials_per_gpu = options.trials_per_gpu;
    request.task_port = ddp.master_port;
    request.port_range = options.ddp.port_range;
    request.mps_pipe_directory = mps_pipe_directory(env);
    return plan_slots(topology, request);
}

void print_slot_plan(const SlotPlan& plan, const PackOptions& options) {
    std::fprintf(stderr,
                 "hpsweep-launch: packed task: trials %ld-%ld in %zu slot(s), GPU "
                 "sharing %s\n",
                 options.first_trial, options.first_trial + options.count - 1, plan.slots.size(),
                 to_string(plan.sharing));
    for (const auto& note : plan.notes)
        std::fprintf(stderr, "hpsweep-launch: note: %s\n", note.c_str());
    for (const auto& slot : plan.slots) {
        std::fprintf(stderr, "hpsweep-launch: slot %d: GPU %s, CPUs %s, port %d\n", slot.index,
                     slot.placement.gpus.empty() ? "-" : list_of(slot.placement.gpus).c_str(),
                     slot.placement.cpuset.to_list().c_str(), slot.master_port);
    }
}

// The task's trials, less those a requeued task already ended in this array.
std::deque<long> trials_to_run(const PackOptions& options, const std::string& array_job_id) {
    std::deque<long> queue;
    for (long t = options.first_trial; t < options.first_trial + options.count; ++t) {
        if (!array_job_id.empty() && finished_in_array(options.experiment, t, array_job_id))
            continue;  // a requeued task: this trial already ended in this array
        queue.push_back(t);
    }
    return queue;
}

// Runs the queued trials in the free slots, each in a child process, until all ended or a
// signal stops the task; passes the task's signals on to the running trials.
class SlotScheduler {
public:
    SlotScheduler(const PackOptions& options, std::shared_ptr<const Topology> topology,
                  const SlotPlan& plan, const Environment& env, std::deque<long> queue)
        : options_(options),
          dir_(options.experiment),
          topology_(std::move(topology)),
          plan_(plan),
          env_(env),
          queue_(std::move(queue)),
          slot_busy_(plan.slots.size(), false) {}

    // The number of trials that did not succeed, those left unstarted included.
    int run() {
        start_next();
        while (!running_.empty() || (!stopping_ && !queue_.empty())) {
            pollfd fd{signals_.fd(), POLLIN, 0};
            const int ready = ::poll(&fd, 1, 1000);
            if (ready < 0 && errno != EINTR)
                throw_errno("poll");
            if (ready > 0)
                pass_on_signals();
            reap();
            check_cancel_requests();
            start_next();
        }
        if (cancelled_) {
            for (const long trial : queue_)
                record_not_started(options_.experiment, trial, "cancelled");
            failures_ += static_cast<int>(queue_.size());
        } else if (stopping_) {
            failures_ += static_cast<int>(queue_.size());  // preempted: they run after the requeue
        }
        return failures_;
    }

private:
    void start_next() {
        for (size_t s = 0; s < plan_.slots.size() && !stopping_; ++s) {
            if (slot_busy_[s])
                continue;
            while (!queue_.empty()) {
                const long trial = queue_.front();
                queue_.pop_front();
                if (std::filesystem::exists(dir_.trial_cancel_request(trial))) {
                    record_not_started(options_.experiment, trial, "cancelled");
                    ++failures_;
                    continue;
                }
                const pid_t pid =
                    start_trial(options_, signals_,
                                trial_launch(options_, topology_, plan_.slots[s], trial, env_));
                running_[pid] = Running{trial, s, false};
                slot_busy_[s] = true;
                break;
            }
        }
    }

    void reap() {
        for (;;) {
            int wait_status = 0;
            const pid_t pid = ::waitpid(-1, &wait_status, WNOHANG);
            if (pid <= 0)
                return;
            const auto it = running_.find(pid);
            if (it == running_.end())
                continue;
            const long trial = it->second.trial;
            slot_busy_[it->second.slot] = false;
            running_.erase(it);
            // The trial's launch recorded how it ended; one that died without recording
            // (killed with the trial) counts as a failure here too.
            if (!is_success(recorded_status(dir_, trial)))
                ++failures_;
        }
    }

    void check_cancel_requests() {
        for (auto& [pid, run] : running_) {
            if (!run.cancel_sent && std::filesystem::exists(dir_.trial_cancel_request(run.trial))) {
                ::kill(pid, SIGTERM);  // its supervisor passes it on: the trial ends cancelled
                run.cancel_sent = true;
            }
        }
    }

    void pass_on_signals() {
        signalfd_siginfo info;
        while (::read(signals_.fd(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
            const int signo = static_cast<int>(info.ssi_signo);
            if (signo == SIGCHLD)
                continue;
            for (const auto& [pid, run] : running_) ::kill(pid, signo);
            if (signo == SIGUSR2) {
                stopping_ = true;  // preemption: the unstarted trials run after the requeue
            } else if (signo == SIGTERM || signo == SIGINT || signo == SIGHUP) {
                stopping_ = true;
                cancelled_ = true;
            }
        }
    }

    const PackOptions& options_;
    const ExperimentDir dir_;
    const std::shared_ptr<const Topology> topology_;
    const SlotPlan& plan_;
    const Environment& env_;
    std::deque<long> queue_;
    SignalGuard signals_;
    std::map<pid_t, Running> running_;
    std::vector<bool> slot_busy_;
    bool stopping_ = false;
    bool cancelled_ = false;
    int failures_ = 0;
};

}  // namespace

int run_pack(const PackOptions& options) {
    if (options.count < 1 || options.first_trial < 0)
        throw Error(ErrorKind::usage, "--pack-first must be >= 0 and --pack-count >= 1");
    if (!options.run_trial)
        throw Error(ErrorKind::internal, "run_pack: no run_trial");
    Environment env = current_environment();
    const DdpEnv ddp = ddp_from_environment(env, options.ddp);

    // Loaded once: every trial's launch reuses it (through the fork) instead of loading it.
    const auto topology = std::make_shared<const Topology>(
        options.topology_file ? Topology::load_xml(*options.topology_file)
                              : Topology::load_live_cached(topology_cache_dir(env)));
    const SlotPlan plan = plan_task_slots(*topology, env, ddp, options);
    if (options.policy == GpuAffinity::verbose)
        print_slot_plan(plan, options);
    // Each trial's launch derives these again for its one slot.
    for (const char* name : {"SLURM_CPU_BIND_LIST", "SLURM_CPU_BIND_TYPE", "SLURM_CPU_BIND"})
        env.erase(name);

    const std::string array_job_id = get_env(env, "SLURM_ARRAY_JOB_ID").value_or("");
    SlotScheduler scheduler(options, topology, plan, env, trials_to_run(options, array_job_id));
    return scheduler.run() == 0 ? 0 : 1;
}

}  // namespace hpsweep::launcher
