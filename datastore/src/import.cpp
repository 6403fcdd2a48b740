#include "import.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "fsutil.hpp"
#include "hpsweep/datastore/paths.hpp"
#include "hpsweep/datastore/safe_fs.hpp"
#include "hpsweep/error.hpp"
#include "read_ahead.hpp"

namespace hpsweep::datastore::detail {

namespace {

// ---- directories -------------------------------------------------------------------

struct DirWalker {
    const std::filesystem::path& root;
    EntrySink& sink;
    std::uint64_t total = 0;
    std::uint64_t done = 0;

    struct Child {
        std::string name;
        struct stat st;
    };

    std::vector<Child> children(int dir_fd, const std::string& shown) {
        const int dup_fd = ::dup(dir_fd);
        DIR* dir = dup_fd >= 0 ? ::fdopendir(dup_fd) : nullptr;
        if (dir == nullptr) {
            if (dup_fd >= 0) {
                ::close(dup_fd);
            }
            throw_errno("cannot read directory " + shown);
        }
        std::unique_ptr<DIR, int (*)(DIR*)> guard(dir, ::closedir);
        ::rewinddir(dir);  // the duplicate shares its offset with dir_fd, read before
        std::vector<Child> out;
        errno = 0;
        while (const dirent* e = ::readdir(dir)) {
            const std::string name = e->d_name;
            if (name == "." || name == "..") {
                continue;
            }
            Child c{name, {}};
            if (::fstatat(dir_fd, name.c_str(), &c.st, AT_SYMLINK_NOFOLLOW) != 0) {
                throw_errno("cannot read " + shown + "/" + name);
            }
            out.push_back(std::move(c));
        }
        if (errno != 0) {
            throw_errno("cannot read directory " + shown);
        }
        std::sort(out.begin(), out.end(),
                  [](const Child& a, const Child& b) { return a.name < b.name; });
        return out;
    }

    void size_pass(int dir_fd, const std::string& shown) {
        for (const auto& c : children(dir_fd, shown)) {
            if (S_ISREG(c.st.st_mode)) {
                total += static_cast<std::uint64_t>(c.st.st_size);
            } else if (S_ISDIR(c.st.st_mode)) {
                const UniqueFd sub = open_dir_at(dir_fd, c.name, shown + "/" + c.name);
                size_pass(sub.get(), shown + "/" + c.name);
            }
        }
    }

    void walk(int dir_fd, const std::string& rel) {
        const std::string shown = rel.empty() ? root.string() : (root / rel).string();
        for (const auto& c : children(dir_fd, shown)) {
            const std::string path = rel.empty() ? c.name : rel + "/" + c.name;
            const std::string where = (root / path).string();
            const unsigned mode = c.st.st_mode & 07777;
            if (S_ISDIR(c.st.st_mode)) {
                sink.directory(path, mode);
                const UniqueFd sub = open_dir_at(dir_fd, c.name, where);
                walk(sub.get(), path);
            } else if (S_ISREG(c.st.st_mode)) {
                const UniqueFd fd = open_at(dir_fd, c.name, O_RDONLY | O_NOFOLLOW, where);
                sink.file(path, mode, static_cast<std::uint64_t>(c.st.st_size),
                          [&](char* buf, std::size_t n) {
                              const std::size_t got = read_full(fd.get(), buf, n, where);
                              done += got;
                              return got;
                          });
                sink.progress(done, total);
            } else if (S_ISLNK(c.st.st_mode)) {
                std::string target(static_cast<std::size_t>(c.st.st_size) + 1, '\0');
                const ssize_t n =
                    ::readlinkat(dir_fd, c.name.c_str(), target.data(), target.size());
                if (n < 0) {
                    throw_errno("cannot read symlink " + where);
                }
                target.resize(static_cast<std::size_t>(n));
                sink.symlink(path, target);
            } else {
                throw Error(ErrorKind::data, where +
                                                 ": unsupported file type (only files, "
                                                 "directories and symlinks)");
            }
        }
    }
};

// ---- archives ----------------------------------------------------------------------

struct ArchiveDeleter {
    void operator()(archive* a) const noexcept { archive_read_free(a); }
};

// libarchive converts entry names to the charset of the calling thread's locale, which in
// a program that never calls setlocale() is "C" (ASCII): a zip entry named in UTF-8 with
// anything beyond ASCII then has no name at all (ARCHIVE_WARN, NULL) and was silently left
// out of the version (found while fuzzing the import). The import runs with a UTF-8
// LC_CTYPE for this thread only; the manifest is UTF-8 anyway.
class Utf8Ctype {
public:
    Utf8Ctype() : utf8_(::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr))) {
        if (utf8_ != static_cast<locale_t>(nullptr)) {
            previous_ = ::uselocale(utf8_);
        }
    }
    Utf8Ctype(const Utf8Ctype&) = delete;
    Utf8Ctype& operator=(const Utf8Ctype&) = delete;
    ~Utf8Ctype() {
        if (utf8_ != static_cast<locale_t>(nullptr)) {
            ::uselocale(previous_);
            ::freelocale(utf8_);
        }
    }

private:
    locale_t utf8_;
    locale_t previous_ = static_cast<locale_t>(nullptr);
};

