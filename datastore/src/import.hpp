#pragma once
// Reading a dataset source (directory or archive) entry by entry into a sink.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace hpsweep::datastore::detail {

// Reads up to n bytes of the current file into buf; returns 0 at the end.
using ReadFn = std::function<std::size_t(char* buf, std::size_t n)>;

class EntrySink {
public:
    virtual ~EntrySink() = default;
    // Paths are already normalised (normalize_entry_path) and never empty.
    virtual void directory(const std::string& path, unsigned mode) = 0;
    virtual void file(const std::string& path, unsigned mode, std::uint64_t size_hint,
                      const ReadFn& read) = 0;
    virtual void symlink(const std::string& path, const std::string& target) = 0;
    // A hard link in an archive to an entry read earlier.
    virtual void hardlink(const std::string& path, const std::string& existing) = 0;
    // Progress of reading the source: bytes done, bytes expected.
    virtual void progress(std::uint64_t done, std::uint64_t total) = 0;
};

enum class SourceKind { directory, archive };
// Throws Error(io) when the source is missing/unreadable, Error(usage) for a file that is
// not a supported archive.
SourceKind source_kind(const std::filesystem::path& source);

void import_directory(const std::filesystem::path& source, EntrySink& sink);
// Only the listed paths below `source` ("a/b.py", sorted, each once): a code snapshot takes
// the files git lists, not the whole tree. Listed paths that are gone or are directories (a
// git submodule) are skipped; every component is opened without following links.
void import_listed_files(const std::filesystem::path& source, const std::vector<std::string>& paths,
                         EntrySink& sink);
void import_archive(const std::filesystem::path& source, EntrySink& sink);

}  // namespace hpsweep::datastore::detail
