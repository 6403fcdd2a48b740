#include "launch_arguments.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "hpsweep/error.hpp"
#include "option_values.hpp"
#include "unknown_option.hpp"

namespace hpsweep::launcher {
namespace {

const char* const synopsis =
    "hpsweep-launch: the process each Slurm task runs before the training program\n"
    "usage: hpsweep-launch [--experiment EXP [--trial ID | --trial-offset N]] [options]\n"
    "                      [-- COMMAND ARGS...]\n"
    "       hpsweep-launch --explain [--topology FILE] [--gpus LIST] [--cpuset LIST]\n"
    "                      [--ntasks N] [--json] [options]";

[[noreturn]] void usage_error(const std::string& message) {
    throw Error(ErrorKind::usage, message);
}

// The words CLI11 left: "-- COMMAND...", "COMMAND..." or a word that looks like an option
// but is none of ours (refused: it would otherwise be run as the program).
std::vector<std::string> command_from(const CLI::App& app) {
    std::vector<std::string> words = app.remaining();
    if (words.empty())
        return words;
    if (words.front() == "--") {
        words.erase(words.begin());
        return words;
    }
    if (words.front().size() > 1 && words.front().front() == '-') {
        usage_error(cli::unknown_option_message(app, words.front()));
    }
    return words;
}

GpuAffinity policy_from(const std::string& text) {
    try {
        return parse_gpu_affinity(text);
    } catch (const Error&) {
        usage_error("--policy '" + text + "': expected closest, none or verbose");
    }
}

// What no single option can check: which options go together.
void check_combination(LaunchOptions& o, std::optional<long> trial_offset) {
    if (o.pack_first && (!o.experiment || o.trial || o.pack_count < 1))
        usage_error("--pack-first needs --experiment and --pack-count N >= 1, and no --trial");
    if (o.experiment && !o.trial && !o.pack_first) {
        const char* task = std::getenv("SLURM_ARRAY_TASK_ID");
        if (!task || !*task) {
            usage_error(
                "--experiment needs --trial ID (or run inside a job array: "
                "$SLURM_ARRAY_TASK_ID + --trial-offset)");
        }
        char* end = nullptr;
        errno = 0;
        const long task_id = std::strtol(task, &end, 10);
        if (*end != '\0' || errno != 0)
            usage_error(fmt::format("SLURM_ARRAY_TASK_ID expects an integer, got '{}'", task));
        o.trial = task_id + trial_offset.value_or(0);
    }
    if (o.trial && !o.experiment)
        usage_error("--trial needs --experiment");
    if (o.experiment && !o.command.empty()) {
        usage_error(
            "give either --experiment/--trial (the command is the trial's argv in "
            "trials.jsonl) or a command after --, not both");
    }
    if (!o.explain && !o.experiment && o.command.empty())
        usage_error("nothing to run: give -- COMMAND, --experiment EXP --trial ID, or --explain");
}

}  // namespace

LaunchArguments parse_launch_arguments(int argc, char** argv) {
    using cli::add_integer_option;
    LaunchArguments parsed;
    LaunchOptions& o = parsed.options;
    std::optional<long> trial_offset;
    std::optional<std::string> policy, port_range, experiment, topology;
    bool quiet = false;

    CLI::App app{synopsis, "hpsweep-launch"};
    // Everything from the first word that is not an option on is the command (its own flags
    // must not be parsed here); "--" also ends our options.
    app.prefix_command();
    app.set_version_flag("--version", "hpsweep-launch " HPSWEEP_VERSION);

    const std::string experiment_group = "Experiment";
    app.add_option("--experiment", experiment,
                   "Experiment directory (trials.jsonl); the command is the trial's argv")
        ->group(experiment_group);
    add_integer_option(&app, "--trial", o.trial,
                       "Trial id (default: $SLURM_ARRAY_TASK_ID + --trial-offset)", 0)
        ->group(experiment_group);
    add_integer_option(&app, "--trial-offset", trial_offset,
                       "Added to $SLURM_ARRAY_TASK_ID (chunked arrays); default 0", 0)
        ->group(experiment_group);
    add_integer_option(&app, "--pack-first", o.pack_first,
                       "Packed task: run trials ID.. (docs/packing.md)", 0)
        ->group(experiment_group);
    add_integer_option(&app, "--pack-count", o.pack_count,
                       "Packed task: how many trials, several at once", 1)
        ->group(experiment_group);

    const std::string placement_group = "Placement";
    app.add_option("--policy", policy,
                   "closest (default), none, verbose (closest + plan on stderr)")
        ->group(placement_group);
    add_integer_option(&app, "--gpus-per-task", o.gpus_per_task,
                       "GPUs per local rank (default 1; 0 = no GPU binding)", 0)
        ->group(placement_group);
    app.add_flag("--gpu-isolation", o.gpu_isolation,
                 "CUDA_VISIBLE_DEVICES = the rank's GPU(s) only")
        ->group(placement_group);
    app.add_option("--topology", topology,
                   "hwloc XML instead of the live machine (binding is then skipped)")
        ->group(placement_group);
    app.add_option("--gpus", o.gpus, "GPUs of the step (physical indices), instead of Slurm's")
        ->group(placement_group);
    app.add_option("--cpuset", o.cpuset,
                   "Allowed CPUs (e.g. 0-7,16), instead of this process's affinity")
        ->group(placement_group);
    add_integer_option(&app, "--ntasks", o.ntasks,
                       "Local ranks on this node (--explain), instead of Slurm's", 1)
        ->group(placement_group);

    const std::string rendezvous_group = "Rendezvous";
    app.add_option("--port-range", port_range, "MASTER_PORT range A-B (default 20000-29999)")
        ->group(rendezvous_group);
    app.add_option("--master-addr", o.ddp.master_addr, "Override MASTER_ADDR")
        ->group(rendezvous_group);
    add_integer_option(&app, "--master-port", o.ddp.master_port, "Override MASTER_PORT", 1, 65535)
        ->group(rendezvous_group);

    const std::string container_group = "Container";
    app.add_option("--container", parsed.container.image,
                   "Run the command in this image (default: the experiment's environment.image; "
                   "docs/containers.md)")
        ->group(container_group);
    app.add_option("--container-runtime", parsed.container.runtime,
                   "apptainer, enroot, charliecloud or podman (default: site config)")
        ->group(container_group);
    auto* mount = app.add_option("--container-mount", parsed.container.mounts,
                                 "Also mount SRC[:DST][:ro] (repeatable)")
                      ->allow_extra_args(false)  // one mount per occurrence: the command may follow
                      ->group(container_group);
    app.add_flag("--no-container", parsed.container.none,
                 "Run the command as it is: this step already runs in the image (pyxis's srun "
                 "--container-image; hpsweep's batch script passes it)")
        ->excludes("--container")
        ->excludes("--container-runtime")
        ->excludes(mount)
        ->group(container_group);

    app.add_flag("--explain", o.explain, "Print the plan for every local rank and run nothing");
    app.add_flag("--json", o.json, "With --explain: JSON on stdout");
    app.add_flag("--quiet", quiet, "Do not copy the child's output to our stdout/stderr");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        std::exit(app.exit(e));
    } catch (const CLI::CallForVersion& e) {
        std::exit(app.exit(e));
    } catch (const CLI::ParseError& e) {
        usage_error(e.what());
    }
    o.command = command_from(app);
    o.experiment = experiment;
    o.topology_file = topology;
    o.echo = !quiet;
    if (policy)
        o.policy = policy_from(*policy);
    if (port_range)
        o.ddp.port_range = parse_port_range(*port_range);
    check_combination(o, trial_offset);
    return parsed;
}

}  // namespace hpsweep::launcher