// libarchive's message for the last error; for some failures it has none (a NULL, which
// `std::string + char*` would crash on).
std::string archive_error(archive* a) {
    const char* message = archive_error_string(a);
    return message != nullptr ? message : "unknown libarchive error";
}

}  // namespace

SourceKind source_kind(const std::filesystem::path& source) {
    struct stat st {};
    if (::stat(source.c_str(), &st) != 0) {
        throw_errno("cannot read source " + source.string());
    }
    if (S_ISDIR(st.st_mode)) {
        return SourceKind::directory;
    }
    const std::string name = source.filename().string();
    for (const char* suffix : {".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".txz"}) {
        if (S_ISREG(st.st_mode) && name.ends_with(suffix)) {
            return SourceKind::archive;
        }
    }
    throw Error(ErrorKind::usage, "source " + source.string() +
                                      " is neither a directory nor a .zip, .tar, .tar.gz or "
                                      ".tgz archive");
}

void import_directory(const std::filesystem::path& source, EntrySink& sink) {
    // The source root itself may be a symlink to a directory; nothing below it is followed.
    UniqueFd root_fd = open_at(AT_FDCWD, source.string(), O_RDONLY | O_DIRECTORY, source.string());
    DirWalker walker{source, sink};
    walker.size_pass(root_fd.get(), source.string());
    walker.walk(root_fd.get(), "");
    sink.progress(walker.total, walker.total);
}

void import_listed_files(const std::filesystem::path& source, const std::vector<std::string>& paths,
                         EntrySink& sink) {
    const UniqueFd root = open_dir(source);
    std::mutex progress_mutex;
    std::uint64_t total = 0;
    std::uint64_t done = 0;
    // Creating the store's files costs about twice what reading them does: two threads
    // store what the reader hands over (rsync's receiver and generator are two processes
    // besides its sender), each from a lane of its own.
    ReadAhead ahead(root.get(), source, paths, 2);
    const auto store_entries = [&](std::size_t lane) {
        while (auto entry = ahead.next(lane)) {
            if (entry->kind == ReadAheadEntry::Kind::symlink) {
                sink.symlink(entry->path, entry->target);
                continue;
            }
            std::size_t offset = 0;
            std::uint64_t read_bytes = 0;
            sink.file(entry->path, entry->mode, entry->size, [&](char* buf, std::size_t n) {
                std::size_t got = 0;
                if (offset < entry->head_size) {
                    got = std::min(n, entry->head_size - offset);
                    std::memcpy(buf, entry->head.data() + offset, got);
                    offset += got;
                } else if (entry->fd) {
                    got = read_some(entry->fd.get(), buf, n, entry->where);
                }
                read_bytes += got;
                return got;
            });
            {
                const std::lock_guard lock(progress_mutex);
                total += entry->size;
                done += read_bytes;
                sink.progress(done, total);
            }
            ahead.recycle(std::move(entry->head));
        }
    };
    std::exception_ptr helper_error;
    std::thread helper([&] {
        try {
            store_entries(1);
        } catch (...) {
            helper_error = std::current_exception();
            ahead.stop();
        }
    });
    try {
        store_entries(0);
    } catch (...) {
        ahead.stop();
        helper.join();
        throw;
    }
    helper.join();
    if (helper_error) {
        std::rethrow_exception(helper_error);
    }
}

void import_archive(const std::filesystem::path& source, EntrySink& sink) {
    // Open ourselves and hand libarchive the fd: the error for an unreadable file is ours.
    UniqueFd fd = open_at(AT_FDCWD, source.string(), O_RDONLY, "source " + source.string());
    struct stat st {};
    ::fstat(fd.get(), &st);
    const auto total = static_cast<std::uint64_t>(st.st_size);

    const Utf8Ctype utf8_names;  // before the archive object: it caches the charset
    std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
    archive_read_support_filter_all(a.get());
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
    archive_read_support_format_zip(a.get());
    if (archive_read_open_fd(a.get(), fd.get(), 1 << 20) != ARCHIVE_OK) {
        throw Error(ErrorKind::data,
                    source.string() + ": cannot open archive: " + archive_error(a.get()));
    }
    const std::string where = source.string();
    for (;;) {
        archive_entry* entry = nullptr;
        const int r = archive_read_next_header(a.get(), &entry);
        if (r == ARCHIVE_EOF) {
            break;
        }
        if (r < ARCHIVE_WARN) {
            throw Error(ErrorKind::data, where + ": corrupt archive: " + archive_error(a.get()));
        }
        // An entry whose name libarchive cannot give is an error, never skipped: an empty
        // name would be taken for "./" (the root) and the entry silently left out.
        const char* raw_name = archive_entry_pathname(entry);
        if (raw_name == nullptr) {
            raw_name = archive_entry_pathname_utf8(entry);
        }
        if (raw_name == nullptr) {
            throw Error(ErrorKind::data,
                        where + ": an entry's name cannot be read: " + archive_error(a.get()));
        }
        const std::string raw = raw_name;
        const std::string path = normalize_entry_path(raw, where);
        const char* hard = archive_entry_hardlink(entry);
        if (hard == nullptr) {
            hard = archive_entry_hardlink_utf8(entry);
        }
        if (hard != nullptr) {
            if (path.empty()) {
                throw Error(ErrorKind::data, where + ": hard link entry with an empty name");
            }
            sink.hardlink(path, normalize_entry_path(hard, where));
            continue;
        }
        const mode_t type = archive_entry_filetype(entry);
        const unsigned mode = archive_entry_perm(entry) & 07777;
        if (path.empty()) {
            continue;  // "./" : the root itself
        }
        if (type == AE_IFDIR) {
            sink.directory(path, mode);
        } else if (type == AE_IFREG) {
            const auto size = archive_entry_size_is_set(entry)
                                  ? static_cast<std::uint64_t>(archive_entry_size(entry))
                                  : 0;
            sink.file(path, mode, size, [&](char* buf, std::size_t n) -> std::size_t {
                for (;;) {
                    const la_ssize_t got = archive_read_data(a.get(), buf, n);
                    if (got == ARCHIVE_RETRY) {
                        continue;
                    }
                    if (got < 0) {
                        throw Error(ErrorKind::data, where + ": cannot read entry '" + raw +
                                                         "': " + archive_error(a.get()));
                    }
                    return static_cast<std::size_t>(got);
                }
            });
            sink.progress(static_cast<std::uint64_t>(archive_filter_bytes(a.get(), -1)), total);
        } else if (type == AE_IFLNK) {
            const char* target = archive_entry_symlink(entry);
            if (target == nullptr) {
                target = archive_entry_symlink_utf8(entry);
            }
            sink.symlink(path, target != nullptr ? target : "");
        } else {
            throw Error(ErrorKind::data, where + ": entry '" + raw +
                                             "' rejected: unsupported type (only files, "
                                             "directories and symlinks)");
        }
    }
    sink.progress(total, total);
}

}  // namespace hpsweep::datastore::detail
