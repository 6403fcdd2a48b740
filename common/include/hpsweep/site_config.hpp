#pragma once
// Site-wide configuration shared by the SPANK plugin and the CLI: where datastores live,
// where and how large the node-local cache is, the default GPU affinity, the port range
// for DDP rendezvous. One key table, parsed strictly: defaults are set first, then each
// source in order overrides them; an unknown key or a bad value is an Error(config) that
// names the key and where it was written. No Slurm dependency (the plugin passes its
// plugstack.conf words in; the CLI reads a file and the environment).
//
// Sources, later ones win (docs/admin.md):
//   CLI:    defaults < site file (HPSWEEP_SITE_CONFIG or /etc/hpsweep/hpsweep.conf, if it
//           exists) < HPSWEEP_DATASTORE_ROOT / HPSWEEP_CACHE_DIR / HPSWEEP_CACHE_MAX
//   plugin: defaults < site file (`config=PATH` word, default /etc/hpsweep/hpsweep.conf if it
//           exists, `config=none` for no file) < the other plugstack.conf words.
//           The plugin never reads the environment: a job's user must not be able to point
//           root-run staging at another directory.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hpsweep {

// What the plugin does per task when a job gives no --gpu-affinity.
enum class GpuAffinity {
    closest,  // bind each task to its GPU's nearest cores/memory and set the DDP env
    none,     // no binding, no env
    verbose,  // closest, and print the plan on the task's stderr
};
// "closest" | "none" | "verbose"; throws Error(config) naming the accepted values.
GpuAffinity parse_gpu_affinity(std::string_view text);
const char* to_string(GpuAffinity affinity) noexcept;

struct PortRange {
    unsigned first = 20000;
    unsigned last = 29999;
    friend bool operator==(const PortRange&, const PortRange&) = default;
};
// "FIRST-LAST", 1024 <= FIRST <= LAST <= 65535; throws Error(config).
PortRange parse_port_range(std::string_view text);

inline constexpr const char* kDefaultSiteConfigPath = "/etc/hpsweep/hpsweep.conf";

struct SiteConfig {
    // Node-local cache of staged datastore versions (one per node, shared by all jobs).
    std::filesystem::path cache_dir = "/var/cache/hpsweep";
    // Size the cache is trimmed to by eviction of versions no job is using (bytes).
    unsigned long long cache_max_bytes = 100ULL * 1024 * 1024 * 1024;
    // Shared storage holding every datastore (visible from login and compute nodes).
    std::filesystem::path datastore_root = "/var/lib/hpsweep/datastores";
    GpuAffinity default_affinity = GpuAffinity::none;
    // MASTER_PORT for DDP rendezvous is picked in this range (derived from the job id).
    PortRange port_range;
    // `--pack auto` sizes packed tasks to last at least this long (docs/packing.md).
    long min_job_seconds = 600;
    // Runtime of trials that name a container image: "auto" (by the image's form) or one of
    // apptainer, enroot, charliecloud, podman (launcher/container.hpp).
    std::string container_runtime = "auto";
    // Node-local directory where container images are unpacked, one copy per user and image.
    std::filesystem::path container_cache_dir = "/var/tmp/hpsweep-images";
    unsigned long long container_cache_max_bytes = 50ULL * 1024 * 1024 * 1024;
    // Slurm has NVIDIA's pyxis plugin: an experiment's image that names no runtime is given to
    // srun (--container-image) and hpsweep-launch runs inside it (docs/containers.md).
    bool container_pyxis = false;
    // What one GPU-hour and one CPU-hour cost, in the site's currency; unset: `hpsweep
    // results` and the report show no cost column (docs/user-guide.md "Time and cost").
    std::optional<double> gpu_hour_cost;
    std::optional<double> cpu_hour_cost;
    // Where the CLI puts a user's new experiments: "~/..." (in each user's home) or an
    // absolute path in which "%u" stands for the user name (experiments_dir_for).
    std::string experiments_dir = "~/hpsweep-runs";
    // The site file that was read, empty when none was (for `hpsweep doctor` and logs).
    std::filesystem::path loaded_from;
};

// "apptainer" | "enroot" | "charliecloud" | "podman": the container runtimes hpsweep has an
// adapter for (the site's container_runtime may also be "auto").
bool is_container_runtime_name(std::string_view name) noexcept;

// One row per key, in documentation order; default_text is what `SiteConfig{}` holds.
struct SiteConfigKey {
    std::string_view name;
    std::string_view default_text;
    std::string_view description;
};
const std::vector<SiteConfigKey>& site_config_keys();

// Sets one key from its text form. Throws Error(config) "unknown key 'K'" (listing the
// known keys) or "invalid value 'V' for K: why".
void set_site_config_key(SiteConfig& config, std::string_view key, std::string_view value);

// The text form of a key's current value (the inverse of set_site_config_key).
std::string site_config_value(const SiteConfig& config, std::string_view key);

// Applies a site file's text: `key = value` lines, `#` comments, blank lines. A key given
// twice is an error. Errors are "ORIGIN:LINE:COL: message".
void apply_site_config_text(SiteConfig& config, std::string_view text, std::string_view origin);
// Reads and applies a file; throws Error(io) when it exists but cannot be read.
void apply_site_config_file(SiteConfig& config, const std::filesystem::path& file);

// The plugin's plugstack.conf words (`key=value` each, as Slurm passes argv). Starts from
// the defaults, reads the site file named by `config=` (see top), then applies the other
// words in order. Errors are "plugstack.conf argument N (WORD): message".
SiteConfig parse_plugin_args(int argc, const char* const argv[]);
SiteConfig parse_plugin_args(const std::vector<std::string>& args);

// HPSWEEP_DATASTORE_ROOT, HPSWEEP_CACHE_DIR, HPSWEEP_CACHE_MAX, HPSWEEP_CONTAINER_RUNTIME,
// HPSWEEP_CONTAINER_CACHE_DIR. Errors name the variable.
using EnvLookup = std::function<const char*(const char* name)>;
void apply_env_overrides(SiteConfig& config, const EnvLookup& getenv_fn);

// The site's experiments_dir for USER (name) whose home is HOME: "~/" replaced by HOME,
// "%u" by USER. Throws Error(config) when USER is not a plain user name ([A-Za-z0-9_] first,
// then [A-Za-z0-9_.-], at most 32 characters) or HOME is not absolute.
std::filesystem::path experiments_dir_for(const SiteConfig& config, std::string_view user,
                                          const std::filesystem::path& home);

// The CLI's view: defaults < site file < environment (see top). `getenv_fn` defaults to
// the process environment.
SiteConfig load_site_config();
SiteConfig load_site_config(const EnvLookup& getenv_fn);

// `key = value` lines for every key (what `hpsweep doctor` shows and a valid site file).
std::string to_config_text(const SiteConfig& config);

}  // namespace hpsweep
