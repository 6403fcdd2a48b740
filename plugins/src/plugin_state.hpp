#pragma once
// What one process of the plugin knows: the site configuration from plugstack.conf and
// the options the job gave. Slurm loads the plugin once per process (srun, sbatch,
// salloc, slurmd, one slurmstepd per step), so a process-wide object is the state of
// exactly one job step; forked task processes get their own copy.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/site_config.hpp"
#include "spank_api.hpp"

namespace hpsweep::plugin {

struct PluginState {
    // plugstack.conf words, parsed in slurm_spank_init. When they are wrong the plugin
    // does nothing for jobs that did not ask for it, and fails the ones that did.
    std::optional<SiteConfig> site;
    std::string site_error;

    // Options, set by the option callbacks (in srun/sbatch/salloc, and again in
    // slurmstepd from what they forwarded).
    std::optional<GpuAffinity> affinity;
    std::vector<std::string> datastores;   // references, in the order given
    std::optional<std::string> trial;      // EXPDIR as the user wrote it
    std::optional<std::string> container;  // IMAGE as the user wrote it (grammar checked)
    // In srun/sbatch/salloc, every value Slurm delivered for each option, in order, so that
    // two different values from one source are refused (option_sources.hpp).
    std::map<std::string, std::vector<std::string>, std::less<>> delivered_values;
    // In slurmstepd an option value that does not parse (the submit side checks them, so
    // only a hand-made SLURM_SPANK_* variable gets here) is kept as an error for the job.
    std::vector<std::string> option_errors;

    bool requested_anything() const {
        return affinity.has_value() || !datastores.empty() || trial.has_value() ||
               container.has_value();
    }
    // The affinity a task gets: --gpu-affinity, else the site's default_affinity.
    GpuAffinity effective_affinity() const {
        if (affinity)
            return *affinity;
        return site ? site->default_affinity : GpuAffinity::none;
    }
};

PluginState& state();

// slurm_spank_init's common part in every context that takes options: parse plugstack.conf
// words into state().site (an error is logged and kept) and register the options.
void parse_site_config(int argc, char** argv);
void register_options(spank_t sp);

// srun/sbatch/salloc after the options: a job that asked for hpsweep on a site whose
// plugstack.conf is wrong is refused here, with the reason, rather than on the node; so is
// an option given twice with different values. Returns the hook's result.
int check_submission();

}  // namespace hpsweep::plugin
