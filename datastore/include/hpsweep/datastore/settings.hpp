#pragma once
// Where the store and the cache are. Precedence: built-in defaults, then the site config
// file, then the environment (HPSWEEP_DATASTORE_ROOT, HPSWEEP_CACHE_DIR,
// HPSWEEP_CACHE_MAX), so a user or a test can point hpsweep anywhere. The SPANK plugin
// builds the same struct from its plugstack.conf arguments instead.

#include <cstdint>
#include <filesystem>
#include <string>

#include "hpsweep/datastore/cache.hpp"
#include "hpsweep/datastore/store.hpp"

namespace hpsweep::datastore {

inline constexpr const char* default_datastore_root = "/var/lib/hpsweep/datastores";
inline constexpr const char* default_cache_dir = "/var/cache/hpsweep";
inline constexpr const char* default_site_config = "/etc/hpsweep/hpsweep.conf";

struct Settings {
    std::filesystem::path datastore_root = default_datastore_root;
    std::filesystem::path cache_dir = default_cache_dir;
    std::uint64_t cache_max = 0;  // bytes; 0: no limit but the disk

    CacheConfig cache() const { return CacheConfig{cache_dir, cache_max}; }
    Store store() const { return Store(datastore_root); }
};

// Reads `key = value` lines (# comments) from `path`: datastore_root, cache_dir, cache_max
// (a size like 500G). Other keys belong to other parts of hpsweep and are skipped; a bad
// value throws Error(config) with file:line:col. A missing file is fine.
void apply_site_config(Settings& settings, const std::filesystem::path& path);
// Defaults, then the site config ($HPSWEEP_SITE_CONFIG or /etc/hpsweep/hpsweep.conf),
// then the environment.
Settings load_settings();

}  // namespace hpsweep::datastore
