// hpsweep-launch: the process each Slurm task runs before the training program.
//   hpsweep-launch [--experiment EXP [--trial ID]] [options] [-- COMMAND ARGS...]
// It computes the rank's placement and DDP environment, then supervises the command
// (logs, metrics pipe, signal forwarding) and exits with the command's exit code.
// All logic lives in hpsweep::launcher; this file parses arguments.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hpsweep/error.hpp"
#include "hpsweep/launcher/launch.hpp"
#include "packed_task.hpp"
#include "trial_container.hpp"
#include "trial_datastores.hpp"
#include "trial_hooks.hpp"
#include "trial_search.hpp"
#include "trial_snapshot.hpp"

namespace {

const char* const usage_text =
    "usage: hpsweep-launch [--experiment EXP [--trial ID | --trial-offset N]] [options]\n"
    "                      [-- COMMAND ARGS...]\n"
    "       hpsweep-launch --explain [--topology FILE] [--gpus LIST] [--cpuset LIST]\n"
    "                      [--ntasks N] [--json] [options]\n"
    "\n"
    "Experiment:\n"
    "  --experiment DIR       experiment directory (trials.jsonl); the command is the trial's "
    "argv\n"
    "  --trial ID             trial id (default: $SLURM_ARRAY_TASK_ID + --trial-offset)\n"
    "  --trial-offset N       added to $SLURM_ARRAY_TASK_ID (chunked arrays); default 0\n"
    "  --pack-first ID        packed task: run trials ID.. (docs/packing.md)\n"
    "  --pack-count N         packed task: how many trials, several at once\n"
    "Placement:\n"
    "  --policy P             closest (default), none, verbose (closest + plan on stderr)\n"
    "  --gpus-per-task N      GPUs per local rank (default 1; 0 = no GPU binding)\n"
    "  --gpu-isolation        CUDA_VISIBLE_DEVICES = the rank's GPU(s) only\n"
    "  --topology FILE        hwloc XML instead of the live machine (binding is then skipped)\n"
    "  --gpus LIST            GPUs of the step (physical indices), instead of the Slurm variables\n"
    "  --cpuset LIST          allowed CPUs (e.g. 0-7,16), instead of this process's affinity\n"
    "  --ntasks N             local ranks on this node (--explain), instead of Slurm's\n"
    "Rendezvous:\n"
    "  --port-range A-B       MASTER_PORT range (default 20000-29999)\n"
    "  --master-addr HOST     override MASTER_ADDR\n"
    "  --master-port PORT     override MASTER_PORT\n"
    "Container:\n"
    "  --container IMAGE      run the command in this image (default: the experiment's\n"
    "                         environment.image); see docs/containers.md\n"
    "  --container-runtime R  apptainer, enroot, charliecloud or podman (default: site config)\n"
    "  --container-mount M    also mount SRC[:DST][:ro] (repeatable)\n"
    "Other:\n"
    "  --explain              print the plan for every local rank and run nothing\n"
    "  --json                 with --explain: JSON on stdout\n"
    "  --quiet                do not copy the child's output to our stdout/stderr\n"
    "  --help, --version\n";

[[noreturn]] void usage_error(const std::string& message) {
    throw hpsweep::Error(hpsweep::ErrorKind::usage, message);
}

long parse_long(const std::string& text, const std::string& option) {
    char* end = nullptr;
    errno = 0;
    const long value = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0) {
        usage_error(option + " expects an integer, got '" + text + "'");
    }
    return value;
}

hpsweep::GpuAffinity parse_policy(const std::string& text) {
    try {
        return hpsweep::parse_gpu_affinity(text);
    } catch (const hpsweep::Error&) {
        usage_error("--policy '" + text + "': expected closest, none or verbose");
    }
}

hpsweep::launcher::ContainerArguments container_arguments;

