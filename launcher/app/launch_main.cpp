// hpsweep-launch: the process each Slurm task runs before the training program.
//   hpsweep-launch [--experiment EXP [--trial ID]] [options] [-- COMMAND ARGS...]
// It computes the rank's placement and DDP environment, then supervises the command
// (logs, metrics pipe, signal forwarding) and exits with the command's exit code.
// All logic lives in hpsweep::launcher; launch_arguments.cpp parses the arguments.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hpsweep/error.hpp"
#include "hpsweep/launcher/launch.hpp"
#include "launch_arguments.hpp"
#include "packed_task.hpp"
#include "trial_container.hpp"
#include "trial_launch.hpp"

int main(int argc, char** argv) {
    try {
        auto [options, container_arguments] = hpsweep::launcher::parse_launch_arguments(argc, argv);
        if (options.pack_first)
            return hpsweep::launcher::run_packed_task(options, container_arguments);
        hpsweep::launcher::ExperimentSetup setup;  // its leases are held until the child ends
        if (options.experiment && !options.explain) {
            // The snapshot may move the working directory into its copy.
            options.experiment = std::filesystem::absolute(*options.experiment);
            setup = hpsweep::launcher::prepare_experiment(*options.experiment);
        }
        return hpsweep::launcher::launch_trial(setup, std::move(options), container_arguments);
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
