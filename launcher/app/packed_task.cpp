#include "packed_task.hpp"

#include <filesystem>

#include "hpsweep/error.hpp"
#include "hpsweep/launcher/pack_supervisor.hpp"
#include "trial_hooks.hpp"

namespace hpsweep::launcher {

int run_packed_task(const LaunchOptions& options) {
    PackOptions pack;
    pack.experiment = std::filesystem::absolute(*options.experiment);
    pack.first_trial = *options.pack_first;
    pack.count = options.pack_count;
    if (const auto config = load_trial_config(pack.experiment))
        pack.trials_per_gpu = config->resources.trials_per_gpu;
    std::error_code ec;
    pack.launcher = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec)
        throw Error(ErrorKind::io, "cannot find this executable (/proc/self/exe): " + ec.message());
    pack.policy = options.policy;
    pack.topology_file = options.topology_file;
    pack.gpus = options.gpus;
    pack.cpuset = options.cpuset;
    pack.ddp = options.ddp;
    return run_pack(pack);
}

}  // namespace hpsweep::launcher
