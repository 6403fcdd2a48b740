#pragma once
// hpsweep-launch's command line, parsed with CLI11 like hpsweep's (cli/options): a number out
// of range or a mistyped option is refused with what the option accepts or the nearest one.

#include "hpsweep/launcher/launch.hpp"
#include "trial_container.hpp"

namespace hpsweep::launcher {

struct LaunchArguments {
    LaunchOptions options;
    ContainerArguments container;
};

// Parses ARGV. --help and --version print and exit 0; anything wrong throws Error(usage).
LaunchArguments parse_launch_arguments(int argc, char** argv);

}  // namespace hpsweep::launcher
