#pragma once
// The experiment's datastores (`hpsweep run --datastore`, experiment.yaml `datastores:`),
// staged by hpsweep-launch into this node's cache before the trial starts, so a sweep gets
// node-local data whether or not the site loads the SPANK plugin. Kept out of
// hpsweep::launcher (the plugin links that library and stages on its own).

#include <string>
#include <vector>

#include "hpsweep/datastore/cache.hpp"

namespace hpsweep::launcher {

// Holds every staged version's cache lease: the cache never evicts a version while a
// trial that staged it runs. Keep it alive until the child has exited.
struct StagedDatastores {
    std::vector<datastore::CacheLease> leases;
};

// Stages each reference (NAME[:VER|:TAG]) as the calling user and sets, in this process's
// environment (which launch() hands to the child), HPSWEEP_DATASTORE_<NAME>=<path> and
// HPSWEEP_DATASTORES=<names>. A dataset whose variable is already set (the plugin staged
// it for this job) is left alone. Throws Error (state: not allowed to read; data: corrupt
// object; usage: bad reference) and the trial does not start.
StagedDatastores stage_trial_datastores(const std::vector<std::string>& references);

}  // namespace hpsweep::launcher
