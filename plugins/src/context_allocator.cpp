// Allocator context: sbatch and salloc, running as the user. Options are registered with
// spank_option_register() here (Slurm 22.05's sbatch/salloc ignore a static
// spank_options table), so `#SBATCH --gpu-affinity=...` lines work and a bad value is
// refused before the job is queued.

#include "contexts.hpp"
#include "plugin_state.hpp"

namespace hpsweep::plugin {

int allocator_init(spank_t sp, int argc, char** argv) {
    parse_site_config(argc, argv);
    register_options(sp);
    return 0;
}

int allocator_init_post_opt(spank_t, int, char**) {
    return check_submission();
}

}  // namespace hpsweep::plugin
