#include "hpsweep/datastore/manifest.hpp"

#include <fcntl.h>

#include <unordered_set>

#include "hpsweep/datastore/paths.hpp"
#include "hpsweep/datastore/safe_fs.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "json_fields.hpp"

namespace hpsweep::datastore {
namespace {

// A manifest is a file in the dataset owner's directory, so its owner can rewrite it at
// will; root's cache fill (the SPANK plugin) creates each entry with openat(..., path)
// under the cache. A path like "../../etc/cron.d/x" or a link to "/etc" would make root
// write or link outside the cache, so every manifest is held to the rules `create`
// applies to its input, whoever wrote it: normalised relative paths without "..",
// each path once, and links that stay inside the dataset.
void check_entries(const Manifest& m, const std::string& where) {
    std::unordered_set<std::string_view> seen;
    seen.reserve(m.entries.size());
    std::vector<LinkEntry> links;
    for (const auto& e : m.entries) {
        if (const auto nul = e.path.find('\0'); nul != std::string::npos) {
            // Shown escaped: the raw byte would end the message wherever it is printed.
            throw Error(ErrorKind::data, where + ": entry '" + e.path.substr(0, nul) + "\\0" +
                                             "...' rejected: the name contains a NUL byte");
        }
        if (e.path.empty() || normalize_entry_path(e.path, where) != e.path) {
            throw Error(ErrorKind::data, where + ": entry '" + e.path +
                                             "' rejected: not a normalised relative path");
        }
        if (!seen.insert(e.path).second) {
            throw Error(ErrorKind::data,
                        where + ": entry '" + e.path + "' rejected: it appears twice");
        }
        if (e.type == EntryType::symlink) {
            if (e.target.find('\0') != std::string::npos) {
                throw Error(ErrorKind::data, where + ": symlink '" + e.path +
                                                 "' rejected: its target contains a NUL byte");
            }
            links.push_back({e.path, e.target});
        }
    }
    check_symlinks(links, where);
}

}  // namespace

std::uint64_t Manifest::total_bytes() const {
    std::uint64_t total = 0;
    for (const auto& e : entries) {
        total += e.type == EntryType::file ? e.size : 0;
    }
    return total;
}

std::uint64_t Manifest::file_count() const {
    std::uint64_t count = 0;
    for (const auto& e : entries) {
        count += e.type == EntryType::file ? 1 : 0;
    }
    return count;
}

unsigned materialized_file_mode(unsigned source_mode) {
    return (source_mode & 0111) != 0 ? 0555 : 0444;
}

std::string object_name(const ManifestEntry& entry) {
    return entry.hash.hex() + ((entry.mode & 0111) != 0 ? ".x" : "");
}

const char* to_string(EntryType type) noexcept {
    switch (type) {
        case EntryType::file:
            return "file";
        case EntryType::directory:
            return "dir";
        case EntryType::symlink:
            return "symlink";
    }
    return "file";
}

nlohmann::json to_json(const Manifest& manifest) {
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& e : manifest.entries) {
        nlohmann::json j = {{"path", e.path}, {"type", to_string(e.type)}, {"mode", e.mode}};
        if (e.type == EntryType::file) {
            j["size"] = e.size;
            j["xxh3"] = e.hash.hex();
        } else if (e.type == EntryType::symlink) {
            j["target"] = e.target;
        }
        entries.push_back(std::move(j));
    }
    return {{"format", Manifest::format_version}, {"dataset", manifest.dataset},
            {"dataset_id", manifest.dataset_id},  {"created", manifest.created},
            {"creator", manifest.creator},        {"creator_uid", manifest.creator_uid},
            {"source", manifest.source},          {"hash", "xxh3-128"},
            {"entries", std::move(entries)}};
}

Manifest manifest_from_json(const nlohmann::json& j, const std::string& where) {
    try {
        if (detail::integer_field<int>(j, "format", where) != Manifest::format_version) {
            throw Error(ErrorKind::data,
                        where + ": unsupported manifest format " + j.at("format").dump());
        }
        Manifest m;
        m.dataset = j.at("dataset").get<std::string>();
        m.dataset_id = j.at("dataset_id").get<std::string>();
        m.created = j.at("created").get<std::string>();
        m.creator = j.at("creator").get<std::string>();
        m.creator_uid = detail::integer_field<uid_t>(j, "creator_uid", where);
        m.source = j.value("source", "");
        const auto& entries = j.at("entries");
        m.entries.reserve(entries.size());
        for (const auto& je : entries) {
            ManifestEntry e;
            e.path = je.at("path").get<std::string>();
            const auto type = je.at("type").get<std::string>();
            e.mode = detail::integer_field<unsigned>(je, "mode", where) & 07777;
            if (type == "file") {
                e.type = EntryType::file;
                e.size = detail::integer_field<std::uint64_t>(je, "size", where);
                const auto digest = Digest::from_hex(je.at("xxh3").get<std::string>());
                if (!digest) {
                    throw Error(ErrorKind::data, where + ": bad hash for '" + e.path + "'");
                }
                e.hash = *digest;
            } else if (type == "dir") {
                e.type = EntryType::directory;
            } else if (type == "symlink") {
                e.type = EntryType::symlink;
                e.target = je.at("target").get<std::string>();
            } else {
                throw Error(ErrorKind::data, where + ": unknown entry type '" + type + "'");
            }
            m.entries.push_back(std::move(e));
        }
        check_entries(m, where);
        return m;
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorKind::data, where + ": not a valid manifest: " + e.what());
    }
}

Manifest read_manifest_file(const std::string& path) {
    const std::filesystem::path file(path);
    const UniqueFd parent(
        ::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    if (!parent) {
        throw_errno("cannot open " + file.parent_path().string());
    }
    const std::string text = detail::read_regular_beneath(parent.get(), file.filename().string(),
                                                          detail::manifest_max_bytes, path);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorKind::data, path + ": not valid JSON: " + e.what());
    }
    return manifest_from_json(j, path);
}

}  // namespace hpsweep::datastore
