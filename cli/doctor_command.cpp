// `hpsweep doctor`: what an admin wants to know about a node before trusting placement:
// the topology hpsweep-launch sees, its GPUs/HCAs/interfaces, whether NCCL can be loaded
// and whether the SPANK plugin is enabled in Slurm's plugstack. Read-only; --json too.

#include <unistd.h>

#include <climits>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "command_registry.hpp"
#include "container_checks.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/launcher/node_checks.hpp"
#include "hpsweep/launcher/placement.hpp"
#include "hpsweep/launcher/topology.hpp"
#include "hpsweep/process.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::cli {
namespace {

using namespace hpsweep::launcher;

struct DoctorOptions {
    std::string topology_file;
    std::string nccl_library = "libnccl.so.2";
    bool json = false;
};

int count(const Topology& t, hwloc_obj_type_t type) {
    return hwloc_get_nbobjs_by_type(t.get(), type);
}

nlohmann::ordered_json plugstack_json() {
    nlohmann::ordered_json out{{"enabled", nullptr}};
    ProcessResult config;
    try {
        config = run_process({"scontrol", "show", "config"});
    } catch (const Error& e) {
        out["error"] = std::string("scontrol: ") + e.what();
        return out;
    }
    if (!config.ok()) {
        // scontrol explains itself on its last line ("fatal: ..."): keep that one.
        const std::string err(trim(config.err));
        out["error"] = "scontrol show config failed: " + err.substr(err.find_last_of('\n') + 1);
        return out;
    }
    const auto path = plugstack_from_scontrol(config.out);
    if (!path) {
        out["enabled"] = false;
        out["error"] = "PlugStackConfig is not set";
        return out;
    }
    const PlugstackCheck check = check_plugstack(*path);
    out["config"] = *path;
    out["readable"] = check.readable;
    out["enabled"] = check.enabled();
    out["files"] = check.files;
    out["lines"] = check.hpsweep_lines;
    if (!check.readable)
        out["error"] = "cannot read " + *path;
    return out;
}

nlohmann::ordered_json topology_json(const Topology& topology) {
    return {
        {"source", topology.source()},
        {"packages", count(topology, HWLOC_OBJ_PACKAGE)},
        {"numa_nodes", count(topology, HWLOC_OBJ_NUMANODE)},
        {"cores", count(topology, HWLOC_OBJ_CORE)},
        {"pus", count(topology, HWLOC_OBJ_PU)},
        {"allowed_cpus", topology.is_this_system() ? topology.process_cpubind().to_list()
                                                   : topology.complete_cpuset().to_list()},
    };
}

// "gpus", "hcas" and "interfaces": the devices placement works with.
void add_devices_json(nlohmann::ordered_json& out, const Topology& topology) {
    out["gpus"] = nlohmann::ordered_json::array();
    for (const auto& g : find_gpus(topology)) {
        out["gpus"].push_back({{"index", g.index},
                               {"names", g.names},
                               {"pci", g.pci_busid},
                               {"numa_nodes", g.numa_nodes.to_list()},
                               {"cpus", g.locality.to_list()}});
    }
    out["hcas"] = nlohmann::ordered_json::array();
    for (const auto& h : find_hcas(topology)) {
        out["hcas"].push_back(
            {{"name", h.nccl_name()}, {"pci", h.pci_busid}, {"cpus", h.locality.to_list()}});
    }
    out["interfaces"] = nlohmann::ordered_json::array();
    for (const auto& n : find_network_interfaces(topology)) {
        out["interfaces"].push_back(
            {{"name", n.name}, {"pci", n.pci_busid}, {"infiniband", n.infiniband}});
    }
}

nlohmann::ordered_json nccl_json(const NcclProbe& nccl) {
    return {{"found", nccl.found},
            {"library", nccl.library},
            {"path", nccl.path},
            {"version", nccl.version ? nlohmann::ordered_json(*nccl.version)
                                     : nlohmann::ordered_json(nullptr)},
            {"error", nccl.error}};
}

std::string topology_text(const nlohmann::ordered_json& t) {
    return "topology: " + t["source"].get<std::string>() + ": " +
           std::to_string(t["packages"].get<int>()) + " package(s), " +
           std::to_string(t["numa_nodes"].get<int>()) + " NUMA node(s), " +
           std::to_string(t["cores"].get<int>()) + " cores, " +
           std::to_string(t["pus"].get<int>()) +
           " PUs; CPUs allowed here: " + t["allowed_cpus"].get<std::string>() + "\n";
}

std::string devices_text(const nlohmann::ordered_json& out) {
    std::string text =
        "GPUs: " + std::to_string(out["gpus"].size()) +
        (out["gpus"].empty() ? " in the topology (Slurm may still hand out GPU device files)\n"
                             : "\n");
    for (const auto& g : out["gpus"]) {
        text += "  GPU " + std::to_string(g["index"].get<int>()) + " (" +
                join(g["names"].get<std::vector<std::string>>(), ",") + ") PCI " +
                g["pci"].get<std::string>() + ", NUMA " + g["numa_nodes"].get<std::string>() +
                ", local CPUs " + g["cpus"].get<std::string>() + "\n";
    }
    text += "HCAs: " + std::to_string(out["hcas"].size()) + "\n";
    for (const auto& h : out["hcas"]) {
        text += "  " + h["name"].get<std::string>() + " PCI " + h["pci"].get<std::string>() +
                ", local CPUs " + h["cpus"].get<std::string>() + "\n";
    }
    text += "network interfaces:";
    for (const auto& n : out["interfaces"]) {
        text += " " + n["name"].get<std::string>() + (n["infiniband"].get<bool>() ? " (IB)" : "");
    }
    text += out["interfaces"].empty() ? " none in the topology\n" : "\n";
    return text;
}

std::string nccl_text(const NcclProbe& nccl) {
    if (!nccl.found)
        return "NCCL: not found (" + nccl.error + ")\n";
    return "NCCL: " +
           (nccl.version ? *nccl.version : std::string("version unknown (") + nccl.error + ")") +
           " (" + (nccl.path.empty() ? nccl.library : nccl.path) + ")\n";
}

std::string spank_text(const nlohmann::ordered_json& spank) {
    if (spank["enabled"].is_null())
        return "SPANK plugin: unknown (" + spank.value("error", std::string()) + ")\n";
    if (spank["enabled"].get<bool>()) {
        return "SPANK plugin: enabled (" +
               join(spank["lines"].get<std::vector<std::string>>(), "; ") + ")\n";
    }
    return "SPANK plugin: not enabled" +
           (spank.contains("config") ? " in " + spank["config"].get<std::string>()
                                     : std::string()) +
           (spank.contains("error") ? " (" + spank["error"].get<std::string>() + ")"
                                    : std::string()) +
           "; add `required /path/to/hpsweep.so` to plugstack.conf\n";
}

void run_doctor(const DoctorOptions& options) {
    const bool json = options.json || global_options().json;
    const Topology topology = options.topology_file.empty()
                                  ? Topology::load_live()
                                  : Topology::load_xml(options.topology_file);
    char host[HOST_NAME_MAX + 1] = {};
    ::gethostname(host, sizeof host - 1);

    nlohmann::ordered_json out;
    out["host"] = host;
    out["topology"] = topology_json(topology);
    add_devices_json(out, topology);
    const NcclProbe nccl = probe_nccl(options.nccl_library);
    out["nccl"] = nccl_json(nccl);
    out["spank_plugin"] = plugstack_json();
    out["containers"] = container_runtimes_json();

    if (json) {
        std::fputs((out.dump(2) + "\n").c_str(), stdout);
        return;
    }
    std::string text = "host: " + std::string(host) + "\n";
    text += topology_text(out["topology"]);
    text += devices_text(out);
    text += nccl_text(nccl);
    text += spank_text(out["spank_plugin"]);
    text += container_runtimes_text(out["containers"]);
    std::fputs(text.c_str(), stdout);
}

void add_doctor_command(CLI::App& app) {
    auto options = std::make_shared<DoctorOptions>();
    auto* doctor = app.add_subcommand(
        "doctor",
        "Check this node: topology, GPUs, HCAs, NCCL, SPANK plugin, container runtimes");
    doctor
        ->add_option("--topology", options->topology_file,
                     "Inspect an hwloc XML instead of this machine")
        ->check(CLI::ExistingFile);
    doctor->add_option("--nccl-library", options->nccl_library, "NCCL library to dlopen")
        ->capture_default_str();
    doctor->add_flag("--json", options->json, "JSON on stdout");
    doctor->callback([options] { run_doctor(*options); });
}

const CommandRegistrar registrar{"doctor", &add_doctor_command};

}  // namespace
}  // namespace hpsweep::cli
