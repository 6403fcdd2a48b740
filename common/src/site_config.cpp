#include "hpsweep/site_config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep {
namespace {

[[noreturn]] void invalid_value(std::string_view key, std::string_view value,
                                const std::string& why) {
    throw Error(ErrorKind::config,
                "invalid value '" + std::string(value) + "' for " + std::string(key) + ": " + why);
}

std::filesystem::path parse_absolute_path(std::string_view key, std::string_view value) {
    if (value.empty() || value.front() != '/') {
        invalid_value(key, value, "expected an absolute path");
    }
    // Any whitespace or control character: the site file trims what isspace() calls space,
    // so a path ending in '\v' or '\f' would not survive `hpsweep doctor` output read back as
    // a site file.
    for (const char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f || byte == ' ') {
            invalid_value(key, value,
                          "paths with whitespace or control characters are not supported");
        }
    }
    return std::filesystem::path(value).lexically_normal();
}

// "~/DIR" or "/DIR", where "%u" is the only '%' form and no component is "..": the value
// names a directory per user, and a user name never climbs out of it.
std::string parse_experiments_dir(std::string_view key, std::string_view value) {
    const bool in_home = value.starts_with("~/");
    const std::string absolute = in_home ? std::string(value.substr(1)) : std::string(value);
    const std::filesystem::path path = parse_absolute_path(key, absolute);
    for (const auto& component : std::filesystem::path(absolute)) {
        if (component == "..")
            invalid_value(key, value, "'..' is not allowed");
    }
    for (std::size_t at = value.find('%'); at != std::string_view::npos;
         at = value.find('%', at + 2)) {
        if (at + 1 >= value.size() || value[at + 1] != 'u')
            invalid_value(key, value, "'%u' (the user name) is the only '%' form");
    }
    return in_home ? "~" + path.string() : path.string();
}

std::string format_size(unsigned long long bytes) {
    static constexpr std::pair<char, unsigned long long> units[] = {
        {'T', 1ULL << 40}, {'G', 1ULL << 30}, {'M', 1ULL << 20}, {'K', 1ULL << 10}};
    for (const auto& [suffix, size] : units) {
        if (bytes >= size && bytes % size == 0)
            return std::to_string(bytes / size) + suffix;
    }
    return std::to_string(bytes);
}

// A price per hour: "none", or a finite number >= 0 ("2.5").
std::optional<double> parse_rate(std::string_view key, std::string_view value) {
    if (value == "none")
        return std::nullopt;
    double rate = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), rate);
    if (ec != std::errc() || p != value.data() + value.size() || !std::isfinite(rate) || rate < 0)
        invalid_value(key, value, "expected none or a price per hour >= 0 (e.g. 2.5)");
    return rate;
}

std::string rate_text(const std::optional<double>& rate) {
    if (!rate)
        return "none";
    // The shortest text that reads back as the same number: "0.04", not "0.040000000000000001".
    char text[64];
    for (const int digits : {15, 17}) {
        std::snprintf(text, sizeof text, "%.*g", digits, *rate);
        if (std::strtod(text, nullptr) == *rate)
            break;
    }
    return text;
}

std::string known_keys_text() {
    std::vector<std::string> names;
    for (const auto& key : site_config_keys()) names.emplace_back(key.name);
    return join(names, ", ");
}

bool is_known_key(std::string_view key) {
    for (const auto& k : site_config_keys()) {
        if (k.name == key)
            return true;
    }
    return false;
}

}  // namespace

GpuAffinity parse_gpu_affinity(std::string_view text) {
    if (text == "closest")
        return GpuAffinity::closest;
    if (text == "none")
        return GpuAffinity::none;
    if (text == "verbose")
        return GpuAffinity::verbose;
    throw Error(ErrorKind::config, "invalid GPU affinity '" + std::string(text) +
                                       "' (expected closest, none or verbose)");
}

const char* to_string(GpuAffinity affinity) noexcept {
    switch (affinity) {
        case GpuAffinity::closest:
            return "closest";
        case GpuAffinity::none:
            return "none";
        case GpuAffinity::verbose:
            return "verbose";
    }
    return "none";
}

