#include "hpsweep/datastore/metadata.hpp"

#include <openssl/evp.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "hpsweep/datastore/paths.hpp"
#include "hpsweep/error.hpp"
#include "json_fields.hpp"

namespace hpsweep::datastore {
namespace {

nlohmann::json parse_json(std::string_view text, const std::string& where) {
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorKind::data, where + ": not valid JSON: " + e.what());
    }
}

}  // namespace

bool valid_dataset_id(std::string_view id) {
    if (id.size() < 8 || id.size() > 64) {
        return false;
    }
    for (const char c : id) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            return false;
        }
    }
    return true;
}

DatasetFile parse_dataset_file(std::string_view text, std::string_view expected_name,
                               const std::string& where) {
    const nlohmann::json j = parse_json(text, where);
    DatasetFile d;
    try {
        d.name = j.at("name").get<std::string>();
        d.id = j.at("id").get<std::string>();
        d.owner_uid = detail::integer_field<uid_t>(j, "owner_uid", where);
        d.owner = j.value("owner", std::to_string(d.owner_uid));
        d.private_dataset = j.at("private").get<bool>();
        d.created = j.value("created", "");
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorKind::data, where + ": not a valid dataset file: " + e.what());
    }
    if (d.name != expected_name) {
        // Shown only as far as it is printable: the name is the file owner's to choose.
        throw Error(ErrorKind::data, where + ": the dataset file names another dataset than '" +
                                         std::string(expected_name) + "' (refused)");
    }
    if (!valid_dataset_id(d.id)) {
        throw Error(ErrorKind::data, where + ": the dataset id is not 8-64 of [a-z0-9]");
    }
    return d;
}

int parse_tag_file(std::string_view text, const std::string& where) {
    if (!text.empty() && text.back() == '\n') {
        text.remove_suffix(1);
    }
    if (text.empty() || text.size() > 9 || text.front() == '0') {
        throw Error(ErrorKind::data, where + ": not a version number");
    }
    int version = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') {
            throw Error(ErrorKind::data, where + ": not a version number");
        }
        version = version * 10 + (c - '0');
    }
    return version;
}

Manifest parse_manifest_text(std::string_view text, const std::string& where) {
    return manifest_from_json(parse_json(text, where), where);
}

std::string manifest_content_hash(const Manifest& manifest) {
    // The entries only: the dataset's name, id, creator and dates do not change the bytes a
    // copy holds, and are the file owner's to choose.
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& e : manifest.entries) {
        entries.push_back({e.path, to_string(e.type), e.mode, e.size,
                           e.type == EntryType::file ? e.hash.hex() : std::string(), e.target});
    }
    return sha256_hex(entries.dump());
}

std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
        throw Error(ErrorKind::internal, "SHA-256 failed");
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
        out.push_back(hex[digest[i] >> 4]);
        out.push_back(hex[digest[i] & 15]);
    }
    return out;
}

}  // namespace hpsweep::datastore
