#include "hpsweep/launcher/topology.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::launcher {

// ---------------------------------------------------------------- Bitmap

Bitmap::Bitmap() : bitmap_(hwloc_bitmap_alloc()) {
    if (!bitmap_)
        throw std::bad_alloc();
}
Bitmap::Bitmap(hwloc_const_bitmap_t source)
    : bitmap_(source ? hwloc_bitmap_dup(source) : hwloc_bitmap_alloc()) {
    if (!bitmap_)
        throw std::bad_alloc();
}
Bitmap::Bitmap(const Bitmap& other) : Bitmap(static_cast<hwloc_const_bitmap_t>(other.bitmap_)) {}
Bitmap& Bitmap::operator=(const Bitmap& other) {
    if (this != &other)
        hwloc_bitmap_copy(bitmap_, other.bitmap_);
    return *this;
}
Bitmap::Bitmap(Bitmap&& other) noexcept : bitmap_(std::exchange(other.bitmap_, nullptr)) {}
Bitmap& Bitmap::operator=(Bitmap&& other) noexcept {
    std::swap(bitmap_, other.bitmap_);
    return *this;
}
Bitmap::~Bitmap() {
    if (bitmap_)
        hwloc_bitmap_free(bitmap_);
}

Bitmap Bitmap::parse_list(std::string_view text, std::string_view what) {
    Bitmap b;
    const std::string s(trim(text));
    bool valid = !s.empty();
    for (char c : s) {
        if (!std::isdigit(static_cast<unsigned char>(c)) && c != ',' && c != '-')
            valid = false;
    }
    if (!valid || hwloc_bitmap_list_sscanf(b.bitmap_, s.c_str()) != 0) {
        throw Error(ErrorKind::usage, std::string(what) + " '" + std::string(text) +
                                          "': expected a list like 0-3,8,10-11");
    }
    return b;
}

std::string Bitmap::to_list() const {
    if (!bitmap_ || hwloc_bitmap_iszero(bitmap_))
        return "";
    char* text = nullptr;
    if (hwloc_bitmap_list_asprintf(&text, bitmap_) < 0 || !text)
        throw std::bad_alloc();
    std::string out(text);
    std::free(text);
    return out;
}

std::vector<unsigned> Bitmap::indices() const {
    std::vector<unsigned> out;
    if (!bitmap_)
        return out;
    for (int i = hwloc_bitmap_first(bitmap_); i >= 0; i = hwloc_bitmap_next(bitmap_, i)) {
        out.push_back(static_cast<unsigned>(i));
    }
    return out;
}

bool Bitmap::empty() const noexcept {
    return !bitmap_ || hwloc_bitmap_iszero(bitmap_);
}
int Bitmap::weight() const noexcept {
    return bitmap_ ? hwloc_bitmap_weight(bitmap_) : 0;
}
bool Bitmap::intersects(const Bitmap& other) const noexcept {
    return hwloc_bitmap_intersects(bitmap_, other.bitmap_) != 0;
}
bool Bitmap::includes(const Bitmap& sub) const noexcept {
    return hwloc_bitmap_isincluded(sub.bitmap_, bitmap_) != 0;
}
bool Bitmap::operator==(const Bitmap& other) const noexcept {
    return hwloc_bitmap_isequal(bitmap_, other.bitmap_) != 0;
}
Bitmap& Bitmap::operator|=(const Bitmap& other) {
    hwloc_bitmap_or(bitmap_, bitmap_, other.bitmap_);
    return *this;
}
Bitmap Bitmap::operator&(const Bitmap& other) const {
    Bitmap out;
    hwloc_bitmap_and(out.bitmap_, bitmap_, other.bitmap_);
    return out;
}
Bitmap Bitmap::operator|(const Bitmap& other) const {
    Bitmap out;
    hwloc_bitmap_or(out.bitmap_, bitmap_, other.bitmap_);
    return out;
}

// ---------------------------------------------------------------- Topology

namespace {

// Owns a topology until it is handed to a Topology (early throws never leak it).
struct TopologyDeleter {
    void operator()(hwloc_topology* t) const noexcept { hwloc_topology_destroy(t); }
};
using TopologyHandle = std::unique_ptr<hwloc_topology, TopologyDeleter>;

// Sets an environment variable for the lifetime of the object, unless the user set it.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (std::getenv(name))
            return;
        ::setenv(name, value, 1);
        set_ = true;
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
    ~ScopedEnv() {
        if (set_)
            ::unsetenv(name_);
    }

private:
    const char* name_;
    bool set_ = false;
};

