#include "hpsweep/launcher/launch.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "hpsweep/error.hpp"
#include "hpsweep/launcher/placement.hpp"
#include "hpsweep/launcher/topology.hpp"
#include "hpsweep/launcher/trial_run.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::launcher {

std::filesystem::path topology_cache_dir(const Environment& env) {
    if (auto dir = get_env(env, "HPSWEEP_TOPOLOGY_CACHE"))
        return *dir;
    if (auto dir = get_env(env, "TMPDIR"))
        return *dir;
    return "/tmp";
}

namespace {

std::vector<std::string> to_environ(const Environment& env) {
    std::vector<std::string> out;
    out.reserve(env.size());
    for (const auto& [name, value] : env) out.push_back(name + "=" + value);
    return out;
}

// Hints the admin or user may already have set (site NCCL config): never overridden.
bool user_may_override(const std::string& name) {
    return name == "NCCL_IB_HCA" || name == "UCX_NET_DEVICES" || name == "NCCL_SOCKET_IFNAME" ||
           name == "GLOO_SOCKET_IFNAME" || name == "OMP_NUM_THREADS";
}

std::string list_of(const std::vector<int>& values) {
    std::vector<std::string> parts;
    for (int v : values) parts.push_back(std::to_string(v));
    return join(parts, ",");
}

nlohmann::ordered_json rank_json(const RankPlacement& rank, const DdpEnv& ddp) {
    nlohmann::ordered_json env = nlohmann::ordered_json::object();
    for (const auto& [name, value] : ddp.variables()) env[name] = value;
    for (const auto& [name, value] : rank.environment) env[name] = value;
    return nlohmann::ordered_json{
        {"local_rank", rank.local_rank},
        {"rank", ddp.rank},
        {"gpus", rank.gpus},
        {"gpu_positions", rank.gpu_positions},
        {"gpu_busids", rank.gpu_busids},
        {"cpus", rank.cpuset.to_list()},
        {"cores", rank.cores},
        {"numa_nodes", rank.nodeset.to_list()},
        {"gpu_local", rank.gpu_local},
        {"shares_cores", rank.shares_cores},
        {"hcas", rank.hcas},
        {"interface", rank.interface},
        {"env", env},
    };
}

std::string rank_text(const RankPlacement& rank, const DdpEnv& ddp, bool with_env) {
    std::string text = "local rank " + std::to_string(rank.local_rank) + " (rank " +
                       std::to_string(ddp.rank) + "): ";
    if (rank.gpus.empty()) {
        text += "no GPU";
    } else {
        text += "GPU " + list_of(rank.gpus);
        std::vector<std::string> ids;
        for (const auto& b : rank.gpu_busids) ids.push_back(b.empty() ? "not in topology" : b);
        text += " (" + join(ids, ", ") + ")";
    }
    text += ", CPUs " + rank.cpuset.to_list();
    text += rank.gpu_local ? " (GPU-local)" : (rank.gpus.empty() ? "" : " (not GPU-local)");
    if (rank.shares_cores)
        text += " (shared)";
    text += ", NUMA " + (rank.nodeset.empty() ? std::string("-") : rank.nodeset.to_list());
    text += ", HCA " + (rank.hcas.empty() ? std::string("-") : join(rank.hcas, ","));
    text += ", interface " + (rank.interface.empty() ? std::string("-") : rank.interface);
    text += "\n";
    if (with_env) {
        std::map<std::string, std::string> env = ddp.variables();
        for (const auto& [name, value] : rank.environment) env[name] = value;
        for (const auto& [name, value] : env) text += "    " + name + "=" + value + "\n";
    }
    return text;
}

// The DDP variables of another local rank of this node (for --explain).
DdpEnv ddp_for_local_rank(DdpEnv ddp, int local_rank, int local_ranks) {
    ddp.rank = ddp.rank - ddp.local_rank + local_rank;
    ddp.local_rank = local_rank;
    ddp.local_world_size = local_ranks;
    if (ddp.source == "single")
        ddp.world_size = std::max(ddp.world_size, local_ranks);
    return ddp;
}

// What to place: the step's GPUs and CPUs, this node's ranks, and the interface the
// rendezvous goes over.
PlacementRequest placement_request(const Topology& topology, const Environment& env,
                                   const DdpEnv& ddp, const LaunchOptions& options,
                                   int local_ranks) {
    PlacementRequest request;
    const auto topology_gpus = find_gpus(topology);
    gpus_from_environment(env, topology_gpus, options.gpus, request);
    request.allowed = allowed_cpus(topology, env, options.cpuset);
    request.local_ranks = local_ranks;
    request.gpus_per_task = options.gpus_per_task;
    request.gpu_isolation = options.gpu_isolation;
    request.hints = options.policy != GpuAffinity::none;
    if (topology.is_this_system() && !options.topology_file) {
        if (ddp.world_size > 1)
            request.rendezvous_interface = route_interface(ddp.master_addr);
    } else {
        for (const auto& nic : find_network_interfaces(topology)) {
            if (!nic.infiniband) {
                request.rendezvous_interface = nic.name;
                break;
            }
        }
    }
    return request;
}

// --explain: the placement of every rank of this node, as text or JSON.
void print_explanation(const Topology& topology, const PlacementRequest& request,
                       const PlacementPlan& plan, const DdpEnv& ddp, const LaunchOptions& options,
                       int local_ranks) {
    if (options.json) {
        nlohmann::ordered_json out{
            {"topology", topology.source()},
            {"policy", to_string(options.policy)},
            {"allowed_cpus", request.allowed.to_list()},
            {"step_gpus", request.step_gpus},
            {"local_ranks", local_ranks},
            {"ddp_source", ddp.source},
            {"ranks", nlohmann::ordered_json::array()},
            {"notes", plan.notes},
        };
        for (const auto& rank : plan.ranks) {
            out["ranks"].push_back(
                rank_json(rank, ddp_for_local_rank(ddp, rank.local_rank, local_ranks)));
        }
        std::fputs((out.dump(2) + "\n").c_str(), stdout);
    } else {
        std::string text =
            "topology: " + topology.source() + "\npolicy: " + to_string(options.policy) +
            "\nallowed CPUs: " + request.allowed.to_list() +
            "\nstep GPUs: " + (request.step_gpus.empty() ? "none" : list_of(request.step_gpus)) +
            "\nlocal ranks: " + std::to_string(local_ranks) + " (from " +
            (options.ntasks ? std::string("--ntasks") : ddp.source) + ")\n";
        for (const auto& note : plan.notes) text += "note: " + note + "\n";
        for (const auto& rank : plan.ranks) {
            text += rank_text(rank, ddp_for_local_rank(ddp, rank.local_rank, local_ranks), true);
        }
        std::fputs(text.c_str(), stdout);
    }
}

// Binds this process to its rank's CPUs (unless the policy is none), saying where with the
// verbose policy; ENV gets the rank's DDP and placement variables, except the hints a site
// or user has set already.
void take_rank_placement(const Topology& topology, const PlacementRequest& request,
                         const PlacementPlan& plan, const RankPlacement& mine, const DdpEnv& ddp,
                         GpuAffinity policy, Environment& env) {
    if (policy == GpuAffinity::verbose) {
        std::string text = "hpsweep-launch: " + topology.source() + ", allowed CPUs " +
                           request.allowed.to_list() + "\n";
        for (const auto& note : plan.notes) text += "hpsweep-launch: note: " + note + "\n";
        text += "hpsweep-launch: " + rank_text(mine, ddp, false);
        std::fputs(text.c_str(), stderr);
    }
    if (policy != GpuAffinity::none) {
        for (const auto& warning : apply_binding(topology, mine)) {
            std::fprintf(stderr, "hpsweep-launch: warning: %s\n", warning.c_str());
        }
    }
    for (const auto& [name, value] : ddp.variables()) env[name] = value;
    for (const auto& [name, value] : mine.environment) {
        if (user_may_override(name) && env.count(name) != 0)
            continue;
        env[name] = value;
    }
}

}  // namespace

