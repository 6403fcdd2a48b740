#pragma once
// RAII over hwloc and the devices placement cares about: GPUs, InfiniBand/RoCE HCAs and
// network interfaces, each with its PCI device and its locality (the CPUs and NUMA nodes
// of its nearest non-I/O ancestor).

#include <hwloc.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hpsweep::launcher {

// Move-only, copyable-by-dup owner of an hwloc bitmap (cpuset or nodeset).
class Bitmap {
public:
    Bitmap();                                      // empty set
    explicit Bitmap(hwloc_const_bitmap_t source);  // a copy of source (empty when null)
    Bitmap(const Bitmap& other);
    Bitmap& operator=(const Bitmap& other);
    Bitmap(Bitmap&& other) noexcept;
    Bitmap& operator=(Bitmap&& other) noexcept;
    ~Bitmap();

    // "0-3,8,10-11" (hwloc list syntax). Throws Error(usage) naming `what` on bad input.
    static Bitmap parse_list(std::string_view text, std::string_view what = "cpu list");
    std::string to_list() const;  // "" for the empty set
    std::vector<unsigned> indices() const;

    hwloc_bitmap_t get() const noexcept { return bitmap_; }
    bool empty() const noexcept;
    int weight() const noexcept;
    bool intersects(const Bitmap& other) const noexcept;
    bool includes(const Bitmap& sub) const noexcept;  // sub is a subset of *this
    bool operator==(const Bitmap& other) const noexcept;
    Bitmap& operator|=(const Bitmap& other);
    Bitmap operator&(const Bitmap& other) const;
    Bitmap operator|(const Bitmap& other) const;

private:
    hwloc_bitmap_t bitmap_ = nullptr;
};

class Topology {
public:
    // The machine we run on, with I/O devices (PCI, GPUs, HCAs, NICs).
    static Topology load_live();
    // A machine described by an hwloc XML file. Binding calls on it do nothing unless
    // HWLOC_THISSYSTEM=1. Throws Error(topology) naming the file.
    static Topology load_xml(const std::filesystem::path& file);
    // The live machine through a per-node cache: an XML export under `cache_dir` keyed by
    // boot id, uid and hwloc version (PCI discovery costs tens of milliseconds; loading
    // the export costs a few). Falls back to load_live() when the cache cannot be used.
    static Topology load_live_cached(const std::filesystem::path& cache_dir);
    // An export of this very machine held in memory (what export_xml() returned on this
    // node, read back by a caller that checked where it came from): binding calls act on
    // the live machine. Throws Error(topology) naming `source` when hwloc refuses it.
    static Topology load_export_of_this_system(std::string_view xml, std::string source);
    // The topology as hwloc XML (what load_export_of_this_system takes).
    std::string export_xml() const;

    Topology(Topology&& other) noexcept;
    Topology& operator=(Topology&& other) noexcept;
    Topology(const Topology&) = delete;
    Topology& operator=(const Topology&) = delete;
    ~Topology();

    hwloc_topology_t get() const noexcept { return topology_; }
    // True when binding calls act on this machine (live, or HWLOC_THISSYSTEM=1).
    bool is_this_system() const noexcept;
    const std::string& source() const noexcept { return source_; }  // "live", file path...

    Bitmap complete_cpuset() const;
    Bitmap allowed_cpuset() const;  // CPUs this process may use according to hwloc
    // The CPUs of the calling process's current affinity (live topologies only).
    Bitmap process_cpubind() const;

private:
    Topology(hwloc_topology_t topology, std::string source) noexcept
        : topology_(topology), source_(std::move(source)) {}
    hwloc_topology_t topology_ = nullptr;
    std::string source_;
};

struct GpuDevice {
    int index = -1;                  // nvidiaN / nvmlN / cudaN number (the device minor)
    std::vector<std::string> names;  // OS device names under this PCI device ("cuda0", "nvml0")
    std::string pci_busid;           // "0000:34:00.0", empty when unknown
    hwloc_obj_t pci = nullptr;       // the PCI device (or the OS device when no PCI parent)
    Bitmap locality;                 // cpuset of the nearest non-I/O ancestor
    Bitmap numa_nodes;               // nodeset of the NUMA nodes local to it
};

struct HcaDevice {
    std::string name;  // "mlx5_0"
    int port = 1;      // first ACTIVE port (Port<N>State=4), else 1
    std::string pci_busid;
    hwloc_obj_t pci = nullptr;
    Bitmap locality;
    std::string nccl_name() const { return name + ":" + std::to_string(port); }  // "mlx5_0:1"
};

struct NetworkInterface {
    std::string name;  // "eth0", "ib0"
    std::string pci_busid;
    hwloc_obj_t pci = nullptr;
    bool infiniband = false;  // IPoIB (ibN) or under an HCA
};

// GPUs: OS devices named cudaN/nvmlN/nvidiaN (COPROC CUDA, GPU NVML/NVIDIA, or of a type
// this hwloc does not know), merged per PCI device, sorted by index.
std::vector<GpuDevice> find_gpus(const Topology& topology);
std::vector<HcaDevice> find_hcas(const Topology& topology);
std::vector<NetworkInterface> find_network_interfaces(const Topology& topology);

// Hops in the PCI/host-bridge tree between two I/O objects (up to their lowest common
// ancestor and down again); large when either is null.
int pci_tree_distance(hwloc_obj_t a, hwloc_obj_t b) noexcept;

}  // namespace hpsweep::launcher
