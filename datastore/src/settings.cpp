#include "hpsweep/datastore/settings.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>

#include "hpsweep/error.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::datastore {

namespace {
std::uint64_t size_value(std::string_view text, const std::string& where) {
    try {
        return parse_size(text);
    } catch (const Error& e) {
        throw Error(ErrorKind::config, where + ": cache_max: " + e.what());
    }
}
}  // namespace

void apply_site_config(Settings& settings, const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT) {
            return;
        }
        throw_errno("cannot read site config " + path.string());
    }
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        const auto hash = line.find('#');
        const std::string_view content = trim(std::string_view(line).substr(0, hash));
        if (content.empty()) {
            continue;
        }
        const auto eq = content.find('=');
        const std::string where_line = path.string() + ":" + std::to_string(number);
        if (eq == std::string_view::npos) {
            const auto col = line.find_first_not_of(" \t") + 1;
            throw Error(ErrorKind::config,
                        where_line + ":" + std::to_string(col) + ": expected 'key = value'");
        }
        const std::string key(trim(content.substr(0, eq)));
        const std::string value(trim(content.substr(eq + 1)));
        const std::string where = where_line + ":" + std::to_string(line.find(value) + 1);
        if (key == "datastore_root" || key == "cache_dir") {
            if (value.empty() || value.front() != '/') {
                throw Error(ErrorKind::config, where + ": " + key + " must be an absolute path");
            }
            (key == "datastore_root" ? settings.datastore_root : settings.cache_dir) = value;
        } else if (key == "cache_max") {
            settings.cache_max = size_value(value, where);
        }
    }
}

Settings load_settings() {
    Settings settings;
    const char* site = std::getenv("HPSWEEP_SITE_CONFIG");
    apply_site_config(settings, site != nullptr && *site != '\0' ? site : default_site_config);
    if (const char* root = std::getenv("HPSWEEP_DATASTORE_ROOT");
        root != nullptr && *root != '\0') {
        settings.datastore_root = root;
    }
    if (const char* dir = std::getenv("HPSWEEP_CACHE_DIR"); dir != nullptr && *dir != '\0') {
        settings.cache_dir = dir;
    }
    if (const char* max = std::getenv("HPSWEEP_CACHE_MAX"); max != nullptr && *max != '\0') {
        settings.cache_max = size_value(max, "HPSWEEP_CACHE_MAX");
    }
    return settings;
}

}  // namespace hpsweep::datastore
