// Slurm hostlists and the rest of the rendezvous environment (launcher/lib/src/ddp_env.cpp):
// expand_hostlist ("n[1-3,7],gpu[01-04]"), expand_tasks_per_node ("2(x3),1") and
// ddp_from_environment, which the SPANK plugin runs as root in slurmstepd on a job's
// environment (context_remote.cpp) and hpsweep-launch runs in every task.
//
// Input: the whole text is expanded as a hostlist and as a tasks-per-node list; then its
// lines of the form NAME=VALUE become an environment for ddp_from_environment.
#include <climits>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "hpsweep/launcher/ddp_env.hpp"

using namespace hpsweep;
using namespace hpsweep::launcher;

namespace {

// A bound on what one hostlist may expand to: a job never has more nodes than this, and
// an expansion must not be a way to exhaust memory.
constexpr std::size_t max_hosts = 1'000'000;

void check_hosts(const std::vector<std::string>& hosts) {
    if (hosts.empty())
        fuzz::finding("a hostlist expanded to no hosts without an error");
    if (hosts.size() > max_hosts)
        fuzz::finding("a hostlist expanded to %zu hosts (limit %zu)", hosts.size(), max_hosts);
    for (const auto& h : hosts) {
        if (h.empty() || h.find_first_of(",[]") != std::string::npos)
            fuzz::finding("expanded host name '%s' is empty or still has , [ or ]", h.c_str());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input = fuzz::as_text(data, size);
    fuzz::only_bad_input([&] { check_hosts(expand_hostlist(input)); });
    fuzz::only_bad_input([&] {
        const auto counts = expand_tasks_per_node(input);
        if (counts.size() > max_hosts)
            fuzz::finding("tasks-per-node expanded to %zu nodes", counts.size());
        for (int c : counts) {
            if (c < 0)
                fuzz::finding("negative tasks-per-node count %d accepted", c);
        }
    });

    Environment env;
    std::size_t start = 0;
    while (start < input.size()) {
        auto end = input.find('\n', start);
        if (end == std::string_view::npos)
            end = input.size();
        const std::string_view line = input.substr(start, end - start);
        if (const auto eq = line.find('='); eq != std::string_view::npos && eq > 0)
            env.insert_or_assign(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
        start = end + 1;
    }
    if (env.empty())
        return 0;
    fuzz::only_bad_input([&] {
        const DdpEnv ddp = ddp_from_environment(env);
        if (ddp.rank < 0 || ddp.rank >= ddp.world_size || ddp.local_rank < 0 ||
            ddp.local_rank >= ddp.local_world_size || ddp.master_addr.empty() ||
            ddp.master_port < 20000 || ddp.master_port > 29999) {
            fuzz::finding(
                "inconsistent DDP environment accepted: rank %d/%d local %d/%d "
                "addr '%s' port %d",
                ddp.rank, ddp.world_size, ddp.local_rank, ddp.local_world_size,
                ddp.master_addr.c_str(), ddp.master_port);
        }
        (void)ddp.variables();
    });
    return 0;
}
