#include "hpsweep/datastore/manifest.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include <unordered_set>

#include "hpsweep/datastore/paths.hpp"
#include "hpsweep/datastore/safe_fs.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/strings.hpp"
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

namespace {

// A JSON string as nlohmann's dump() writes it (UTF-8 kept, control characters escaped).
void append_json_string(std::string& out, const std::string& text) {
    if (invalid_utf8_offset(text) != std::string::npos) {
        throw Error(ErrorKind::data, "manifest: '" + text + "' is not valid UTF-8");
    }
    out.push_back('"');
    for (const char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
                } else {
                    out.push_back(c);
                }
        }
    }
    out.push_back('"');
}

}  // namespace

std::string manifest_text(const Manifest& manifest) {
    // Keys in the order dump() writes them (sorted): the file is the same either way.
    std::string out;
    out.reserve(128 + manifest.entries.size() * 112);
    out += "{\"created\":";
    append_json_string(out, manifest.created);
    out += ",\"creator\":";
    append_json_string(out, manifest.creator);
    out += fmt::format(",\"creator_uid\":{},\"dataset\":", manifest.creator_uid);
    append_json_string(out, manifest.dataset);
    out += ",\"dataset_id\":";
    append_json_string(out, manifest.dataset_id);
    out += ",\"entries\":[";
    bool first = true;
    for (const auto& e : manifest.entries) {
        out += first ? "{\"mode\":" : ",{\"mode\":";
        first = false;
        out += fmt::format("{},\"path\":", e.mode);
        append_json_string(out, e.path);
        switch (e.type) {
            case EntryType::file:
                out += fmt::format(",\"size\":{},\"type\":\"file\",\"xxh3\":\"{}\"}}", e.size,
                                   e.hash.hex());
                break;
            case EntryType::directory:
                out += ",\"type\":\"dir\"}";
                break;
            case EntryType::symlink:
                out += ",\"target\":";
                append_json_string(out, e.target);
                out += ",\"type\":\"symlink\"}";
                break;
        }
    }
    out +=
        fmt::format("],\"format\":{},\"hash\":\"xxh3-128\",\"source\":", Manifest::format_version);
    append_json_string(out, manifest.source);
    out += "}\n";
    return out;
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
