// `hpsweep cluster up|down|status|env`: the local Slurm test cluster. The work is done by
// the hpsweep-cluster script (namespaces, daemons, config files are shell-shaped work);
// this front end only validates arguments and hands over with exec.

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "command_registry.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/process.hpp"
#include "option_values.hpp"

namespace hpsweep::cli {
namespace {

[[noreturn]] void exec_cluster_script(std::vector<std::string> args) {
    const std::string script = find_helper_script("hpsweep-cluster");
    // `env` prints a PATH line with this directory, so jobs and users find this hpsweep.
    ::setenv("HPSWEEP_BIN_DIR", hpsweep::executable_dir().c_str(), 1);
    args.insert(args.begin(), script);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(script.c_str(), argv.data());
    throw Error(ErrorKind::io, "cannot run " + script + ": " + std::strerror(errno));
}

void add_cluster_commands(CLI::App& app) {
    auto* cluster = app.add_subcommand("cluster", "Start, stop and use a real local Slurm cluster");
    cluster->require_subcommand(1);

    struct UpOptions {
        int nodes = 3;
        int gpus_per_node = 4;
        bool cgroups = false;
        std::string slurm_prefix;
        std::string owner_file;
    };
    auto up_options = std::make_shared<UpOptions>();
    auto* up = cluster->add_subcommand(
        "up", "Start slurmctld, one slurmd per node (own netns/hostname/local dir), munged");
    add_integer_option(up, "--nodes", up_options->nodes, "Number of compute nodes", 1, 16);
    add_integer_option(up, "--gpus-per-node", up_options->gpus_per_node,
                       "Fake GPUs per node (gres)", 0, 16);
    up->add_flag("--cgroups", up_options->cgroups,
                 "Confine jobs as university clusters do (proctrack/cgroup, task/cgroup, "
                 "ConstrainCores/Devices/RAMSpace); fake GPUs become openable devices");
    up->add_option("--slurm", up_options->slurm_prefix,
                   "Run the cluster on a Slurm installed under this prefix "
                   "(scripts/slurm-release.sh), not the system's")
        ->check(CLI::ExistingDirectory);
    up->add_option("--owner-file", up_options->owner_file,
                   "Write this file when this call started the cluster (see down --owner-file)");
    up->callback([up_options] {
        std::vector<std::string> args{"up", "--nodes", std::to_string(up_options->nodes),
                                      "--gpus-per-node", std::to_string(up_options->gpus_per_node)};
        if (up_options->cgroups) {
            args.emplace_back("--cgroups");
        }
        if (!up_options->slurm_prefix.empty()) {
            args.insert(args.end(), {"--slurm", up_options->slurm_prefix});
        }
        if (!up_options->owner_file.empty()) {
            args.insert(args.end(), {"--owner-file", up_options->owner_file});
        }
        exec_cluster_script(std::move(args));
    });

    struct DownOptions {
        bool purge = false;
        std::string owner_file;
    };
    auto down_options = std::make_shared<DownOptions>();
    auto* down =
        cluster->add_subcommand("down", "Stop everything `cluster up` started, by recorded pids");
    down->add_flag("--purge", down_options->purge,
                   "Also delete the state directory (logs, Slurm state, accounting database)");
    down->add_option("--owner-file", down_options->owner_file,
                     "Stop only if `up --owner-file` with this file started the cluster; "
                     "a cluster someone else started is left running");
    down->callback([down_options] {
        std::vector<std::string> args{"down"};
        if (down_options->purge)
            args.emplace_back("--purge");
        if (!down_options->owner_file.empty()) {
            args.insert(args.end(), {"--owner-file", down_options->owner_file});
        }
        exec_cluster_script(std::move(args));
    });

    // Exit code 0 up, 1 degraded, 3 down (docs/local-cluster.md).
    auto local_json = std::make_shared<bool>(false);
    auto* status = cluster->add_subcommand(
        "status",
        "Say whether the cluster is up and show its nodes (exit 0 up, 1 degraded, 3 down)");
    status->add_flag("--json", *local_json, "Machine-readable output (JSON on stdout)");
    status->callback([local_json] {
        exec_cluster_script(global_options().json || *local_json
                                ? std::vector<std::string>{"status", "--json"}
                                : std::vector<std::string>{"status"});
    });
    cluster->add_subcommand("env", "Print export lines: eval \"$(hpsweep cluster env)\"")
        ->callback([] { exec_cluster_script({"env"}); });
}

const CommandRegistrar registrar{"cluster", &add_cluster_commands};

}  // namespace
}  // namespace hpsweep::cli
