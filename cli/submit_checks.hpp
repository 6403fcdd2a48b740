#pragma once
// Checks made before anything reaches Slurm, for mistakes that would otherwise sit in the
// queue and fail every trial later: an unknown datastore, a partition or account that does
// not exist, a shape no node of the partition can hold. Each throws an Error that says what
// is wrong and what would work; nothing is written or submitted before they pass.

#include <string>
#include <vector>

#include "hpsweep/searcher/slurm_submission.hpp"

namespace hpsweep::cli {

// Every NAME[:VERSION] resolves in the site's datastore for the current user; an unknown
// name gets the nearest existing one ("did you mean 'digits'?"). WHERE names the setting
// ("--datastore", "experiment.yaml") for the message.
void check_datastores(const std::vector<std::string>& references, const std::string& where);

// The partition (or the default one) and the account exist, and REQUEST fits on the
// partition's nodes. A cluster that cannot be asked (no scontrol) is left to Slurm.
void check_request_fits_cluster(const searcher::ResourceRequest& request, int cpus_per_gpu);

}  // namespace hpsweep::cli
