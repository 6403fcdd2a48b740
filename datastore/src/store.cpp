#include "hpsweep/datastore/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "fsutil.hpp"
#include "hpsweep/datastore/metadata.hpp"
#include "hpsweep/datastore/safe_fs.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/strings.hpp"
#include "hpsweep/users.hpp"
#include "hpsweep/write_all.hpp"
#include "import.hpp"

namespace hpsweep::datastore {

using detail::open_at;
using detail::open_dir_at;
using detail::try_open_at;
using hpsweep::UniqueFd;

namespace {

constexpr std::size_t in_memory_limit = 8u << 20;  // files up to this size are hashed in RAM

struct DatasetMeta {
    std::string name;
    std::string id;
    uid_t owner_uid = 0;
    std::string owner;
    bool private_dataset = false;
    std::string created;
};

// Reads PATH (a file below a dataset directory) without following a link at its last
// component, without blocking on a FIFO, refusing anything but a regular file, at most
// `max_bytes`.
std::string read_metadata_file(const std::filesystem::path& path, std::size_t max_bytes) {
    const UniqueFd parent(
        ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    if (!parent) {
        if (errno == ENOENT) {
            throw Error(ErrorKind::state, path.string() + " does not exist");
        }
        throw_errno("cannot open " + path.parent_path().string());
    }
    return detail::read_regular_beneath(parent.get(), path.filename().string(), max_bytes,
                                        path.string());
}

DatasetMeta read_dataset_meta(const std::filesystem::path& dir) {
    const auto path = dir / "dataset.json";
    const DatasetFile f =
        parse_dataset_file(read_metadata_file(path, detail::dataset_file_max_bytes),
                           dir.filename().string(), path.string());
    DatasetMeta m;
    m.name = f.name;
    m.id = f.id;
    m.owner_uid = f.owner_uid;
    m.owner = f.owner;
    m.private_dataset = f.private_dataset;
    m.created = f.created;
    return m;
}

void write_dataset_meta(const std::filesystem::path& dir, const DatasetMeta& m) {
    const nlohmann::json j = {{"name", m.name},
                              {"id", m.id},
                              {"owner_uid", m.owner_uid},
                              {"owner", m.owner},
                              {"private", m.private_dataset},
                              {"created", m.created}};
    write_file_atomic(dir / "dataset.json", j.dump(2) + "\n", 0644);
}

std::vector<std::string> dir_names(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) {
        if (errno == ENOENT) {
            return names;
        }
        throw_errno("cannot read directory " + dir.string());
    }
    while (const dirent* e = ::readdir(d.get())) {
        const std::string name = e->d_name;
        if (name != "." && name != "..") {
            names.push_back(name);
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<int> version_numbers(const std::filesystem::path& dataset_dir) {
    std::vector<int> versions;
    for (const auto& name : dir_names(dataset_dir / "versions")) {
        if (!name.empty() && name.size() < 10 &&
            std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            versions.push_back(std::stoi(name));
        }
    }
    std::sort(versions.begin(), versions.end());
    return versions;
}

std::map<std::string, int> read_tags(const std::filesystem::path& dataset_dir) {
    std::map<std::string, int> tags;
    for (const auto& name : dir_names(dataset_dir / "tags")) {
        if (name.find(".tmp.") != std::string::npos) {
            continue;
        }
        try {
            const auto path = dataset_dir / "tags" / name;
            tags[name] =
                parse_tag_file(read_metadata_file(path, detail::tag_file_max_bytes), path.string());
        } catch (const std::exception&) {
            // A tag we cannot read is skipped, not fatal for listing.
        }
    }
    return tags;
}

bool umask_hides_from_others() {
    return (current_umask() & 004) != 0;
}

struct stat stat_or_throw(const std::filesystem::path& path, const std::string& what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            throw Error(ErrorKind::state, what + " does not exist");
        }
        if (errno == EACCES) {
            throw Error(ErrorKind::state, "permission denied: " + what);
        }
        throw_errno("cannot inspect " + path.string());
    }
    return st;
}

void require_owner(const std::filesystem::path& dataset_dir, std::string_view name) {
    const struct stat st = stat_or_throw(dataset_dir, "dataset '" + std::string(name) + "'");
    if (::geteuid() != 0 && st.st_uid != ::geteuid()) {
        throw Error(ErrorKind::state, "dataset '" + std::string(name) + "' belongs to " +
                                          user_name(st.st_uid) +
                                          "; only its owner (or root) can change it");
    }
}

// Removes an object unless something links to it. Renaming it away first closes the race
// with a create that is about to hard-link it: a link made before the rename shows in the
// link count (the object is put back); a link attempted after fails with ENOENT and that
// create writes the object again.
bool remove_object_if_unreferenced(int prefix_fd, int tmp_fd, const std::string& name,
                                   std::uint64_t& bytes) {
    const std::string doomed = "doomed-" + detail::random_token();
    if (::renameat(prefix_fd, name.c_str(), tmp_fd, doomed.c_str()) != 0) {
        return false;
    }
    struct stat st {};
    if (::fstatat(tmp_fd, doomed.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_nlink > 1) {
        ::renameat(tmp_fd, doomed.c_str(), prefix_fd, name.c_str());
        return false;
    }
    ::unlinkat(tmp_fd, doomed.c_str(), 0);
    bytes += static_cast<std::uint64_t>(st.st_size);
    return true;
}

struct PruneResult {
    std::uint64_t objects = 0;
    std::uint64_t bytes = 0;
};

// Skipped and reported, never followed: what a dataset's owner put where gc expects a
// directory of the store's layout.
void report_skipped(std::vector<std::string>& problems, const std::string& shown) {
    problems.push_back(shown + " is a symbolic link or not a directory: skipped");
}

PruneResult prune_objects(int dataset_fd, std::chrono::seconds grace, const std::string& shown,
                          std::vector<std::string>& problems) {
    PruneResult result;
    const UniqueFd tmp_fd = try_open_at(dataset_fd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    const UniqueFd objects_fd =
        try_open_at(dataset_fd, "objects", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!tmp_fd || !objects_fd) {
        if (errno != ENOENT) {
            report_skipped(problems, shown + (tmp_fd ? "/objects" : "/tmp"));
        }
        return result;
    }
    const std::time_t cutoff = std::time(nullptr) - grace.count();
    for (const auto& prefix : detail::list_dir(objects_fd.get())) {
        UniqueFd prefix_fd =
            try_open_at(objects_fd.get(), prefix, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        if (!prefix_fd) {
            report_skipped(problems, shown + "/objects/" + prefix);
            continue;
        }
        struct stat pst {};
        if (::fstat(prefix_fd.get(), &pst) == 0 && (pst.st_mode & S_IWUSR) == 0) {
            ::fchmod(prefix_fd.get(), 0755);
        }
        for (const auto& name : detail::list_dir(prefix_fd.get())) {
            struct stat st {};
            if (::fstatat(prefix_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                !S_ISREG(st.st_mode)) {
                continue;
            }
            if (st.st_nlink > 1 || st.st_ctime > cutoff) {
                continue;
            }
            if (remove_object_if_unreferenced(prefix_fd.get(), tmp_fd.get(), name, result.bytes)) {
                ++result.objects;
            }
        }
    }
    return result;
}

// ---- building one version ------------------------------------------------------------

// Starts writing large new objects to disk while the rest of the version is still being
// created, on a thread of its own: the syncfs that makes the version durable before it is
// published then finds their data already written or in flight instead of starting all of
// it. Small objects are left to the syncfs: starting the writeback of each one costs more
// than it saves (a cold snapshot of 5,000 small files took about 12 % longer with it on
// ext4, see docs/snapshots.md). Only an early start: nothing here is needed for
// durability, so a full queue or a failed sync_file_range just leaves that file to the
// syncfs. The thread starts with the first large object: most versions have none.
class EarlyWriteback {
public:
    EarlyWriteback() = default;
    EarlyWriteback(const EarlyWriteback&) = delete;
    EarlyWriteback& operator=(const EarlyWriteback&) = delete;
    ~EarlyWriteback() { stop(); }

    // Takes a file just written: its writeback starts soon, then it is closed.
    void add(UniqueFd fd) {
        {
            const std::lock_guard lock(mutex_);
            // Bounded: open files are a limited resource, and a closed file's data is
            // still written by the syncfs.
            if (stopping_ || queue_.size() >= max_queued) {
                return;
            }
            queue_.push_back(std::move(fd));
            if (!thread_.joinable()) {
                try {
                    thread_ = std::thread([this] { run(); });
                } catch (const std::system_error&) {
                    // No thread to spare: the syncfs writes these files as well.
                    queue_.clear();
                    stopping_ = true;
                }
            }
        }
        changed_.notify_one();
    }

    // Starts the writeback of what is queued and ends the thread.
    void stop() noexcept {
        {
            const std::lock_guard lock(mutex_);
            if (stopping_) {
                return;
            }
            stopping_ = true;
        }
        changed_.notify_one();
        // No add() starts the thread once stopping_ is set, so thread_ is stable here.
        if (thread_.joinable()) {
            thread_.join();
        }
    }

private:
    static constexpr std::size_t max_queued = 256;

    void run() noexcept {
        std::unique_lock lock(mutex_);
        for (;;) {
            changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) {
                return;
            }
            std::deque<UniqueFd> batch;
            batch.swap(queue_);
            lock.unlock();
            for (auto& fd : batch) {
                ::sync_file_range(fd.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
                fd.reset();
            }
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<UniqueFd> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

// Builds a version in the dataset's tmp/, then publishes it. file() and symlink() may be
// called from several threads at once (import_listed_files stores on two); directory(),
// hardlink() and the rest from one.
class VersionBuilder final : public detail::EntrySink {
public:
    VersionBuilder(const std::filesystem::path& dataset_dir, std::string where, ProgressFn progress)
        : dataset_dir_(dataset_dir), where_(std::move(where)), progress_(std::move(progress)) {
        objects_fd_ = detail::open_dir(dataset_dir / "objects");
        tmp_fd_ = detail::open_dir(dataset_dir / "tmp");
        version_name_ = "v-" + detail::random_token();
        if (::mkdirat(tmp_fd_.get(), version_name_.c_str(), 0700) != 0) {
            throw_errno("cannot create " + (dataset_dir / "tmp" / version_name_).string());
        }
        version_fd_ = open_dir_at(tmp_fd_.get(), version_name_, version_name_);
        if (::mkdirat(version_fd_.get(), "data", 0700) != 0) {
            throw_errno("cannot create the data tree of a new version");
        }
        data_fd_ = open_dir_at(version_fd_.get(), "data", "data");
    }
    VersionBuilder(const VersionBuilder&) = delete;
    VersionBuilder& operator=(const VersionBuilder&) = delete;

    ~VersionBuilder() override {
        writeback_.stop();
        if (!published_) {
            try {
                data_fd_.reset();
                version_fd_.reset();
                detail::remove_tree_at(tmp_fd_.get(), version_name_);
            } catch (const std::exception&) {
                // Left for gc: it is in tmp/ and never visible as a version.
            }
        }
    }

    void directory(const std::string& path, unsigned mode) override {
        check_utf8(path, path);
        const std::lock_guard lock(mutex_);
        auto it = entries_.find(path);
        if (it != entries_.end()) {
            if (it->second.type != EntryType::directory) {
                throw duplicate(path);
            }
            it->second.mode = mode;
            return;
        }
        ensure_parent(path);
        make_dir(path, mode);
    }

    void file(const std::string& path, unsigned mode, std::uint64_t,
              const detail::ReadFn& read) override {
        const auto entry = begin_entry(path, EntryType::file, mode);
        ManifestEntry e{path, EntryType::file, mode, 0, {}, {}};
        // Small files (the common case) are hashed in memory and written only when new;
        // larger ones are written as their tree entry while being hashed.
        const Buffer buffer(*this);
        char* const data = buffer.get();
        std::size_t filled = 0;
        for (;;) {
            const std::size_t got = read(data + filled, in_memory_limit - filled);
            if (got == 0) {
                break;
            }
            filled += got;
            if (filled == in_memory_limit) {
                break;
            }
        }
        if (filled < in_memory_limit) {
            e.size = filled;
            e.hash = hash_bytes(data, filled);
            store_buffered_object(e, data);
        } else {
            UniqueFd out = create_tree_file(e);
            Hasher hasher;
            std::size_t chunk = filled;
            while (chunk > 0) {
                hasher.update(data, chunk);
                write_all(out.get(), {data, chunk}, e.path);
                e.size += chunk;
                chunk = read(data, in_memory_limit);
            }
            e.hash = hasher.finish();
            writeback_.add(std::move(out));
            const std::string name = object_name(e);
            store_tree_file(e, name, prefix_fd(name.substr(0, 2)));
        }
        const std::lock_guard lock(mutex_);
        total_bytes_ += e.size;
        entry->second = std::move(e);
    }

    void symlink(const std::string& path, const std::string& target) override {
        check_utf8(path, target);
        const auto entry = begin_entry(path, EntryType::symlink, 0777);
        if (::symlinkat(target.c_str(), data_fd_.get(), path.c_str()) != 0) {
            throw_errno("cannot create symlink " + path + " in the new version");
        }
        const std::lock_guard lock(mutex_);
        entry->second.target = target;
    }

    void hardlink(const std::string& path, const std::string& existing) override {
        ManifestEntry e;
        {
            const std::lock_guard lock(mutex_);
            const auto it = entries_.find(existing);
            if (it == entries_.end() || it->second.type != EntryType::file) {
                throw Error(ErrorKind::data, where_ + ": hard link '" + path + "' points at '" +
                                                 existing +
                                                 "', which is not a file read before it");
            }
            e = it->second;
        }
        const auto entry = begin_entry(path, EntryType::file, e.mode);
        e.path = path;
        if (::linkat(data_fd_.get(), existing.c_str(), data_fd_.get(), path.c_str(), 0) != 0) {
            throw_errno("cannot link " + path + " in the new version");
        }
        const std::lock_guard lock(mutex_);
        total_bytes_ += e.size;
        entry->second = std::move(e);
    }

    void progress(std::uint64_t done, std::uint64_t total) override {
        if (progress_) {
            progress_(done, total);
        }
    }

    Manifest finish(Manifest manifest) {
        // Every new object's writeback has started by now (see publish()).
        writeback_.stop();
        std::vector<LinkEntry> links;
        for (const auto& [path, e] : entries_) {
            if (e.type == EntryType::symlink) {
                links.push_back({path, e.target});
            }
        }
        check_symlinks(links, where_);
        manifest.entries.reserve(entries_.size());
        for (auto& [path, e] : entries_) {
            manifest.entries.push_back(e);
        }
        // Directories become read-only, deepest first (a 0555 parent would stop the rest).
        for (auto it = manifest.entries.rbegin(); it != manifest.entries.rend(); ++it) {
            if (it->type == EntryType::directory &&
                ::fchmodat(data_fd_.get(), it->path.c_str(), 0555, 0) != 0) {
                throw_errno("cannot finish directory " + it->path);
            }
        }
        ::fchmod(data_fd_.get(), 0555);
        return manifest;
    }

    // Publishes the version as the next free number; returns it.
    int publish(const Manifest& manifest) {
        const std::string text = manifest_text(manifest);
        {
            UniqueFd out = open_at(version_fd_.get(), "manifest.json", O_WRONLY | O_CREAT | O_EXCL,
                                   "manifest", 0444);
            write_all(out.get(), text, "manifest");
        }
        // One syncfs instead of an fsync per object: the version becomes visible only
        // after everything it references is on disk.
        ::syncfs(version_fd_.get());
        const auto versions_dir = dataset_dir_ / "versions";
        const UniqueFd versions_fd = detail::open_dir(versions_dir);
        const auto existing = version_numbers(dataset_dir_);
        int number = existing.empty() ? 1 : existing.back() + 1;
        for (int attempt = 0; attempt < 1000; ++attempt, ++number) {
            const std::string target = std::to_string(number);
            if (::renameat(tmp_fd_.get(), version_name_.c_str(), versions_fd.get(),
                           target.c_str()) == 0) {
                published_ = true;
                // Read-only only now: moving a directory to a new parent needs write
                // permission on it (its ".." changes).
                ::fchmod(version_fd_.get(), 0555);
                ::fsync(versions_fd.get());
                return number;
            }
            if (errno != EEXIST && errno != ENOTEMPTY) {
                throw_errno("cannot publish version " + target + " in " + versions_dir.string());
            }
        }
        throw Error(ErrorKind::state,
                    "cannot find a free version number in " + versions_dir.string());
    }

    std::uint64_t new_bytes() const noexcept { return new_bytes_; }
    std::uint64_t new_objects() const noexcept { return new_objects_; }

private:
    // A buffer of in_memory_limit bytes for one file() call, from a pool (one per thread
    // storing at once), not zeroed: a small file touches only its first pages.
    class Buffer {
    public:
        explicit Buffer(VersionBuilder& owner) : owner_(owner) {
            const std::lock_guard lock(owner_.mutex_);
            if (owner_.buffers_.empty()) {
                data_ = std::make_unique_for_overwrite<char[]>(in_memory_limit);
            } else {
                data_ = std::move(owner_.buffers_.back());
                owner_.buffers_.pop_back();
            }
        }
        Buffer(const Buffer&) = delete;
        Buffer& operator=(const Buffer&) = delete;
        ~Buffer() {
            const std::lock_guard lock(owner_.mutex_);
            owner_.buffers_.push_back(std::move(data_));
        }
        char* get() const noexcept { return data_.get(); }

    private:
        VersionBuilder& owner_;
        std::unique_ptr<char[]> data_;
    };

    struct Prefix {
        int fd = -1;
        bool created_here = false;  // empty when this builder created it
    };

    Error duplicate(const std::string& path) const {
        return Error(ErrorKind::data, where_ + ": entry '" + path + "' appears more than once");
    }

    // The manifest is JSON, which holds UTF-8 only: other names (and link targets) are
    // refused here, naming the entry, rather than ending the create with an internal error
    // inside the JSON writer.
    void check_utf8(const std::string& path, const std::string& text) const {
        if (invalid_utf8_offset(text) != std::string::npos) {
            throw Error(ErrorKind::data, where_ + ": entry '" + path + "' rejected: " +
                                             (&text == &path ? "its name" : "its link target") +
                                             " is not valid UTF-8");
        }
    }

    // Claims `path` for an entry (filled in when it is complete) and creates its parents.
    std::map<std::string, ManifestEntry>::iterator begin_entry(const std::string& path,
                                                               EntryType type, unsigned mode) {
        check_utf8(path, path);
        const std::lock_guard lock(mutex_);
        if (entries_.count(path) != 0) {
            throw duplicate(path);
        }
        ensure_parent(path);
        return entries_.emplace(path, ManifestEntry{path, type, mode, 0, {}, {}}).first;
    }

    // Archives may list "a/b/c" before (or without) "a/" and "a/b/". A parent that is a
    // symlink or a file is refused: writing through it could land outside the dataset.
    // Called with mutex_ held.
    void ensure_parent(const std::string& path) {
        std::size_t slash = path.find('/');
        while (slash != std::string::npos) {
            const std::string parent = path.substr(0, slash);
            const auto it = entries_.find(parent);
            if (it == entries_.end()) {
                make_dir(parent, 0755);
            } else if (it->second.type != EntryType::directory) {
                throw Error(ErrorKind::data, where_ + ": entry '" + path + "' rejected: '" +
                                                 parent + "' is a " + to_string(it->second.type) +
                                                 ", not a directory");
            }
            slash = path.find('/', slash + 1);
        }
    }

    void make_dir(const std::string& path, unsigned mode) {
        if (::mkdirat(data_fd_.get(), path.c_str(), 0700) != 0) {
            throw_errno("cannot create directory " + path + " in the new version");
        }
        entries_.emplace(path, ManifestEntry{path, EntryType::directory, mode, 0, {}, {}});
    }

    Prefix prefix_fd(const std::string& prefix) {
        const std::lock_guard lock(mutex_);
        auto it = prefix_fds_.find(prefix);
        if (it != prefix_fds_.end()) {
            return {it->second.first.get(), it->second.second};
        }
        bool created = true;
        if (::mkdirat(objects_fd_.get(), prefix.c_str(), 0755) != 0) {
            if (errno != EEXIST) {
                throw_errno("cannot create object directory " + prefix);
            }
            created = false;
        }
        UniqueFd fd = open_dir_at(objects_fd_.get(), prefix, "objects/" + prefix);
        const int raw = fd.get();
        prefix_fds_.emplace(prefix, std::make_pair(std::move(fd), created));
        return {raw, created};
    }

    // Whether the store may hold the object `name` already. In a prefix directory this
    // builder created, only the objects it stored itself can be there, and those another
    // create stores meanwhile, which store_tree_file() finds: looking for the object
    // first would fail for every file of a fresh store (a cold snapshot).
    bool may_exist(const Prefix& prefix, const std::string& name) {
        if (!prefix.created_here) {
            return true;
        }
        const std::lock_guard lock(mutex_);
        return stored_here_.count(name) != 0;
    }

    // Links the tree entry to the object holding this content (`data`), writing it first
    // when the store does not have it yet.
    void store_buffered_object(const ManifestEntry& e, const char* data) {
        const std::string name = object_name(e);
        const Prefix prefix = prefix_fd(name.substr(0, 2));
        bool separate = false;
        if (may_exist(prefix, name)) {
            if (::linkat(prefix.fd, name.c_str(), data_fd_.get(), e.path.c_str(), 0) == 0) {
                return;
            }
            if (errno != ENOENT && errno != EMLINK) {
                throw_errno("cannot link " + e.path + " to its object");
            }
            separate = errno == EMLINK;  // too many links to one inode: a copy of its own
        }
        {
            const UniqueFd out = create_tree_file(e);
            write_all(out.get(), {data, e.size}, e.path);
        }
        if (!separate) {
            store_tree_file(e, name, prefix);
        }
    }

    UniqueFd create_tree_file(const ManifestEntry& e) {
        return open_at(data_fd_.get(), e.path, O_WRONLY | O_CREAT | O_EXCL, e.path,
                       materialized_file_mode(e.mode));
    }

    // The one way an object enters the store: the complete tree entry e.path, written
    // inside the unpublished version that only its creator can enter, is linked into
    // objects/ as `name`. Its name appears there only once its content is complete, without
    // a temporary name and a rename per object (most of a cold snapshot is creating files,
    // so each directory operation per file counts). When the store has the object already
    // (another create stored the same content meanwhile), the entry is replaced by a link
    // to that one, in one rename; when that one has too many links, the entry stays a
    // separate copy (the manifest still names the content hash).
    void store_tree_file(const ManifestEntry& e, const std::string& name, const Prefix& prefix) {
        for (int attempt = 0; attempt < 4; ++attempt) {
            if (::linkat(data_fd_.get(), e.path.c_str(), prefix.fd, name.c_str(), 0) == 0) {
                const std::lock_guard lock(mutex_);
                new_bytes_ += e.size;
                ++new_objects_;
                if (prefix.created_here) {
                    stored_here_.insert(name);
                }
                return;
            }
            if (errno != EEXIST) {
                throw_errno("cannot store object " + name);
            }
            const std::string shared = "link-" + detail::random_token();
            if (::linkat(prefix.fd, name.c_str(), tmp_fd_.get(), shared.c_str(), 0) == 0) {
                if (::renameat(tmp_fd_.get(), shared.c_str(), data_fd_.get(), e.path.c_str()) !=
                    0) {
                    const int error = errno;
                    ::unlinkat(tmp_fd_.get(), shared.c_str(), 0);
                    errno = error;
                    throw_errno("cannot replace " + e.path + " in the new version");
                }
                return;
            }
            if (errno == EMLINK) {
                return;
            }
            if (errno != ENOENT) {
                throw_errno("cannot link " + e.path + " to its object");
            }
            // gc removed that object meanwhile: the next attempt stores ours.
        }
    }

    std::filesystem::path dataset_dir_;
    std::string where_;
    ProgressFn progress_;
    UniqueFd objects_fd_;
    UniqueFd tmp_fd_;
    UniqueFd version_fd_;
    UniqueFd data_fd_;
    std::string version_name_;
    bool published_ = false;
    // Guards what follows: file() and symlink() run on several threads.
    std::mutex mutex_;
    std::map<std::string, ManifestEntry> entries_;
    std::unordered_map<std::string, std::pair<UniqueFd, bool>> prefix_fds_;  // fd, created_here
    std::unordered_set<std::string> stored_here_;  // objects stored in prefixes created here
    std::vector<std::unique_ptr<char[]>> buffers_;
    std::uint64_t total_bytes_ = 0;
    std::uint64_t new_bytes_ = 0;
    std::uint64_t new_objects_ = 0;
    EarlyWriteback writeback_;
};

}  // namespace

Store::Store(std::filesystem::path root) : root_(std::move(root)) {
    if (root_.empty()) {
        throw Error(ErrorKind::config,
                    "the datastore root is empty: set datastore_root or "
                    "HPSWEEP_DATASTORE_ROOT");
    }
}

std::filesystem::path Store::dataset_dir(std::string_view name) const {
    validate_dataset_name(name);
    return datasets_dir() / std::string(name);
}

void Store::initialize() const {
    std::error_code ec;
    std::filesystem::create_directories(root_.parent_path(), ec);
    detail::ensure_dir(root_, 0755);
    detail::ensure_dir(datasets_dir(), 01777);
}

namespace {

// Gives back the name of a dataset whose first version failed: it is removed when it holds
// no version and no version in the making (another creator of the same new name may have
// started one meanwhile; then it stays theirs). Renamed away first, as a delete is, so a
// removal cut short leaves a `.deleted-*` directory for gc, never a damaged dataset. Runs
// while the create's error is on its way to the user: it never throws.
void abandon_empty_dataset(const std::filesystem::path& dir) noexcept {
    try {
        std::error_code ec;
        if (!std::filesystem::is_empty(dir / "versions", ec) || ec ||
            !std::filesystem::is_empty(dir / "tmp", ec) || ec) {
            return;
        }
        const auto doomed = dir.parent_path() /
                            (".deleted-" + dir.filename().string() + "-" + detail::random_token());
        if (::rename(dir.c_str(), doomed.c_str()) == 0) {
            detail::remove_tree(doomed);
        }
    } catch (const std::exception&) {
        // Left for gc (.deleted-*) or, if the rename failed, an empty dataset as before.
    }
}

}  // namespace

CreateResult Store::create(std::string_view name, const std::filesystem::path& source,
                           const CreateOptions& options) const {
    const auto kind = detail::source_kind(source);  // checks the source before touching the store
    if (invalid_utf8_offset(source.string()) != std::string::npos) {
        // The manifest (JSON) records where the version came from.
        throw Error(ErrorKind::usage,
                    "source " + source.string() + ": the path is not valid UTF-8");
    }
    initialize();
    const auto dir = dataset_dir(name);
    const uid_t me = ::geteuid();

    // Open the dataset, or create it complete under a temporary name and rename it into
    // place, so that a half-made dataset directory is never visible.
    DatasetMeta meta;
    bool created_here = false;
    for (int attempt = 0;; ++attempt) {
        struct stat st {};
        if (::lstat(dir.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                throw Error(ErrorKind::state, dir.string() + " is not a dataset directory");
            }
            require_owner(dir, name);
            meta = read_dataset_meta(dir);
            if (options.private_dataset && *options.private_dataset != meta.private_dataset) {
                meta.private_dataset = *options.private_dataset;
                write_dataset_meta(dir, meta);
                if (::chmod(dir.c_str(), meta.private_dataset ? 0700 : 0755) != 0) {
                    throw_errno("cannot change the visibility of " + dir.string());
                }
            }
            break;
        }
        if (attempt > 3) {
            throw Error(ErrorKind::state, "cannot create dataset directory " + dir.string());
        }
        const auto fresh =
            datasets_dir() / (".new-" + std::string(name) + "-" + detail::random_token());
        detail::ensure_dir(fresh, 0700);
        try {
            meta.name = std::string(name);
            meta.id = detail::random_token(16);
            meta.owner_uid = me;
            meta.owner = user_name(me);
            meta.private_dataset = options.private_dataset.value_or(umask_hides_from_others());
            meta.created = detail::iso_time_now();
            write_dataset_meta(fresh, meta);
            for (const char* sub : {"objects", "versions", "tags", "tmp"}) {
                detail::ensure_dir(fresh / sub, 0755);
            }
            if (::chmod(fresh.c_str(), meta.private_dataset ? 0700 : 0755) != 0) {
                throw_errno("cannot set the mode of " + fresh.string());
            }
            if (::rename(fresh.c_str(), dir.c_str()) == 0) {
                fsync_directory(datasets_dir());
                created_here = true;
                break;
            }
            if (errno != EEXIST && errno != ENOTEMPTY) {
                throw_errno("cannot create dataset " + dir.string());
            }
        } catch (...) {
            detail::remove_tree(fresh);
            throw;
        }
        detail::remove_tree(fresh);  // someone else created it first: use theirs
    }

    // A dataset this call created exists only for its first version: when that fails (a
    // refused entry, an unreadable source), the name is given back instead of being claimed
    // by an empty dataset.
    const auto build_version = [&] {
        CreateResult result;
        VersionBuilder builder(dir, source.string(), options.progress);
        if (options.only_files) {
            if (kind != detail::SourceKind::directory)
                throw Error(ErrorKind::usage, "a file list needs a directory source");
            detail::import_listed_files(source, *options.only_files, builder);
        } else if (kind == detail::SourceKind::directory) {
            detail::import_directory(source, builder);
        } else {
            detail::import_archive(source, builder);
        }
        Manifest manifest;
        manifest.dataset = meta.name;
        manifest.dataset_id = meta.id;
        manifest.created = detail::iso_time_now();
        manifest.creator_uid = me;
        manifest.creator = user_name(me);
        std::error_code ec;
        const auto absolute_source = std::filesystem::absolute(source, ec);
        manifest.source = ec ? source.string() : absolute_source.string();
        manifest = builder.finish(std::move(manifest));

        result.name = meta.name;
        result.files = manifest.file_count();
        result.bytes = manifest.total_bytes();
        const auto existing = version_numbers(dir);
        if (!existing.empty()) {
            const auto latest_path =
                dir / "versions" / std::to_string(existing.back()) / "manifest.json";
            const Manifest latest = read_manifest_file(latest_path.string());
            if (latest.entries == manifest.entries) {
                result.version = existing.back();
                result.unchanged = true;
            }
        }
        if (!result.unchanged) {
            result.version = builder.publish(manifest);
            result.new_bytes = builder.new_bytes();
            result.new_objects = builder.new_objects();
        }
        return result;
    };
    CreateResult result;
    try {
        result = build_version();
    } catch (...) {
        if (created_here) {
            abandon_empty_dataset(dir);
        }
        throw;
    }
    if (options.tag) {
        Ref ref{meta.name, result.version, std::nullopt};
        tag(ref, *options.tag);
    }
    return result;
}

ResolvedVersion Store::resolve(const Ref& ref, const Credentials& who) const {
    const auto dir = dataset_dir(ref.name);
    const std::string what = "dataset '" + ref.name + "' in " + datasets_dir().string();
    const struct stat dst = stat_or_throw(dir, what);
    if (!S_ISDIR(dst.st_mode)) {
        throw Error(ErrorKind::state, what + " is not a dataset");
    }
    if (!who.may(dst, 5)) {
        throw Error(ErrorKind::state, "permission denied: dataset '" + ref.name +
                                          "' is private to " + user_name(dst.st_uid));
    }
    DatasetMeta meta;
    try {
        meta = read_dataset_meta(dir);
    } catch (const Error& e) {
        throw Error(ErrorKind::state,
                    "permission denied or damaged dataset '" + ref.name + "': " + e.what());
    }
    ResolvedVersion r;
    r.name = meta.name;
    r.dataset_id = meta.id;
    r.owner_uid = dst.st_uid;
    r.private_dataset = (dst.st_mode & 0077) == 0 || meta.private_dataset;
    r.dataset_dir = dir;
    if (ref.version) {
        r.version = *ref.version;
    } else if (ref.tag) {
        const auto tag_path = dir / "tags" / *ref.tag;
        try {
            r.version = parse_tag_file(read_metadata_file(tag_path, detail::tag_file_max_bytes),
                                       tag_path.string());
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::data) {
                throw;
            }
            throw Error(ErrorKind::state,
                        "dataset '" + ref.name + "' has no tag '" + *ref.tag + "'");
        }
    } else {
        const auto versions = version_numbers(dir);
        if (versions.empty()) {
            throw Error(ErrorKind::state, "dataset '" + ref.name + "' has no versions yet");
        }
        r.version = versions.back();
    }
    r.version_dir = dir / "versions" / std::to_string(r.version);
    r.data_dir = r.version_dir / "data";
    r.manifest_path = r.version_dir / "manifest.json";
    const std::string version_what =
        "version " + std::to_string(r.version) + " of dataset '" + ref.name + "'";
    const struct stat vst = stat_or_throw(r.version_dir, version_what);
    const struct stat mst = stat_or_throw(r.manifest_path, version_what);
    if (!who.may(vst, 5) || !who.may(mst, 4)) {
        throw Error(ErrorKind::state, "permission denied: " + version_what);
    }
    return r;
}

Manifest Store::manifest(const ResolvedVersion& version) const {
    return read_manifest_file(version.manifest_path.string());
}

std::vector<DatasetInfo> Store::list(const Credentials& who) const {
    std::vector<DatasetInfo> out;
    for (const auto& name : dir_names(datasets_dir())) {
        if (name.empty() || name.front() == '.') {
            continue;
        }
        try {
            out.push_back(info(name, who));
        } catch (const Error&) {
            // Not readable by this user (private) or damaged: not listed.
        }
    }
    return out;
}

DatasetInfo Store::info(std::string_view name, const Credentials& who) const {
    const auto dir = dataset_dir(name);
    const std::string what = "dataset '" + std::string(name) + "' in " + datasets_dir().string();
    const struct stat st = stat_or_throw(dir, what);
    if (!who.may(st, 5)) {
        throw Error(ErrorKind::state, "permission denied: dataset '" + std::string(name) +
                                          "' is private to " + user_name(st.st_uid));
    }
    const DatasetMeta meta = read_dataset_meta(dir);
    DatasetInfo info;
    info.name = meta.name;
    info.id = meta.id;
    info.owner_uid = st.st_uid;
    info.owner = user_name(st.st_uid);
    info.private_dataset = meta.private_dataset;
    info.created = meta.created;
    const auto tags = read_tags(dir);
    for (const int v : version_numbers(dir)) {
        const Manifest m =
            read_manifest_file((dir / "versions" / std::to_string(v) / "manifest.json").string());
        VersionInfo vi;
        vi.version = v;
        vi.created = m.created;
        vi.creator = m.creator;
        vi.files = m.file_count();
        vi.bytes = m.total_bytes();
        for (const auto& [tag, tv] : tags) {
            if (tv == v) {
                vi.tags.push_back(tag);
            }
        }
        info.versions.push_back(std::move(vi));
    }
    return info;
}

void Store::tag(const Ref& ref, std::string_view tag_name) const {
    validate_tag_name(tag_name);
    const auto dir = dataset_dir(ref.name);
    require_owner(dir, ref.name);
    const ResolvedVersion r = resolve(ref, Credentials::current());
    write_file_atomic(dir / "tags" / std::string(tag_name), std::to_string(r.version) + "\n", 0644);
}

void Store::remove(const Ref& ref, bool whole_dataset) const {
    const auto dir = dataset_dir(ref.name);
    require_owner(dir, ref.name);
    const UniqueFd datasets = detail::open_dir(datasets_dir());
    if (whole_dataset) {
        // One rename makes the whole dataset disappear at once; the slow part comes after.
        const std::string doomed = ".deleted-" + ref.name + "-" + detail::random_token();
        if (::renameat(datasets.get(), ref.name.c_str(), datasets.get(), doomed.c_str()) != 0) {
            throw_errno("cannot delete dataset " + dir.string());
        }
        detail::remove_tree_at(datasets.get(), doomed);
        return;
    }
    const ResolvedVersion r = resolve(ref, Credentials::current());
    const UniqueFd dataset_fd = open_dir_at(datasets.get(), ref.name, dir.string());
    const UniqueFd versions_fd = open_dir_at(dataset_fd.get(), "versions", "versions");
    const UniqueFd tmp_fd = open_dir_at(dataset_fd.get(), "tmp", "tmp");
    const std::string number = std::to_string(r.version);
    {
        // Writable again for the rename below (see publish()), on the directory itself.
        const UniqueFd version_fd = open_dir_at(versions_fd.get(), number, r.version_dir.string());
        if (::fchmod(version_fd.get(), 0755) != 0) {
            throw_errno("cannot delete version " + number + " of " + ref.name);
        }
    }
    const std::string doomed = "deleted-" + number + "-" + detail::random_token();
    if (::renameat(versions_fd.get(), number.c_str(), tmp_fd.get(), doomed.c_str()) != 0) {
        throw_errno("cannot delete " + r.version_dir.string());
    }
    if (UniqueFd tags_fd =
            try_open_at(dataset_fd.get(), "tags", O_RDONLY | O_DIRECTORY | O_NOFOLLOW)) {
        for (const auto& tag_name : detail::list_dir(tags_fd.get())) {
            try {
                if (parse_tag_file(
                        detail::read_regular_beneath(tags_fd.get(), tag_name,
                                                     detail::tag_file_max_bytes, tag_name),
                        tag_name) == r.version) {
                    ::unlinkat(tags_fd.get(), tag_name.c_str(), 0);
                }
            } catch (const Error&) {
                // Not a tag of ours (a link, a FIFO, garbage): left alone.
            }
        }
    }
    detail::remove_tree_at(tmp_fd.get(), doomed);
    std::vector<std::string> problems;
    prune_objects(dataset_fd.get(), std::chrono::seconds(0), dir.string(), problems);
}

GcResult Store::gc(const GcOptions& options) const {
    GcResult result;
    const uid_t me = ::geteuid();
    const std::time_t cutoff = std::time(nullptr) - options.grace.count();
    const UniqueFd datasets = detail::open_dir(datasets_dir());
    auto old_enough = [&](int dir_fd, const std::string& name) {
        struct stat st {};
        return ::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
               st.st_mtime <= cutoff && (me == 0 || st.st_uid == me);
    };
    for (const auto& name : detail::list_dir(datasets.get())) {
        const std::string shown = (datasets_dir() / name).string();
        // One bad dataset is reported and never stops the others.
        try {
            if (name.front() == '.') {
                // An interrupted create (.new-*) or delete (.deleted-*).
                if (old_enough(datasets.get(), name)) {
                    detail::remove_tree_at(datasets.get(), name);
                    ++result.temporaries_removed;
                }
                continue;
            }
            struct stat st {};
            if (::fstatat(datasets.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                (me != 0 && st.st_uid != me)) {
                continue;  // other users' datasets are theirs to collect
            }
            if (!S_ISDIR(st.st_mode)) {
                report_skipped(result.problems, shown);
                continue;
            }
            const UniqueFd dataset =
                try_open_at(datasets.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            if (!dataset) {
                result.problems.push_back(shown + ": " + std::strerror(errno));
                continue;
            }
            ++result.datasets_scanned;
            if (const UniqueFd tmp =
                    try_open_at(dataset.get(), "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW)) {
                for (const auto& temp : detail::list_dir(tmp.get())) {
                    if (old_enough(tmp.get(), temp)) {
                        detail::remove_tree_at(tmp.get(), temp);
                        ++result.temporaries_removed;
                    }
                }
            } else if (errno != ENOENT) {
                report_skipped(result.problems, shown + "/tmp");
            }
            const PruneResult pruned =
                prune_objects(dataset.get(), options.grace, shown, result.problems);
            result.objects_removed += pruned.objects;
            result.bytes_removed += pruned.bytes;
        } catch (const std::exception& e) {
            result.problems.push_back(shown + ": " + e.what());
        }
    }
    return result;
}

}  // namespace hpsweep::datastore