int launch(const LaunchOptions& options, LaunchHooks hooks) {
    Environment env = current_environment();
    DdpEnv ddp = ddp_from_environment(env, options.ddp);
    const int local_ranks = options.ntasks.value_or(ddp.local_world_size);
    const int local_rank =
        options.ntasks ? std::min(ddp.local_rank, local_ranks - 1) : ddp.local_rank;

    // Placement: the live machine (through the per-node cache) or an XML file.
    std::optional<Topology> loaded;
    if (!options.topology) {
        loaded.emplace(options.topology_file ? Topology::load_xml(*options.topology_file)
                                             : Topology::load_live_cached(topology_cache_dir(env)));
    }
    const Topology& topology = options.topology ? *options.topology : *loaded;
    const PlacementRequest request = placement_request(topology, env, ddp, options, local_ranks);
    const PlacementPlan plan = plan_placement(topology, request);
    if (options.explain) {
        print_explanation(topology, request, plan, ddp, options, local_ranks);
        return 0;
    }
    const RankPlacement& mine = plan.ranks.at(static_cast<size_t>(local_rank));
    take_rank_placement(topology, request, plan, mine, ddp, options.policy, env);

    std::optional<TrialRun> trial;
    std::vector<std::string> command = options.command;
    if (options.experiment) {
        trial.emplace(*options.experiment, *options.trial, ddp.rank);
        command = trial->record().argv;
        if (hooks.rewrite_command)
            command = hooks.rewrite_command(std::move(command));
        if (command.empty()) {
            throw Error(ErrorKind::data, "trial " + std::to_string(*options.trial) + " in " +
                                             trial->experiment().trial_table_path().string() +
                                             " has an empty argv");
        }
        trial->prepare();
        for (const auto& [name, value] : trial->environment()) env[name] = value;
    }

    std::optional<PreparedContainer> container;
    if (options.container) {
        try {
            container = prepare_container(*options.container, command, env, mine);
        } catch (const Error& e) {
            if (trial)
                trial->record_launch_failure(e);
            throw;
        }
        if (container->image && container->image->unpacked_now()) {
            std::fprintf(stderr, "hpsweep-launch: unpacked image %s into %s\n",
                         options.container->image.c_str(), container->image->dir().c_str());
        }
        command = container->argv;
        for (const auto& [name, value] : container->environment) env[name] = value;
    }

    SupervisorOptions supervised;
    supervised.argv = command;
    supervised.environment = to_environ(env);
    supervised.echo = options.echo;
    if (trial) {
        supervised.stdout_log = trial->stdout_log();
        supervised.stderr_log = trial->stderr_log();
        supervised.output_timeline = trial->output_timeline();
        trial->record_start();
    }
    Supervisor supervisor(std::move(supervised), std::move(hooks.supervisor));
    if (trial && hooks.for_trial)
        supervisor.set_hooks(hooks.for_trial(*trial, ddp, supervisor));
    const ChildStatus status = supervisor.run();
    if (trial)
        trial->record_end(status);
    return status.stop_reason.empty() ? status.exit_code : 0;
}

}  // namespace hpsweep::launcher