// hwloc dlopens every plugin at the first topology init. The GL plugin (X11, tries the
// display) and the OpenCL one (initialises every ICD, the CUDA driver included) cost tens
// to hundreds of milliseconds and give nothing placement uses. On Linux the core backend
// reads PCI devices from sysfs, so libpciaccess (hwloc_pci) adds nothing but load time and
// allocations it never frees; hwloc's built-in XML code reads and writes our exports, so
// libxml2 is not needed either.
constexpr const char* unused_plugins = "hwloc_gl,hwloc_opencl,hwloc_pci,hwloc_xml_libxml";

TopologyHandle init_topology() {
    const ScopedEnv skip_plugins("HWLOC_PLUGINS_BLACKLIST", unused_plugins);
    hwloc_topology_t raw = nullptr;
    if (hwloc_topology_init(&raw) != 0)
        throw Error(ErrorKind::topology, "hwloc_topology_init failed");
    TopologyHandle handle(raw);
    // Without this, no PCI or OS devices (GPUs, HCAs, NICs) appear at all.
    hwloc_topology_set_io_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_ALL);
    return handle;
}

// hwloc 2.9 trusts an XML file's structure: some malformed topologies crash its import
// (a PU without complete_cpuset under caches: a NULL dereference in
// hwloc_bitmap_compare_first, with either XML parser).
// A file a user names is therefore loaded once in a child process first, and only one
// that loads there is loaded here. The child only calls hwloc and _exit.
void refuse_xml_that_crashes_hwloc(const std::filesystem::path& file) {
    const pid_t pid = ::fork();
    if (pid < 0)
        throw_errno("cannot fork to check the topology file " + file.string());
    if (pid == 0) {
        // A crash here must not run a sanitizer's or a fuzzer's crash handler, nor dump core.
        for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) ::signal(sig, SIG_DFL);
        const struct rlimit no_core {};
        ::setrlimit(RLIMIT_CORE, &no_core);
        int code = 3;  // hwloc refused the file itself: the caller's load says so
        try {
            auto handle = init_topology();
            if (hwloc_topology_set_xml(handle.get(), file.c_str()) == 0 &&
                hwloc_topology_load(handle.get()) == 0) {
                code = 0;
            }
            (void)handle.release();  // exiting anyway
        } catch (...) {
        }
        ::_exit(code);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            throw_errno("cannot wait for the topology check of " + file.string());
    }
    if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3))
        return;
    throw Error(ErrorKind::topology,
                file.string() + ": not a valid hwloc XML topology (hwloc crashed reading it" +
                    (WIFSIGNALED(status) ? ": signal " + std::to_string(WTERMSIG(status)) : "") +
                    ")");
}

// hwloc sizes its bitmaps by the largest index they hold, and a PU or NUMA node without
// os_index gets index 2^32-1: one such object makes hwloc allocate gigabytes (a 512 MiB
// bitmap per copy). No machine has
// a million PUs or NUMA nodes, so a file that asks for one is refused before hwloc reads it.
void refuse_xml_with_huge_indexes(const std::filesystem::path& file) {
    constexpr std::uintmax_t max_file_bytes = 64u << 20;  // real topologies are < 1 MiB
    constexpr unsigned long long max_index = 1u << 20;
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    if (!ec && size > max_file_bytes) {
        throw Error(ErrorKind::topology, file.string() + ": " + std::to_string(size) +
                                             " bytes is too large for a topology file");
    }
    const std::string text = read_file(file);
    const auto refuse = [&](std::size_t at, const std::string& what) {
        const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(at), '\n');
        throw Error(ErrorKind::topology, file.string() + ":" + std::to_string(line) + ": " + what +
                                             " (not a topology hwloc can load within bounds)");
    };
    const auto attribute = [](std::string_view tag,
                              std::string_view name) -> std::optional<std::string_view> {
        for (std::size_t at = tag.find(name); at != std::string_view::npos;
             at = tag.find(name, at + 1)) {
            const std::size_t eq = at + name.size();
            const bool starts_word =
                at == 0 || std::isspace(static_cast<unsigned char>(tag[at - 1]));
            if (!starts_word || eq + 1 >= tag.size() || tag[eq] != '=' ||
                (tag[eq + 1] != '"' && tag[eq + 1] != '\''))
                continue;
            const std::size_t close = tag.find(tag[eq + 1], eq + 2);
            if (close == std::string_view::npos)
                return std::nullopt;
            return tag.substr(eq + 2, close - eq - 2);
        }
        return std::nullopt;
    };
    for (std::size_t at = text.find("<object"); at != std::string::npos;
         at = text.find("<object", at + 1)) {
        const std::size_t end = text.find('>', at);
        const std::string_view tag(text.data() + at,
                                   (end == std::string::npos ? text.size() : end) - at);
        const auto type = attribute(tag, "type");
        const auto os_index = attribute(tag, "os_index");
        if (os_index) {
            unsigned long long index = 0;
            const auto [ptr, error] =
                std::from_chars(os_index->data(), os_index->data() + os_index->size(), index);
            if (error != std::errc() || ptr != os_index->data() + os_index->size() ||
                index >= max_index) {
                refuse(at, "os_index \"" + std::string(*os_index) + "\" is not an index below " +
                               std::to_string(max_index));
            }
        } else if (type && (*type == "PU" || *type == "NUMANode")) {
            refuse(at, "a " + std::string(*type) + " object without os_index");
        }
    }
}