PortRange parse_port_range(std::string_view text) {
    const auto dash = text.find('-');
    auto parse_port = [&](std::string_view part) -> unsigned {
        unsigned value = 0;
        const auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
        if (part.empty() || ec != std::errc() || ptr != part.data() + part.size()) {
            throw Error(ErrorKind::config,
                        "invalid port range '" + std::string(text) + "' (expected FIRST-LAST)");
        }
        return value;
    };
    if (dash == std::string_view::npos) {
        throw Error(ErrorKind::config,
                    "invalid port range '" + std::string(text) + "' (expected FIRST-LAST)");
    }
    PortRange range{parse_port(text.substr(0, dash)), parse_port(text.substr(dash + 1))};
    if (range.first < 1024 || range.last > 65535 || range.first > range.last) {
        throw Error(ErrorKind::config, "invalid port range '" + std::string(text) +
                                           "' (need 1024 <= FIRST <= LAST <= 65535)");
    }
    return range;
}

bool is_container_runtime_name(std::string_view name) noexcept {
    return name == "apptainer" || name == "enroot" || name == "charliecloud" || name == "podman";
}

const std::vector<SiteConfigKey>& site_config_keys() {
    static const std::vector<SiteConfigKey> keys = {
        {"datastore_root", "/var/lib/hpsweep/datastores",
         "shared directory holding every datastore (same path on login and compute nodes)"},
        {"cache_dir", "/var/cache/hpsweep",
         "node-local directory where datastore versions are staged for jobs"},
        {"cache_max", "100G",
         "size the node-local cache is trimmed to (K/M/G/T suffixes, powers of 1024)"},
        {"default_affinity", "none",
         "GPU affinity of a job that gives no --gpu-affinity: closest, none or verbose"},
        {"port_range", "20000-29999", "ports MASTER_PORT is chosen from for DDP rendezvous"},
        {"min_job_seconds", "600",
         "shortest job the site wants: `--pack auto` packs trials until a task lasts this long"},
        {"container_runtime", "auto",
         "runtime of trials in a container image: apptainer, enroot, charliecloud, podman, or "
         "auto (chosen by the image's form)"},
        {"container_cache_dir", "/var/tmp/hpsweep-images",
         "node-local directory where images are unpacked once per user (Charliecloud)"},
        {"container_cache_max", "50G",
         "size each user's unpacked images are trimmed to (least recently used first)"},
        {"container_pyxis", "no",
         "yes: Slurm has the pyxis plugin; experiments' images that name no runtime are given "
         "to srun --container-image and hpsweep-launch runs inside them"},
        {"gpu_hour_cost", "none",
         "price of one GPU-hour for the cost column of `hpsweep results` (none: no column)"},
        {"cpu_hour_cost", "none", "price of one CPU-hour, added to the cost (none: not counted)"},
        {"experiments_dir", "~/hpsweep-runs",
         "where the CLI puts each user's new experiments: ~/... or an absolute path, %u for "
         "the user name"},
    };
    return keys;
}

void set_site_config_key(SiteConfig& config, std::string_view key, std::string_view value) {
    // The shared parsers word their messages without the key; name it here.
    auto named = [&](auto parse) {
        try {
            return parse();
        } catch (const Error& e) {
            throw Error(ErrorKind::config, std::string(key) + ": " + e.what());
        }
    };
    if (key == "datastore_root") {
        config.datastore_root = parse_absolute_path(key, value);
    } else if (key == "cache_dir") {
        config.cache_dir = parse_absolute_path(key, value);
    } else if (key == "cache_max") {
        const auto bytes = named([&] { return parse_size(value); });
        if (bytes == 0)
            invalid_value(key, value, "the cache needs a size above zero");
        config.cache_max_bytes = bytes;
    } else if (key == "default_affinity") {
        config.default_affinity = named([&] { return parse_gpu_affinity(value); });
    } else if (key == "port_range") {
        config.port_range = named([&] { return parse_port_range(value); });
    } else if (key == "min_job_seconds") {
        long seconds = 0;
        const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (ec != std::errc() || p != value.data() + value.size() || seconds < 1)
            invalid_value(key, value, "expected a whole number of seconds >= 1");
        config.min_job_seconds = seconds;
    } else if (key == "container_runtime") {
        if (value != "auto" && !is_container_runtime_name(value)) {
            invalid_value(key, value, "expected auto, apptainer, enroot, charliecloud or podman");
        }
        config.container_runtime = std::string(value);
    } else if (key == "container_cache_dir") {
        config.container_cache_dir = parse_absolute_path(key, value);
    } else if (key == "container_cache_max") {
        const auto bytes = named([&] { return parse_size(value); });
        if (bytes == 0)
            invalid_value(key, value, "the cache needs a size above zero");
        config.container_cache_max_bytes = bytes;
    } else if (key == "container_pyxis") {
        if (value != "yes" && value != "no")
            invalid_value(key, value, "expected yes or no");
        config.container_pyxis = value == "yes";
    } else if (key == "gpu_hour_cost") {
        config.gpu_hour_cost = parse_rate(key, value);
    } else if (key == "cpu_hour_cost") {
        config.cpu_hour_cost = parse_rate(key, value);
    } else if (key == "experiments_dir") {
        config.experiments_dir = parse_experiments_dir(key, value);
    } else {
        throw Error(ErrorKind::config, "unknown key '" + std::string(key) +
                                           "' (known keys: " + known_keys_text() + ")");
    }
}

