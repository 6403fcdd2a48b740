#pragma once
// The manifest of one immutable version: every entry with its path, type, mode, size,
// content hash and (for links) target. Stored as versions/<N>/manifest.json.

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hpsweep/datastore/hash.hpp"

namespace hpsweep::datastore {

enum class EntryType { file, directory, symlink };

struct ManifestEntry {
    std::string path;  // normalised, relative to the dataset root
    EntryType type = EntryType::file;
    unsigned mode = 0;  // permission bits of the source (07777), recorded exactly
    std::uint64_t size = 0;
    Digest hash;         // files only
    std::string target;  // symlinks only
    bool operator==(const ManifestEntry&) const = default;
};

struct Manifest {
    static constexpr int format_version = 1;
    std::string dataset;
    std::string dataset_id;
    std::string created;  // ISO-8601 UTC
    std::string creator;  // user name
    uid_t creator_uid = 0;
    std::string source;                  // what it was created from
    std::vector<ManifestEntry> entries;  // sorted by path

    std::uint64_t total_bytes() const;
    std::uint64_t file_count() const;
};

// The name of the object holding a file's content. Objects are read-only; the exec bit
// is part of the name because the version trees hard-link to objects and a hard link
// shares the mode of its inode.
std::string object_name(const ManifestEntry& entry);
// Mode a materialised (read-only) copy gets: 0555 when the source had any x bit, else 0444.
unsigned materialized_file_mode(unsigned source_mode);

nlohmann::json to_json(const Manifest& manifest);
// The manifest file's text: to_json(manifest).dump() and a newline, written directly (a
// version of 5,000 files would otherwise build a JSON tree of 30,000 nodes to print it).
// Throws Error(data) for a string that is not UTF-8, as dump() does.
std::string manifest_text(const Manifest& manifest);
// Throws Error(data) naming `where` when the document is not a valid manifest.
Manifest manifest_from_json(const nlohmann::json& j, const std::string& where);
Manifest read_manifest_file(const std::string& path);

const char* to_string(EntryType type) noexcept;

}  // namespace hpsweep::datastore
