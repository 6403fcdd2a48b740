// Storing a code snapshot as a version of the user's snapshot dataset, with an index of file
// metadata (like git's) so that submitting the same code again reads no file.

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "hpsweep/datastore/credentials.hpp"
#include "hpsweep/datastore/hash.hpp"
#include "hpsweep/datastore/snapshot.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"

namespace fs = std::filesystem;

namespace hpsweep::datastore {

namespace {

constexpr std::string_view index_magic = "hpsweep-snapshot-index 1";
// A file changed less than this before its metadata was recorded could change again with
// the same times (the clock's resolution): the index is not trusted for it.
constexpr std::int64_t settle_ns = 1'000'000'000;

struct SnapshotIndex {
    std::string store;
    std::string context;
    std::string dataset;
    std::string dataset_id;
    int version = 0;
    std::vector<SnapshotFile> files;
};

bool settled(const SnapshotFile& f, std::int64_t listed_at_ns) {
    return f.ctime_ns < listed_at_ns - settle_ns && f.mtime_ns < listed_at_ns - settle_ns;
}

bool same_metadata(const SnapshotFile& a, const SnapshotFile& b) {
    return a.path == b.path && a.size == b.size && a.mtime_ns == b.mtime_ns &&
           a.ctime_ns == b.ctime_ns && a.inode == b.inode && a.mode == b.mode;
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && p == text.data() + text.size();
}

// nullopt when missing or not an index this code wrote: the slow path is always correct.
std::optional<SnapshotIndex> read_index(const fs::path& file) {
    std::ifstream in(file);
    if (!in)
        return std::nullopt;
    std::string line;
    SnapshotIndex index;
    if (!std::getline(in, line) || line != index_magic)
        return std::nullopt;
    const auto field = [&](std::string_view key, std::string& out) {
        if (!std::getline(in, line) || line.rfind(std::string(key) + " ", 0) != 0)
            return false;
        out = line.substr(key.size() + 1);
        return true;
    };
    std::string version;
    if (!field("store", index.store) || !field("context", index.context) ||
        !field("dataset", index.dataset) || !field("dataset_id", index.dataset_id) ||
        !field("version", version) || !parse_number(version, index.version))
        return std::nullopt;
    while (std::getline(in, line)) {
        // size mtime ctime inode mode path (the path last: it may hold spaces)
        SnapshotFile f;
        std::size_t start = 0;
        std::string_view fields[5];
        for (auto& out : fields) {
            const auto space = line.find(' ', start);
            if (space == std::string::npos)
                return std::nullopt;
            out = std::string_view(line).substr(start, space - start);
            start = space + 1;
        }
        if (!parse_number(fields[0], f.size) || !parse_number(fields[1], f.mtime_ns) ||
            !parse_number(fields[2], f.ctime_ns) || !parse_number(fields[3], f.inode) ||
            !parse_number(fields[4], f.mode))
            return std::nullopt;
        f.path = line.substr(start);
        index.files.push_back(std::move(f));
    }
    return index;
}

void write_index(const fs::path& file, const SnapshotIndex& index) {
    std::string text = std::string(index_magic) + "\n";
    text += "store " + index.store + "\n";
    text += "context " + index.context + "\n";
    text += "dataset " + index.dataset + "\n";
    text += "dataset_id " + index.dataset_id + "\n";
    text += "version " + std::to_string(index.version) + "\n";
    for (const auto& f : index.files) {
        text += fmt::format("{} {} {} {} {} {}\n", f.size, f.mtime_ns, f.ctime_ns, f.inode, f.mode,
                            f.path);
    }
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    write_file_atomic(file, text, 0600);
}

bool fits_one_line(const std::string& text) {
    return text.find('\n') == std::string::npos;
}

// The version the index names, when it still exists, is ours, and holds the same dataset.
std::optional<std::string> reusable_version(const Store& store, const SnapshotIndex& index,
                                            const SnapshotSource& source) {
    if (index.store != store.root().string() || index.context != source.context.string() ||
        index.files.size() != source.files.size())
        return std::nullopt;
    for (std::size_t i = 0; i < source.files.size(); ++i) {
        if (!same_metadata(index.files[i], source.files[i]) ||
            !settled(source.files[i], source.listed_at_ns))
            return std::nullopt;
    }
    try {
        const auto resolved =
            store.resolve(Ref{index.dataset, index.version, std::nullopt}, Credentials::current());
        if (resolved.dataset_id != index.dataset_id || resolved.owner_uid != ::geteuid())
            return std::nullopt;
        return resolved.dataset_id;
    } catch (const Error&) {
        return std::nullopt;  // deleted or collected: store it again
    }
}

}  // namespace

std::string snapshot_dataset_name(uid_t uid) {
    return "snapshots.u" + std::to_string(uid);
}

fs::path default_snapshot_index_dir() {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/')
        return fs::path(xdg) / "hpsweep" / "snapshots";
    if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/')
        return fs::path(home) / ".cache" / "hpsweep" / "snapshots";
    return {};
}

fs::path snapshot_index_file(const fs::path& dir, const fs::path& context, const Store& store) {
    const std::string key = context.string() + '\0' + store.root().string();
    return dir / (hash_bytes(key.data(), key.size()).hex() + ".index");
}

SnapshotResult store_snapshot(const Store& store, const SnapshotSource& source,
                              const fs::path& index_file) {
    SnapshotResult result;
    result.dataset = snapshot_dataset_name(::geteuid());
    result.files = source.files.size();
    result.bytes = source.total_bytes;
    if (!index_file.empty()) {
        if (const auto index = read_index(index_file)) {
            if (const auto id = reusable_version(store, *index, source)) {
                result.dataset_id = *id;
                result.version = index->version;
                result.unchanged = true;
                result.reused_index = true;
                return result;
            }
        }
    }

    CreateOptions options;
    options.private_dataset = true;  // code is its author's until they share the results
    options.only_files.emplace();
    options.only_files->reserve(source.files.size());
    for (const auto& f : source.files) options.only_files->push_back(f.path);
    const auto created = store.create(result.dataset, source.context, options);
    result.version = created.version;
    result.unchanged = created.unchanged;
    result.new_bytes = created.new_bytes;
    result.files = created.files;
    result.bytes = created.bytes;
    const auto resolved =
        store.resolve(Ref{result.dataset, result.version, std::nullopt}, Credentials::current());
    result.dataset_id = resolved.dataset_id;

    if (!index_file.empty()) {
        bool indexable =
            fits_one_line(source.context.string()) && fits_one_line(store.root().string());
        for (const auto& f : source.files)
            indexable = indexable && fits_one_line(f.path) && settled(f, source.listed_at_ns);
        try {
            if (indexable) {
                write_index(
                    index_file,
                    SnapshotIndex{store.root().string(), source.context.string(), result.dataset,
                                  result.dataset_id, result.version, source.files});
            } else {
                std::error_code ec;
                fs::remove(index_file, ec);  // stale: the next snapshot reads everything
            }
        } catch (const Error&) {
            // The index only saves time; a snapshot without one is still right.
        }
    }
    return result;
}

}  // namespace hpsweep::datastore
