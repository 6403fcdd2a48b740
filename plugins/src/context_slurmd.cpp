// slurmd context: the node daemon itself, as root. Nothing of hpsweep runs in slurmd; it
// only reads plugstack.conf so that a mistake there is in the slurmd log at start-up. It
// never fails: an error here would stop slurmd, and with it every job on the node.

#include "contexts.hpp"
#include "plugin_state.hpp"

namespace hpsweep::plugin {

int slurmd_init(spank_t, int argc, char** argv) {
    parse_site_config(argc, argv);  // logs the error itself
    return 0;
}

}  // namespace hpsweep::plugin
