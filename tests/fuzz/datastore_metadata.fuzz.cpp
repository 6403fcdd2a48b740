// The metadata root reads from a user's dataset when it stages it (datastore/src/metadata.cpp):
// dataset.json, tag files and manifest.json. Their owner can write any bytes into them.
//
// Input: one selector byte (0: dataset.json of the directory "ds", 1: a tag file,
// 2: manifest.json), then the file's bytes. Besides "Error or success", checked on success:
//  - dataset.json: its name is the directory's, its id is 8-64 of [a-z0-9] (the only values
//    root may put into a key);
//  - a tag: a version number in 1..999999999;
//  - a manifest: every entry path is relative, normalised, without ".." (root creates each
//    one under the cache), file digests print as 32 hex digits, and the content hash that
//    names a cache entry is 64 lowercase hex digits.
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "hpsweep/datastore/metadata.hpp"

using namespace hpsweep;
using namespace hpsweep::datastore;

namespace {

bool only_of(const std::string& text, const char* alphabet) {
    return text.find_first_not_of(alphabet) == std::string::npos;
}

void check_manifest(const Manifest& m) {
    for (const auto& e : m.entries) {
        if (e.path.empty() || e.path.front() == '/' || e.path == ".." ||
            e.path.starts_with("../") || e.path.find("/../") != std::string::npos ||
            (e.path.size() >= 3 && e.path.compare(e.path.size() - 3, 3, "/..") == 0)) {
            fuzz::finding("manifest entry path escapes: '%s'", e.path.c_str());
        }
        if (e.type == EntryType::file && e.hash.hex().size() != 32) {
            fuzz::finding("file digest is not 32 hex digits");
        }
    }
    const std::string key = manifest_content_hash(m);
    if (key.size() != 64 || !only_of(key, "0123456789abcdef")) {
        fuzz::finding("content hash is not 64 hex digits: '%s'", key.c_str());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::string text(fuzz::as_text(data + 1, size - 1));
    switch (data[0] % 3) {
        case 0:
            fuzz::only_bad_input([&] {
                const DatasetFile d = parse_dataset_file(text, "ds", "dataset.json");
                if (d.name != "ds") {
                    fuzz::finding("dataset.json names '%s', not its directory", d.name.c_str());
                }
                if (d.id.size() < 8 || d.id.size() > 64 ||
                    !only_of(d.id, "abcdefghijklmnopqrstuvwxyz0123456789")) {
                    fuzz::finding("dataset id '%s' passed the check", d.id.c_str());
                }
            });
            break;
        case 1:
            fuzz::only_bad_input([&] {
                const int v = parse_tag_file(text, "tag");
                if (v < 1 || v > 999999999) {
                    fuzz::finding("tag parsed to %d", v);
                }
            });
            break;
        default:
            fuzz::only_bad_input(
                [&] { check_manifest(parse_manifest_text(text, "manifest.json")); });
            break;
    }
    return 0;
}
