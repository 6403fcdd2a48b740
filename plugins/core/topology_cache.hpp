#pragma once
// The node's hwloc topology for the plugin, through a cache only root can write.
//
// Discovering the live topology (PCI, GPUs, HCAs, NICs from sysfs) costs tens of
// milliseconds per step; loading an XML export of it costs about two. slurmstepd runs as
// root, so the export must be something no user can plant, swap or steer:
//   - it lives in <cache_dir>/topology, cache_dir from the site configuration only;
//   - that directory is reached from "/" without following any link, and every directory
//     on the way is root's and writable by nobody else (or sticky, like /tmp): no user can
//     move a directory of root's under it; the last one must be root's and 0755 or stricter;
//   - the file is opened relative to that directory's fd without following links, and
//     what was opened is checked on the fd: a regular file of root's with one link, not
//     group/other writable, at most topology_export_max_bytes;
//   - its name is the hash of what the topology depends on (topology_state_key), so a
//     node whose hardware, kernel or hwloc changed never reads an old export;
//   - it is written whole under an OFD lock: a temporary file, then rename.
// Anything wrong with the cache is never an error of the job: the topology is then
// discovered live, and `how` says why the cache was not used.
//
// Slurm-free; unit-tested in tests/unit/plugins/topology_cache.tests.cpp, attacked by a
// second user in tests/hardening/security_topology_cache.sh.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "hpsweep/launcher/topology.hpp"

namespace hpsweep::plugin {

inline constexpr std::size_t topology_export_max_bytes = 16u << 20;  // real ones are < 1 MiB
inline constexpr const char* topology_cache_subdir = "topology";

// 32 hex digits: a hash of the hwloc version (built and loaded), the kernel's boot id, the
// online CPUs and NUMA nodes, and the names of the PCI devices, network interfaces,
// InfiniBand devices and DRM devices. `system_root` is "/" except in tests. Throws
// Error(io) when the boot id cannot be read (no key is safer than a weak one).
std::string topology_state_key(const std::filesystem::path& system_root = "/");

struct NodeTopology {
    launcher::Topology topology;
    // "cache hit <file>", "discovered live, cached as <file>", "discovered live (cache not
    // used: <why>)".
    std::string how;
};

// The live topology of this node through <cache_dir>/topology (see top). Reads and writes
// the cache only when running as root; otherwise (and when cache_dir is empty) it is the
// plain live discovery. Throws only what Topology::load_live throws.
NodeTopology load_node_topology(const std::filesystem::path& cache_dir,
                                const std::filesystem::path& system_root = "/");

}  // namespace hpsweep::plugin
