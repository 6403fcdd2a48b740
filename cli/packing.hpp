#pragma once
// Packing in the CLI (docs/packing.md): the options of `hpsweep run` (--pack N|auto,
// --trials-per-gpu K, --pack-gpus G) and how a trial of a packed task is cancelled alone.

#include <CLI/CLI.hpp>

#include <string>

#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/searcher/config.hpp"

namespace hpsweep::cli {

void add_pack_options(CLI::App* command, std::string& pack, int& trials_per_gpu, int& pack_gpus);

// Throws Error(usage) naming --pack when `pack` is neither empty, "auto" nor an integer >= 1.
void set_pack_options(searcher::ExperimentConfig& config, const std::string& pack,
                      int trials_per_gpu, int pack_gpus);

// Asks the packed task running `trial` to end that trial alone: creates
// trials/<id>/cancel-requested, which the pack supervisor checks once a second.
void request_packed_cancel(const ExperimentDir& dir, long trial);

}  // namespace hpsweep::cli
