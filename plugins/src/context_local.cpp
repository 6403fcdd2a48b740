// Local context: srun, running as the user on a login node or inside an allocation.
// Only option handling happens here; the work is done on the nodes (context_remote.cpp).

#include "contexts.hpp"
#include "plugin_state.hpp"

namespace hpsweep::plugin {

int local_init(spank_t sp, int argc, char** argv) {
    parse_site_config(argc, argv);
    register_options(sp);
    return 0;
}

int local_init_post_opt(spank_t, int, char**) {
    return check_submission();
}

}  // namespace hpsweep::plugin
