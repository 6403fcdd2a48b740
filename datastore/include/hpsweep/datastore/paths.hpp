#pragma once
// Names a user gives us: dataset names, references (NAME[:VERSION|:TAG]) and the paths of
// entries inside a dataset. Anything that could escape the dataset is rejected here.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hpsweep::datastore {

// [A-Za-z0-9][A-Za-z0-9._-]{0,127}; throws Error(usage) saying what is wrong.
void validate_dataset_name(std::string_view name);
// Tags: same alphabet as names, but not all digits (those are version numbers) and
// not "latest".
void validate_tag_name(std::string_view tag);

// The variable a job reads a staged dataset's path from: HPSWEEP_DATASTORE_<NAME> with the
// name upper-cased and every other character as '_' (my-data.v2 -> ..._MY_DATA_V2). One
// definition for every stager (SPANK plugin, hpsweep-launch, hpsweep session).
std::string environment_variable(std::string_view dataset_name);

// NAME, NAME:7, NAME:latest, NAME:some-tag.
struct Ref {
    std::string name;
    std::optional<int> version;  // explicit number
    std::optional<std::string> tag;
    static Ref parse(std::string_view text);  // throws Error(usage)
    std::string str() const;
};

// An entry path from a directory walk or an archive, normalised to "a/b/c" (no "./",
// no duplicate slashes, no trailing slash). Throws Error(data) naming `raw` and `where`
// for absolute paths, ".." components, and empty names.
std::string normalize_entry_path(std::string_view raw, std::string_view where);

// A symlink found at `link_path` (normalised) pointing at `target`. Returns the
// normalised path it designates inside the dataset, or nullopt when it escapes (an
// absolute target, or ".." climbing above the dataset root). Purely lexical: use
// check_symlinks() for the whole-tree check that follows links through other links.
std::optional<std::string> resolve_link_lexically(std::string_view link_path,
                                                  std::string_view target);

struct LinkEntry {
    std::string path;    // normalised path of the link
    std::string target;  // as stored
};
// Resolves every symlink through the other symlinks of the dataset (as the kernel would,
// up to 40 hops) and throws Error(data) naming the first link that leaves the dataset.
void check_symlinks(const std::vector<LinkEntry>& links, std::string_view where);

}  // namespace hpsweep::datastore