std::string site_config_value(const SiteConfig& config, std::string_view key) {
    if (key == "datastore_root")
        return config.datastore_root.string();
    if (key == "cache_dir")
        return config.cache_dir.string();
    if (key == "cache_max")
        return format_size(config.cache_max_bytes);
    if (key == "default_affinity")
        return to_string(config.default_affinity);
    if (key == "min_job_seconds")
        return std::to_string(config.min_job_seconds);
    if (key == "port_range") {
        return std::to_string(config.port_range.first) + "-" +
               std::to_string(config.port_range.last);
    }
    if (key == "container_runtime")
        return config.container_runtime;
    if (key == "container_cache_dir")
        return config.container_cache_dir.string();
    if (key == "container_cache_max")
        return format_size(config.container_cache_max_bytes);
    if (key == "container_pyxis")
        return config.container_pyxis ? "yes" : "no";
    if (key == "gpu_hour_cost")
        return rate_text(config.gpu_hour_cost);
    if (key == "cpu_hour_cost")
        return rate_text(config.cpu_hour_cost);
    if (key == "experiments_dir")
        return config.experiments_dir;
    throw Error(ErrorKind::internal, "site_config_value: unknown key '" + std::string(key) + "'");
}

void apply_site_config_text(SiteConfig& config, std::string_view text, std::string_view origin) {
    std::set<std::string, std::less<>> seen;
    size_t line_no = 0;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos)
            end = text.size();
        ++line_no;
        const std::string_view line = text.substr(start, end - start);
        start = end + 1;

        auto where = [&](size_t column) {
            return std::string(origin) + ":" + std::to_string(line_no) + ":" +
                   std::to_string(column) + ": ";
        };
        const size_t first = line.find_first_not_of(" \t\r");
        if (first == std::string_view::npos || line[first] == '#')
            continue;
        const size_t equals = line.find('=', first);
        if (equals == std::string_view::npos) {
            throw Error(ErrorKind::config, where(first + 1) + "expected 'key = value'");
        }
        const std::string_view key = trim(line.substr(first, equals - first));
        std::string_view value = line.substr(equals + 1);
        const size_t value_offset = value.find_first_not_of(" \t");
        const size_t value_column =
            equals + 2 + (value_offset == std::string_view::npos ? 0 : value_offset);
        value = trim(value);
        if (key.empty())
            throw Error(ErrorKind::config, where(first + 1) + "missing key before '='");
        if (!is_known_key(key)) {
            throw Error(ErrorKind::config, where(first + 1) + "unknown key '" + std::string(key) +
                                               "' (known keys: " + known_keys_text() + ")");
        }
        if (!seen.insert(std::string(key)).second) {
            throw Error(ErrorKind::config, where(first + 1) + "key '" + std::string(key) +
                                               "' is given more than once");
        }
        try {
            set_site_config_key(config, key, value);
        } catch (const Error& e) {
            throw Error(ErrorKind::config, where(value_column) + e.what());
        }
        if (end == text.size())
            break;
    }
}

void apply_site_config_file(SiteConfig& config, const std::filesystem::path& file) {
    apply_site_config_text(config, read_file(file), file.string());
    config.loaded_from = file;
}

SiteConfig parse_plugin_args(int argc, const char* const argv[]) {
    std::vector<std::string> args;
    for (int i = 0; i < argc; ++i) args.emplace_back(argv[i] ? argv[i] : "");
    return parse_plugin_args(args);
}

