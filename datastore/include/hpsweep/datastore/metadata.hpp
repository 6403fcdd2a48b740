#pragma once
// The metadata files of a dataset that root reads on a job's behalf (dataset.json, tags,
// manifest.json). Their owner can write anything into them, so each parser checks every
// value it returns against a strict grammar, and only checked values may become part of a
// path or a cache key (docs/security.md, "The rule"). Fuzzed by tests/fuzz/datastore_metadata.

#include <sys/types.h>

#include <string>
#include <string_view>

#include "hpsweep/datastore/manifest.hpp"

namespace hpsweep::datastore {

// A dataset id's grammar: [a-z0-9]{8,64}.
bool valid_dataset_id(std::string_view id);

struct DatasetFile {
    std::string name;  // equal to the directory it was read from
    std::string id;    // [a-z0-9]{8,64}
    uid_t owner_uid = 0;
    std::string owner;
    bool private_dataset = false;
    std::string created;
};

// dataset.json of the directory datasets/EXPECTED_NAME. Throws Error(data) naming `where`
// when it is not valid, and when its name is not EXPECTED_NAME.
DatasetFile parse_dataset_file(std::string_view text, std::string_view expected_name,
                               const std::string& where);
// A tag file: "N\n" with 1 <= N <= 999999999. Throws Error(data) naming `where`.
int parse_tag_file(std::string_view text, const std::string& where);
// manifest.json (the checks of manifest_from_json). Throws Error(data) naming `where`.
Manifest parse_manifest_text(std::string_view text, const std::string& where);

// SHA-256 as 64 lowercase hex digits.
std::string sha256_hex(std::string_view bytes);
// SHA-256 of the canonical form of the manifest's entries (whatever names and ids it claims).
std::string manifest_content_hash(const Manifest& manifest);

}  // namespace hpsweep::datastore