std::string read_first_line(const char* path) {
    try {
        return std::string(trim(read_file(path)));
    } catch (const Error&) {
        return "";
    }
}

}  // namespace

Topology Topology::load_live() {
    auto handle = init_topology();
    // The whole machine, not only what this process's cgroup allows: the export is shared
    // by every job on the node, and each job intersects it with its own CPUs.
    hwloc_topology_set_flags(handle.get(), HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
    if (hwloc_topology_load(handle.get()) != 0) {
        throw_errno("cannot discover this machine's topology (hwloc_topology_load)");
    }
    return Topology(handle.release(), "live");
}

Topology Topology::load_xml(const std::filesystem::path& file) {
    if (!std::filesystem::exists(file)) {
        throw Error(ErrorKind::topology, file.string() + ": no such topology file");
    }
    refuse_xml_with_huge_indexes(file);
    refuse_xml_that_crashes_hwloc(file);
    auto handle = init_topology();
    if (hwloc_topology_set_xml(handle.get(), file.c_str()) != 0 ||
        hwloc_topology_load(handle.get()) != 0) {
        throw Error(ErrorKind::topology, file.string() + ": not a valid hwloc XML topology");
    }
    return Topology(handle.release(), file.string());
}

Topology Topology::load_live_cached(const std::filesystem::path& cache_dir) {
    // The cache is private to the user (a shared writable file could steer other users'
    // binding) and keyed by everything that changes the machine's topology.
    const uid_t uid = ::geteuid();
    const std::filesystem::path dir = cache_dir / ("hpsweep-topology-" + std::to_string(uid));
    std::string boot_id = read_first_line("/proc/sys/kernel/random/boot_id");
    char host[HOST_NAME_MAX + 1] = {};
    ::gethostname(host, sizeof host - 1);
    if (boot_id.empty())
        return load_live();
    const std::filesystem::path file = dir / (std::string(host) + "-" + boot_id + "-" +
                                              std::to_string(HWLOC_API_VERSION) + "-v2.xml");

    auto trusted = [uid](const std::filesystem::path& p, bool directory) {
        struct stat st {};
        if (::lstat(p.c_str(), &st) != 0)
            return false;
        if (st.st_uid != uid || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
            return false;
        return directory ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
    };
    if (trusted(dir, true) && trusted(file, false)) {
        auto handle = init_topology();
        // The export is of this very machine, so binding calls must act on it.
        hwloc_topology_set_flags(handle.get(), HWLOC_TOPOLOGY_FLAG_IS_THISSYSTEM |
                                                   HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
        if (hwloc_topology_set_xml(handle.get(), file.c_str()) == 0 &&
            hwloc_topology_load(handle.get()) == 0) {
            return Topology(handle.release(), "live (cached " + file.string() + ")");
        }
    }
    Topology live = load_live();
    // Best effort: a cache we cannot write only costs time on the next start.
    ::mkdir(dir.c_str(), 0700);
    if (trusted(dir, true)) {
        const std::filesystem::path temp = file.string() + ".tmp." + std::to_string(::getpid());
        if (hwloc_topology_export_xml(live.get(), temp.c_str(), 0) == 0) {
            ::chmod(temp.c_str(), 0600);
            std::error_code ec;
            std::filesystem::rename(temp, file, ec);
            if (ec)
                std::filesystem::remove(temp, ec);
        } else {
            std::error_code ec;
            std::filesystem::remove(temp, ec);
        }
    }
    return live;
}

Topology Topology::load_export_of_this_system(std::string_view xml, std::string source) {
    auto handle = init_topology();
    hwloc_topology_set_flags(
        handle.get(), HWLOC_TOPOLOGY_FLAG_IS_THISSYSTEM | HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
    // hwloc's XML reader wants the terminating NUL inside the length it is given.
    const std::string text(xml);
    if (hwloc_topology_set_xmlbuffer(handle.get(), text.c_str(),
                                     static_cast<int>(text.size() + 1)) != 0 ||
        hwloc_topology_load(handle.get()) != 0) {
        throw Error(ErrorKind::topology, source + ": not a valid hwloc XML topology");
    }
    return Topology(handle.release(), std::move(source));
}

std::string Topology::export_xml() const {
    char* buffer = nullptr;
    int length = 0;
    if (hwloc_topology_export_xmlbuffer(topology_, &buffer, &length, 0) != 0 || !buffer)
        throw_errno("cannot export the topology as XML");
    // length counts the terminating NUL.
    std::string text(buffer, length > 0 ? static_cast<size_t>(length - 1) : 0);
    hwloc_free_xmlbuffer(topology_, buffer);
    return text;
}

Topology::Topology(Topology&& other) noexcept
    : topology_(std::exchange(other.topology_, nullptr)), source_(std::move(other.source_)) {}
Topology& Topology::operator=(Topology&& other) noexcept {
    std::swap(topology_, other.topology_);
    std::swap(source_, other.source_);
    return *this;
}
Topology::~Topology() {
    if (topology_)
        hwloc_topology_destroy(topology_);
}

bool Topology::is_this_system() const noexcept {
    return hwloc_topology_is_thissystem(topology_) != 0;
}
Bitmap Topology::complete_cpuset() const {
    return Bitmap(hwloc_topology_get_complete_cpuset(topology_));
}
Bitmap Topology::allowed_cpuset() const {
    return Bitmap(hwloc_topology_get_allowed_cpuset(topology_));
}

Bitmap Topology::process_cpubind() const {
    Bitmap set;
    if (hwloc_get_cpubind(topology_, set.get(), HWLOC_CPUBIND_PROCESS) != 0) {
        throw_errno("cannot read this process's CPU affinity");
    }
    return set;
}

// ---------------------------------------------------------------- devices

namespace {

std::string busid(hwloc_obj_t pci) {
    if (!pci || pci->type != HWLOC_OBJ_PCI_DEVICE)
        return "";
    char text[32];
    std::snprintf(text, sizeof text, "%04x:%02x:%02x.%01x", pci->attr->pcidev.domain,
                  pci->attr->pcidev.bus, pci->attr->pcidev.dev, pci->attr->pcidev.func);
    return text;
}

hwloc_obj_t pci_parent(hwloc_obj_t osdev) {
    for (hwloc_obj_t p = osdev->parent; p; p = p->parent) {
        if (p->type == HWLOC_OBJ_PCI_DEVICE)
            return p;
        if (!hwloc_obj_type_is_io(p->type))
            break;
    }
    return nullptr;
}

Bitmap locality_of(const Topology& topology, hwloc_obj_t io) {
    hwloc_obj_t ancestor = hwloc_get_non_io_ancestor_obj(topology.get(), io);
    return Bitmap(ancestor ? ancestor->cpuset : nullptr);
}

// NUMA nodes inside the locality; when the device hangs off an object wider than its
// NUMA nodes (the Machine), the ones that overlap it.
Bitmap numa_nodes_of(const Topology& topology, const Bitmap& locality) {
    Bitmap inside;
    Bitmap overlapping;
    for (hwloc_obj_t n = hwloc_get_next_obj_by_type(topology.get(), HWLOC_OBJ_NUMANODE, nullptr); n;
         n = hwloc_get_next_obj_by_type(topology.get(), HWLOC_OBJ_NUMANODE, n)) {
        const Bitmap cpus(n->cpuset);
        if (cpus.empty())
            continue;  // CPU-less memory (HBM, CXL) is never a binding target
        if (locality.includes(cpus))
            hwloc_bitmap_set(inside.get(), n->os_index);
        if (locality.intersects(cpus))
            hwloc_bitmap_set(overlapping.get(), n->os_index);
    }
    return inside.empty() ? overlapping : inside;
}

// "cuda12" -> {"cuda", 12}
std::optional<std::pair<std::string, int>> split_gpu_name(std::string_view name) {
    for (std::string_view prefix : {"cuda", "nvml", "nvidia"}) {
        if (name.substr(0, prefix.size()) != prefix)
            continue;
        const std::string_view digits = name.substr(prefix.size());
        if (digits.empty() || digits.size() > 6 ||
            !std::all_of(digits.begin(), digits.end(),
                         [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
            return std::nullopt;
        }
        return std::make_pair(std::string(prefix), std::stoi(std::string(digits)));
    }
    return std::nullopt;
}

// The OS device type as stored. XML from a newer hwloc can carry values this version's
// enum does not have (nvidia-dgx2.xml has 12, hwloc 3's GPU|COPROC bits), and loading
// such a value as the enum is undefined behaviour: copy the bytes instead.
int osdev_type(hwloc_obj_t osdev) noexcept {
    int raw = 0;
    static_assert(sizeof raw == sizeof osdev->attr->osdev.type);
    std::memcpy(&raw, &osdev->attr->osdev.type, sizeof raw);
    return raw;
}

bool is_osdev(hwloc_obj_t obj, hwloc_obj_osdev_type_t type) noexcept {
    return obj->type == HWLOC_OBJ_OS_DEVICE && osdev_type(obj) == static_cast<int>(type);
}

bool is_gpu_like_osdev(hwloc_obj_t osdev) noexcept {
    const int t = osdev_type(osdev);
    // Types this version cannot name (newer captures) are accepted by name too.
    return t == static_cast<int>(HWLOC_OBJ_OSDEV_COPROC) ||
           t == static_cast<int>(HWLOC_OBJ_OSDEV_GPU) ||
           t > static_cast<int>(HWLOC_OBJ_OSDEV_COPROC);
}

}  // namespace

std::vector<GpuDevice> find_gpus(const Topology& topology) {
    struct Candidate {
        std::map<std::string, int> index_by_prefix;
        std::vector<std::string> names;
        hwloc_obj_t anchor = nullptr;
    };
    std::map<hwloc_obj_t, Candidate> by_pci;
    std::vector<hwloc_obj_t> order;
    for (hwloc_obj_t osdev = hwloc_get_next_osdev(topology.get(), nullptr); osdev;
         osdev = hwloc_get_next_osdev(topology.get(), osdev)) {
        if (!osdev->name || !is_gpu_like_osdev(osdev))
            continue;
        const auto parsed = split_gpu_name(osdev->name);
        if (!parsed)
            continue;
        hwloc_obj_t pci = pci_parent(osdev);
        if (pci) {
            const unsigned class_id = pci->attr->pcidev.class_id;
            if (class_id != 0x0300 && class_id != 0x0302)
                continue;  // VGA or 3D controller
        }
        hwloc_obj_t anchor = pci ? pci : osdev;
        auto [it, inserted] = by_pci.try_emplace(anchor);
        if (inserted)
            order.push_back(anchor);
        it->second.anchor = anchor;
        it->second.names.emplace_back(osdev->name);
        it->second.index_by_prefix.try_emplace(parsed->first, parsed->second);
    }
    if (order.empty()) {
        // No CUDA/NVML OS devices (Debian's hwloc has neither plugin): NVIDIA display and
        // 3D controllers in PCI bus order, which is the order the driver numbers them in.
        for (hwloc_obj_t pci = hwloc_get_next_pcidev(topology.get(), nullptr); pci;
             pci = hwloc_get_next_pcidev(topology.get(), pci)) {
            const unsigned class_id = pci->attr->pcidev.class_id;
            if (pci->attr->pcidev.vendor_id != 0x10de || (class_id != 0x0300 && class_id != 0x0302))
                continue;
            order.push_back(pci);
        }
        std::sort(order.begin(), order.end(),
                  [](hwloc_obj_t a, hwloc_obj_t b) { return busid(a) < busid(b); });
        for (size_t i = 0; i < order.size(); ++i) {
            Candidate c;
            c.anchor = order[i];
            c.index_by_prefix["pci"] = static_cast<int>(i);
            by_pci.emplace(order[i], std::move(c));
        }
    }
    std::vector<GpuDevice> gpus;
    for (hwloc_obj_t anchor : order) {
        const Candidate& c = by_pci.at(anchor);
        GpuDevice gpu;
        // The device minor (nvidiaN) is what Slurm's gres File= and SLURM_STEP_GPUS use.
        for (const char* prefix : {"nvidia", "nvml", "cuda", "pci"}) {
            if (auto f = c.index_by_prefix.find(prefix); f != c.index_by_prefix.end()) {
                gpu.index = f->second;
                break;
            }
        }
        gpu.names = c.names;
        std::sort(gpu.names.begin(), gpu.names.end());
        gpu.pci = anchor;
        gpu.pci_busid = busid(anchor);
        gpu.locality = locality_of(topology, anchor);
        gpu.numa_nodes = numa_nodes_of(topology, gpu.locality);
        gpus.push_back(std::move(gpu));
    }
    std::sort(gpus.begin(), gpus.end(), [](const GpuDevice& a, const GpuDevice& b) {
        return a.index != b.index ? a.index < b.index : a.pci_busid < b.pci_busid;
    });
    return gpus;
}

std::vector<HcaDevice> find_hcas(const Topology& topology) {
    std::vector<HcaDevice> hcas;
    for (hwloc_obj_t osdev = hwloc_get_next_osdev(topology.get(), nullptr); osdev;
         osdev = hwloc_get_next_osdev(topology.get(), osdev)) {
        if (!is_osdev(osdev, HWLOC_OBJ_OSDEV_OPENFABRICS) || !osdev->name)
            continue;
        HcaDevice hca;
        hca.name = osdev->name;
        for (int port = 1; port <= 8; ++port) {
            const std::string key = "Port" + std::to_string(port) + "State";
            const char* state = hwloc_obj_get_info_by_name(osdev, key.c_str());
            if (state && std::string_view(state) == "4") {  // IB_PORT_ACTIVE
                hca.port = port;
                break;
            }
        }
        hwloc_obj_t pci = pci_parent(osdev);
        hca.pci = pci ? pci : osdev;
        hca.pci_busid = busid(pci);
        hca.locality = locality_of(topology, hca.pci);
        hcas.push_back(std::move(hca));
    }
    std::sort(hcas.begin(), hcas.end(),
              [](const HcaDevice& a, const HcaDevice& b) { return a.name < b.name; });
    return hcas;
}

std::vector<NetworkInterface> find_network_interfaces(const Topology& topology) {
    std::vector<NetworkInterface> nics;
    for (hwloc_obj_t osdev = hwloc_get_next_osdev(topology.get(), nullptr); osdev;
         osdev = hwloc_get_next_osdev(topology.get(), osdev)) {
        if (!is_osdev(osdev, HWLOC_OBJ_OSDEV_NETWORK) || !osdev->name)
            continue;
        NetworkInterface nic;
        nic.name = osdev->name;
        hwloc_obj_t pci = pci_parent(osdev);
        nic.pci = pci ? pci : osdev;
        nic.pci_busid = busid(pci);
        bool under_hca = false;
        if (pci) {
            for (hwloc_obj_t c = pci->io_first_child; c; c = c->next_sibling) {
                if (is_osdev(c, HWLOC_OBJ_OSDEV_OPENFABRICS)) {
                    under_hca = true;
                }
            }
        }
        nic.infiniband = under_hca || nic.name.starts_with("ib");
        nics.push_back(std::move(nic));
    }
    return nics;
}

int pci_tree_distance(hwloc_obj_t a, hwloc_obj_t b) noexcept {
    if (!a || !b)
        return INT_MAX / 2;
    // Depth of every ancestor of a (including a itself), then walk up from b.
    std::vector<hwloc_obj_t> chain;
    for (hwloc_obj_t p = a; p; p = p->parent) chain.push_back(p);
    int up_from_b = 0;
    for (hwloc_obj_t p = b; p; p = p->parent, ++up_from_b) {
        const auto it = std::find(chain.begin(), chain.end(), p);
        if (it != chain.end())
            return static_cast<int>(it - chain.begin()) + up_from_b;
    }
    return INT_MAX / 2;
}

}  // namespace hpsweep::launcher
