// Remote context: slurmstepd, one process per job step on each node. The order of the hooks
// and who we are in each (see spank.h):
//
//   init, options, init_post_opt   root, once per step: read plugstack.conf, get the
//                                  options, stage datastores (root writes the shared
//                                  node-local cache; the store is opened on a thread with
//                                  the job user's fs credentials, datastore/src/user_reader),
//                                  load the node's topology for placement (through the
//                                  root-only cache of core/topology_cache.hpp; the tasks,
//                                  forked later, inherit it)
//   user_init                      the job's user (effective ids), once per step: resolve
//                                  --hpsweep-trial, create the trial's directories
//   task_init_privileged           root, in each forked task: report failures
//   task_init                      the job's user, in each task just before exec: GPU
//                                  placement, binding and DDP environment
//   exit                           root, once per step: release the datastore leases
//
// A failure before the tasks exist is never returned to Slurm: a failed init/user_init
// fails the step's setup, and for a batch step slurmctld then drains the node ("batch job
// complete failure"), so one user's bad input would take a node from everybody. Those
// hooks record the error instead, and the tasks report it on the job's stderr and exit
// with status 1: the job fails, the node stays up.

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "contexts.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/strings.hpp"
#include "plugin_state.hpp"

extern "C" {
#include <slurm/slurm.h>  // SLURM_BATCH_SCRIPT, SLURM_EXTERN_CONT
}

// The libraries land in steps; build what is there (CMake defines HAVE_* when the target
// exists, the headers say whether the API the plugin uses is in it yet).
#if defined(HPSWEEP_PLUGIN_HAVE_DATASTORE) && !__has_include("hpsweep/datastore/cache.hpp")
#undef HPSWEEP_PLUGIN_HAVE_DATASTORE
#endif
#if defined(HPSWEEP_PLUGIN_HAVE_LAUNCHER) && !__has_include("hpsweep/launcher/placement.hpp")
#undef HPSWEEP_PLUGIN_HAVE_LAUNCHER
#endif

#ifdef HPSWEEP_PLUGIN_HAVE_DATASTORE
#include "hpsweep/datastore/cache.hpp"
#include "hpsweep/datastore/credentials.hpp"
#include "hpsweep/datastore/paths.hpp"
#include "hpsweep/datastore/store.hpp"
#endif
#ifdef HPSWEEP_PLUGIN_HAVE_LAUNCHER
#include "hpsweep/launcher/ddp_env.hpp"
#include "hpsweep/launcher/placement.hpp"
#include "hpsweep/launcher/topology.hpp"
#endif
#if defined(HPSWEEP_PLUGIN_HAVE_LAUNCHER) && defined(HPSWEEP_PLUGIN_HAVE_DATASTORE)
#define HPSWEEP_PLUGIN_HAVE_TOPOLOGY_CACHE 1
#include "topology_cache.hpp"
#endif