hpsweep::launcher::LaunchOptions parse(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    hpsweep::launcher::LaunchOptions o;
    std::optional<long> trial_offset;
    size_t i = 0;
    std::optional<std::string> inline_value;  // from "--name=value"
    auto value = [&](const std::string& option) -> std::string {
        if (inline_value)
            return *std::exchange(inline_value, std::nullopt);
        if (i + 1 >= args.size())
            usage_error(option + " needs a value");
        return args[++i];
    };
    for (; i < args.size(); ++i) {
        std::string arg = args[i];
        inline_value.reset();
        if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            inline_value = arg.substr(eq + 1);
            arg.resize(eq);
        }
        if (arg == "--") {
            ++i;
            break;
        }
        if (arg == "--help" || arg == "-h") {
            std::fputs(usage_text, stdout);
            std::exit(0);
        }
        if (arg == "--version") {
            std::puts("hpsweep-launch " HPSWEEP_VERSION);
            std::exit(0);
        }
        if (arg == "--experiment")
            o.experiment = value(arg);
        else if (arg == "--trial")
            o.trial = parse_long(value(arg), arg);
        else if (arg == "--pack-first")
            o.pack_first = parse_long(value(arg), arg);
        else if (arg == "--pack-count")
            o.pack_count = parse_long(value(arg), arg);
        else if (arg == "--trial-offset")
            trial_offset = parse_long(value(arg), arg);
        else if (arg == "--policy")
            o.policy = parse_policy(value(arg));
        else if (arg == "--gpus-per-task")
            o.gpus_per_task = static_cast<int>(parse_long(value(arg), arg));
        else if (arg == "--gpu-isolation")
            o.gpu_isolation = true;
        else if (arg == "--topology")
            o.topology_file = value(arg);
        else if (arg == "--gpus")
            o.gpus = value(arg);
        else if (arg == "--cpuset")
            o.cpuset = value(arg);
        else if (arg == "--ntasks")
            o.ntasks = static_cast<int>(parse_long(value(arg), arg));
        else if (arg == "--port-range")
            o.ddp.port_range = hpsweep::launcher::parse_port_range(value(arg));
        else if (arg == "--master-addr")
            o.ddp.master_addr = value(arg);
        else if (arg == "--master-port")
            o.ddp.master_port = static_cast<int>(parse_long(value(arg), arg));
        else if (arg == "--container")
            container_arguments.image = value(arg);
        else if (arg == "--container-runtime")
            container_arguments.runtime = value(arg);
        else if (arg == "--container-mount")
            container_arguments.mounts.push_back(value(arg));
        else if (arg == "--explain")
            o.explain = true;
        else if (arg == "--json")
            o.json = true;
        else if (arg == "--quiet")
            o.echo = false;
        else if (arg.rfind("-", 0) == 0)
            usage_error("unknown option '" + arg + "' (see --help)");
        else
            break;  // first word of the command
    }
    for (; i < args.size(); ++i) o.command.push_back(args[i]);
    if (o.gpus_per_task < 0)
        usage_error("--gpus-per-task must be >= 0");
    if (o.ntasks && *o.ntasks < 1)
        usage_error("--ntasks must be >= 1");
    if (o.pack_first && (!o.experiment || o.trial || o.pack_count < 1)) {
        usage_error("--pack-first needs --experiment and --pack-count N >= 1, and no --trial");
    }
    if (o.experiment && !o.trial && !o.pack_first) {
        const char* task = std::getenv("SLURM_ARRAY_TASK_ID");
        if (!task || !*task) {
            usage_error(
                "--experiment needs --trial ID (or run inside a job array: "
                "$SLURM_ARRAY_TASK_ID + --trial-offset)");
        }
        o.trial = parse_long(task, "SLURM_ARRAY_TASK_ID") + trial_offset.value_or(0);
    }
    if (o.trial && !o.experiment)
        usage_error("--trial needs --experiment");
    if (o.experiment && !o.command.empty()) {
        usage_error(
            "give either --experiment/--trial (the command is the trial's argv in "
            "trials.jsonl) or a command after --, not both");
    }
    if (!o.explain && !o.experiment && o.command.empty()) {
        usage_error("nothing to run: give -- COMMAND, --experiment EXP --trial ID, or --explain");
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        auto options = parse(argc, argv);
        if (options.pack_first)
            return hpsweep::launcher::run_packed_task(options);
        std::optional<hpsweep::searcher::ExperimentConfig> config;
        hpsweep::launcher::StagedDatastores datastores;  // leases held until the child ends
        std::optional<hpsweep::launcher::StagedSnapshot> snapshot;
        if (options.experiment && !options.explain) {
            // The snapshot may move the working directory into its copy.
            options.experiment = std::filesystem::absolute(*options.experiment);
            config = hpsweep::launcher::load_trial_config(*options.experiment);
            if (config) {
                hpsweep::launcher::export_config_environment(*config);
                datastores = hpsweep::launcher::stage_trial_datastores(config->datastores);
                hpsweep::launcher::choose_trial_configuration(*config, *options.experiment,
                                                              *options.trial);
            }
            snapshot = hpsweep::launcher::stage_trial_snapshot(*options.experiment);
        }
        if (!options.explain)
            options.container = hpsweep::launcher::trial_container(
                container_arguments, config ? &*config : nullptr);
        auto hooks = hpsweep::launcher::trial_hooks(std::move(config));
        if (snapshot) {
            hooks.rewrite_command = [&snapshot](std::vector<std::string> command) {
                return snapshot->rewrite(std::move(command));
            };
        }
        return hpsweep::launcher::launch(options, std::move(hooks));
    } catch (const hpsweep::Error& e) {
        std::fprintf(stderr, "hpsweep-launch: error: %s\n", e.what());
        if (e.kind() == hpsweep::ErrorKind::usage) {
            std::fputs("Run 'hpsweep-launch --help' for usage.\n", stderr);
        }
        return e.exit_code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hpsweep-launch: internal error: %s\n", e.what());
        return hpsweep::exit_code_for(hpsweep::ErrorKind::internal);
    }
}