SiteConfig parse_plugin_args(const std::vector<std::string>& args) {
    auto where = [&](size_t index) {
        return "plugstack.conf argument " + std::to_string(index + 1) + " (" + args[index] + "): ";
    };
    // The site file comes first whatever the word order, so that plugstack words override it.
    std::filesystem::path site_file = kDefaultSiteConfigPath;
    bool site_file_explicit = false;
    for (size_t i = 0; i < args.size(); ++i) {
        if (!starts_with(args[i], "config="))
            continue;
        if (site_file_explicit) {
            throw Error(ErrorKind::config, where(i) + "key 'config' is given more than once");
        }
        const std::string value = args[i].substr(std::strlen("config="));
        site_file_explicit = true;
        if (value == "none") {
            site_file.clear();
        } else {
            try {
                site_file = parse_absolute_path("config", value);
            } catch (const Error& e) {
                throw Error(ErrorKind::config, where(i) + e.what());
            }
        }
    }

    SiteConfig config;
    if (!site_file.empty()) {
        std::error_code ec;
        const bool exists = std::filesystem::exists(site_file, ec);
        // An explicit config= must exist; the default file is optional.
        if (exists || site_file_explicit)
            apply_site_config_file(config, site_file);
    }

    std::set<std::string, std::less<>> seen;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& word = args[i];
        if (starts_with(word, "config="))
            continue;
        const size_t equals = word.find('=');
        if (equals == std::string::npos || equals == 0) {
            throw Error(ErrorKind::config, where(i) + "expected key=value");
        }
        const std::string key = word.substr(0, equals);
        if (is_known_key(key) && !seen.insert(key).second) {
            throw Error(ErrorKind::config, where(i) + "key '" + key + "' is given more than once");
        }
        try {
            set_site_config_key(config, key, std::string_view(word).substr(equals + 1));
        } catch (const Error& e) {
            throw Error(ErrorKind::config, where(i) + e.what());
        }
    }
    return config;
}

void apply_env_overrides(SiteConfig& config, const EnvLookup& getenv_fn) {
    static constexpr std::pair<const char*, const char*> overrides[] = {
        {"HPSWEEP_DATASTORE_ROOT", "datastore_root"},
        {"HPSWEEP_CACHE_DIR", "cache_dir"},
        {"HPSWEEP_CACHE_MAX", "cache_max"},
        {"HPSWEEP_CONTAINER_RUNTIME", "container_runtime"},
        {"HPSWEEP_CONTAINER_CACHE_DIR", "container_cache_dir"},
        {"HPSWEEP_CONTAINER_PYXIS", "container_pyxis"},
    };
    for (const auto& [variable, key] : overrides) {
        const char* value = getenv_fn(variable);
        if (value == nullptr || *value == '\0')
            continue;
        try {
            set_site_config_key(config, key, value);
        } catch (const Error& e) {
            throw Error(ErrorKind::config,
                        std::string("environment variable ") + variable + ": " + e.what());
        }
    }
}

SiteConfig load_site_config() {
    return load_site_config([](const char* name) -> const char* { return std::getenv(name); });
}

SiteConfig load_site_config(const EnvLookup& getenv_fn) {
    SiteConfig config;
    const char* explicit_file = getenv_fn("HPSWEEP_SITE_CONFIG");
    if (explicit_file != nullptr && *explicit_file != '\0') {
        // Named on purpose, so it must exist.
        apply_site_config_file(config, explicit_file);
    } else {
        std::error_code ec;
        if (std::filesystem::exists(kDefaultSiteConfigPath, ec)) {
            apply_site_config_file(config, kDefaultSiteConfigPath);
        }
    }
    apply_env_overrides(config, getenv_fn);
    return config;
}

std::string to_config_text(const SiteConfig& config) {
    std::string text;
    for (const auto& key : site_config_keys()) {
        text += std::string(key.name) + " = " + site_config_value(config, key.name) + "\n";
    }
    return text;
}

std::filesystem::path experiments_dir_for(const SiteConfig& config, std::string_view user,
                                          const std::filesystem::path& home) {
    const bool plain_name =
        !user.empty() && user.size() <= 32 &&
        (std::isalnum(static_cast<unsigned char>(user.front())) || user.front() == '_') &&
        std::all_of(user.begin(), user.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
        });
    if (!plain_name) {
        throw Error(ErrorKind::config,
                    "experiments_dir: the user name '" + std::string(user) +
                        "' is not a plain name ([A-Za-z0-9_] first, then [A-Za-z0-9_.-])");
    }
    std::string expanded;
    std::string_view rest = config.experiments_dir;
    if (rest.starts_with("~/")) {
        if (!home.is_absolute()) {
            throw Error(ErrorKind::config, "experiments_dir '" + config.experiments_dir +
                                               "': the home directory '" + home.string() +
                                               "' is not absolute");
        }
        expanded = home.string();
        rest.remove_prefix(1);
    }
    for (std::size_t at = rest.find("%u"); at != std::string_view::npos; at = rest.find("%u")) {
        expanded.append(rest.substr(0, at)).append(user);
        rest.remove_prefix(at + 2);
    }
    expanded.append(rest);
    return std::filesystem::path(expanded).lexically_normal();
}

}  // namespace hpsweep