namespace hpsweep::plugin {
namespace {

struct StepState {
    bool active = false;              // false in the extern step: nothing to do there
    bool batch_step = false;          // the batch script itself: no placement (srun steps get it)
    std::vector<std::string> errors;  // reported by every task of the step
    bool reported = false;            // this task already printed them
#ifdef HPSWEEP_PLUGIN_HAVE_DATASTORE
    std::vector<datastore::CacheLease> leases;  // staged versions stay in use until exit
#endif
#ifdef HPSWEEP_PLUGIN_HAVE_LAUNCHER
    std::optional<launcher::Topology> topology;  // loaded as root before the tasks fork
    std::string topology_note;                   // how it was loaded, for verbose
#endif
};

StepState& step() {
    static StepState instance;
    return instance;
}

// Runs a pre-task piece of work; an exception becomes an error of the step (see top).
template <typename Work>
void recorded(const char* what, Work&& work) noexcept {
    try {
        work();
    } catch (const std::exception& e) {
        try {
            step().errors.push_back(std::string(what) + ": " + e.what());
        } catch (...) {
        }
        log_error(std::string(what) + ": " + e.what());
    } catch (...) {
        log_error(std::string(what) + ": unknown exception");
    }
}

// Ends this task before it runs the user's program. This runs in the task's own process,
// forked from slurmstepd just before exec, so exiting ends only the task, exactly what
// Slurm does itself when a required plugin's task hook fails; doing it here also makes
// the failure stick when the plugin is listed as `optional` (whose errors Slurm ignores).
[[noreturn]] void fail_task(const std::vector<std::string>& errors) {
    if (!step().reported) {
        for (const auto& error : errors) tell_user("error: " + error);
    }
    tell_user("error: the task was not started (exit status 1)");
    ::_exit(1);
}

#ifdef HPSWEEP_PLUGIN_HAVE_DATASTORE
void stage_datastores(spank_t sp, const SiteConfig& site) {
    datastore::Credentials user;
    user.uid = job_uid(sp);
    user.gid = job_gid(sp);
    user.groups = job_supplementary_gids(sp);
    user.groups.push_back(user.gid);

    const datastore::Store store(site.datastore_root);
    const datastore::CacheConfig cache{site.cache_dir, site.cache_max_bytes};
    std::vector<std::string> names;
    for (const auto& reference : state().datastores) {
        recorded(("--datastore=" + reference).c_str(), [&] {
            auto result = datastore::stage(store, cache, datastore::Ref::parse(reference), user);
            if (!result.warning.empty()) {
                log_verbose("datastore " + reference + ": " + result.warning);
            }
            // The variable comes from the reference as validated, never from the store.
            const datastore::Ref ref = datastore::Ref::parse(reference);
            job_setenv(sp, datastore_variable(ref.name), result.path.string());
            names.push_back(ref.name);
            step().leases.push_back(std::move(result.lease));
        });
    }
    job_setenv(sp, "HPSWEEP_DATASTORES", join(names, ","));
}
#endif

void export_trial(spank_t sp) {
    const JobEnvironment env = job_environment(sp);
    // A relative EXPDIR means what it meant where the user typed it.
    const std::filesystem::path base = lookup(env, "SLURM_SUBMIT_DIR").value_or("/");
    const ExperimentDir experiment(parse_trial_option(*state().trial, base));
    const TrialRecord trial = experiment.read_trial(trial_id_for(env));
    prepare_trial_directories(experiment, trial.id);
    for (const auto& [name, value] : trial_environment(experiment, trial)) {
        job_setenv(sp, name, value);
    }
}

#ifdef HPSWEEP_PLUGIN_HAVE_LAUNCHER
std::string describe(const launcher::RankPlacement& rank, const launcher::DdpEnv& ddp,
                     const std::string& host) {
    std::string gpus;
    for (size_t i = 0; i < rank.gpus.size(); ++i) {
        if (i)
            gpus += ",";
        gpus += std::to_string(rank.gpus[i]);
        if (i < rank.gpu_positions.size())
            gpus += " (cuda:" + std::to_string(rank.gpu_positions[i]) + ")";
    }
    std::vector<std::string> hcas = rank.hcas;
    return host + " rank " + std::to_string(ddp.rank) + "/" + std::to_string(ddp.world_size) +
           " local " + std::to_string(ddp.local_rank) + "/" + std::to_string(ddp.local_world_size) +
           " node " + std::to_string(ddp.node_rank) + "/" + std::to_string(ddp.num_nodes) +
           ": gpus " + (gpus.empty() ? "none" : gpus) + ", cpus " +
           (rank.cpuset.empty() ? "unbound" : rank.cpuset.to_list()) + ", memory " +
           (rank.nodeset.empty() ? "any" : "node " + rank.nodeset.to_list()) +
           (rank.gpu_local ? " (near its GPU)" : "") + ", hca " +
           (hcas.empty() ? "none" : join(hcas, ",")) + ", MASTER_ADDR=" + ddp.master_addr +
           " MASTER_PORT=" + std::to_string(ddp.master_port);
}

void place_task(spank_t sp, const SiteConfig& site, GpuAffinity affinity) {
    const JobEnvironment env = job_environment(sp);
    launcher::DdpOverrides overrides;
    overrides.port_range = launcher::PortRange{static_cast<int>(site.port_range.first),
                                               static_cast<int>(site.port_range.last)};
    const launcher::DdpEnv ddp = launcher::ddp_from_environment(env, overrides);

    if (!step().topology)
        step().topology = launcher::Topology::load_live();
    const launcher::Topology& topology = *step().topology;
    launcher::PlacementRequest request;
    launcher::gpus_from_environment(env, launcher::find_gpus(topology), std::nullopt, request);
    request.allowed = launcher::allowed_cpus(topology, env, std::nullopt);
    request.local_ranks = ddp.local_world_size;
    const int step_gpus = static_cast<int>(request.step_gpus.size());
    request.gpus_per_task =
        step_gpus == 0 ? 0 : std::max(1, step_gpus / std::max(1, ddp.local_world_size));
    const launcher::PlacementPlan plan = launcher::plan_placement(topology, request);
    if (ddp.local_rank < 0 || static_cast<size_t>(ddp.local_rank) >= plan.ranks.size()) {
        throw Error(ErrorKind::internal,
                    "no placement for local rank " + std::to_string(ddp.local_rank));
    }
    const launcher::RankPlacement& rank = plan.ranks[static_cast<size_t>(ddp.local_rank)];

    for (const auto& [name, value] : ddp.variables()) job_setenv(sp, name, value);
    for (const auto& [name, value] : rank.environment) job_setenv(sp, name, value);
    const std::vector<std::string> warnings = launcher::apply_binding(topology, rank);

    if (affinity == GpuAffinity::verbose) {
        char host[256] = {};
        ::gethostname(host, sizeof host - 1);
        tell_user(describe(rank, ddp, host));
        if (ddp.local_rank == 0) {
            if (!step().topology_note.empty())
                tell_user("note: topology " + step().topology_note);
            for (const auto& note : plan.notes) tell_user("note: " + note);
        }
        for (const auto& warning : warnings) tell_user("warning: " + warning);
    }
    for (const auto& warning : warnings) log_verbose(warning);
}

// Once per step, as root: the tasks' placement needs the node's topology, and the cache
// that makes it cheap can only be read and written as root.
void load_topology_for_tasks(const SiteConfig& site) noexcept {
    try {
        const auto start = std::chrono::steady_clock::now();
#ifdef HPSWEEP_PLUGIN_HAVE_TOPOLOGY_CACHE
        NodeTopology loaded = load_node_topology(site.cache_dir);
        step().topology = std::move(loaded.topology);
        step().topology_note = std::move(loaded.how);
#else
        (void)site;
        step().topology = launcher::Topology::load_live();
        step().topology_note = "discovered live";
#endif
        const std::chrono::duration<double, std::milli> took =
            std::chrono::steady_clock::now() - start;
        char ms[32];
        std::snprintf(ms, sizeof ms, "%.1f", took.count());
        step().topology_note += std::string(" in ") + ms + " ms";
        log_verbose("topology " + step().topology_note);
    } catch (const std::exception& e) {
        // The tasks try again themselves, and fail or run unplaced as they would have.
        log_error(std::string("loading the topology: ") + e.what());
    }
}
#endif

}  // namespace

int remote_init(spank_t sp, int argc, char** argv) {
    parse_site_config(argc, argv);
    recorded("registering options", [&] { register_options(sp); });
    return 0;
}

int remote_init_post_opt(spank_t sp, int, char**) {
    std::uint32_t step_id = 0;
    recorded("reading the step id", [&] { step_id = job_step_id(sp); });
    step().active = step_id != SLURM_EXTERN_CONT;
    step().batch_step = step_id == SLURM_BATCH_SCRIPT;
#ifdef HPSWEEP_PLUGIN_HAVE_LAUNCHER
    if (step().active && !step().batch_step && state().site &&
        state().effective_affinity() != GpuAffinity::none) {
        load_topology_for_tasks(*state().site);
    }
#endif
    // An option value that failed its check here counts as a request: the job fails with the
    // message naming the value instead of running without what it asked for.
    if (!step().active || (!state().requested_anything() && state().option_errors.empty()))
        return 0;

    for (const auto& error : state().option_errors) step().errors.push_back(error);
    if (!state().site) {
        step().errors.push_back("this cluster's hpsweep configuration is wrong (" +
                                state().site_error + "); ask your administrator");
        return 0;
    }
    if (!state().datastores.empty()) {
#ifdef HPSWEEP_PLUGIN_HAVE_DATASTORE
        recorded("staging datastores", [&] { stage_datastores(sp, *state().site); });
#else
        step().errors.push_back("--datastore: this hpsweep was built without datastore support");
#endif
    }
    return 0;
}

int remote_user_init(spank_t sp, int, char**) {
    if (!step().active || !state().trial || !state().site)
        return 0;
    recorded(("--hpsweep-trial=" + *state().trial).c_str(), [&] { export_trial(sp); });
    return 0;
}

int remote_task_init_privileged(spank_t, int, char**) {
    if (!step().active || step().errors.empty())
        return 0;
    for (const auto& error : step().errors) tell_user("error: " + error);
    step().reported = true;
    return -1;
}

int remote_task_init(spank_t sp, int, char**) {
    if (!step().active)
        return 0;
    // Only reached with errors when Slurm ignored task_init_privileged's failure.
    if (!step().errors.empty())
        fail_task(step().errors);
    if (step().batch_step || !state().site)
        return 0;
    const GpuAffinity affinity = state().effective_affinity();
    if (affinity == GpuAffinity::none)
        return 0;
#ifdef HPSWEEP_PLUGIN_HAVE_LAUNCHER
    try {
        place_task(sp, *state().site, affinity);
    } catch (const std::exception& e) {
        log_error(std::string("--gpu-affinity: ") + e.what());
        // A job that asked fails; one that only got the site's default runs unplaced.
        if (state().affinity)
            fail_task({std::string("--gpu-affinity: ") + e.what()});
    }
#else
    (void)sp;
    fail_task({"--gpu-affinity: this hpsweep was built without the launcher library"});
#endif
    return 0;
}

int remote_exit(spank_t, int, char**) {
#ifdef HPSWEEP_PLUGIN_HAVE_DATASTORE
    step().leases.clear();
#endif
    return 0;
}

}  // namespace hpsweep::plugin
