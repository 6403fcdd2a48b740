#include "packing.hpp"

#include <fmt/format.h>

#include <charconv>

#include "experiment_arrays.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "option_values.hpp"

namespace hpsweep::cli {

void add_pack_options(CLI::App* command, std::string& pack, int& trials_per_gpu, int& pack_gpus) {
    command->add_option("--pack", pack,
                        "Trials one array task runs, several at once (N or auto: from --time and "
                        "the site's min_job_seconds); see docs/packing.md");
    add_integer_option(command, "--trials-per-gpu", trials_per_gpu,
                       "Packed trials sharing one GPU (MPS when the node runs it)", 1);
    add_integer_option(command, "--pack-gpus", pack_gpus, "GPUs one packed task allocates (1)", 0);
}

void set_pack_options(searcher::ExperimentConfig& config, const std::string& pack,
                      int trials_per_gpu, int pack_gpus) {
    auto& r = config.resources;
    if (pack == "auto") {
        r.trials_per_task_auto = true;
    } else if (!pack.empty()) {
        long n = 0;
        const auto [p, ec] = std::from_chars(pack.data(), pack.data() + pack.size(), n);
        if (ec != std::errc() || p != pack.data() + pack.size() || n < 1) {
            throw Error(ErrorKind::usage,
                        fmt::format("--pack must be an integer >= 1 or 'auto', got '{}'", pack));
        }
        r.trials_per_task = n;
    }
    r.trials_per_gpu = trials_per_gpu;
    r.gpus_per_task = pack_gpus;
    config.locations["resources.trials_per_task"] = "--pack";
    config.locations["resources.trials_per_gpu"] = "--trials-per-gpu";
    config.locations["resources.gpus_per_task"] = "--pack-gpus";
}

void request_packed_cancel(const ExperimentDir& dir, long trial) {
    std::error_code ec;
    std::filesystem::create_directories(dir.trial_dir(trial), ec);
    if (ec) {
        throw Error(ErrorKind::io,
                    "cannot create " + dir.trial_dir(trial).string() + ": " + ec.message());
    }
    write_file_atomic(dir.trial_cancel_request(trial), sweep::now_iso8601() + "\n");
}

}  // namespace hpsweep::cli
