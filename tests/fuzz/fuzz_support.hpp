#pragma once
// Shared by the libFuzzer targets (tests/fuzz/*.fuzz.cpp, docs/fuzzing.md).
//
// The contract every target checks: on any input, a parser either returns or throws
// hpsweep::Error, the documented "bad input" exception (common/include/hpsweep/error.hpp).
// Anything else is a finding: another exception type, a crash, an ASan/UBSan report, a leak,
// a timeout, running out of memory, or a property of the result that a target checks
// (finding()).

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <typeinfo>

#include <nlohmann/json.hpp>

#include "hpsweep/error.hpp"

namespace hpsweep::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Reports a broken property and aborts: libFuzzer saves the input as a crash reproducer.
[[noreturn]] __attribute__((format(printf, 1, 2))) inline void finding(const char* format, ...) {
    std::fputs("==hpsweep-fuzz== FINDING: ", stderr);
    va_list args;
    va_start(args, format);
    std::vfprintf(stderr, format, args);
    va_end(args);
    std::fputc('\n', stderr);
    std::fflush(stderr);
    std::abort();
}

// Runs `parse`; hpsweep::Error is the expected answer to bad input, anything else that
// escapes is a finding. Returns true when `parse` returned normally.
template <typename Parse>
bool only_bad_input(Parse&& parse) {
    try {
        parse();
        return true;
    } catch (const hpsweep::Error&) {
        return false;
    } catch (const std::exception& e) {
        finding("an exception other than hpsweep::Error escaped: %s: %s", typeid(e).name(),
                e.what());
    } catch (...) {
        finding("an exception of an unknown type escaped");
    }
}

// A hyper-parameter value a trial can be given: numbers must be finite ("--lr inf" or
// "--lr nan" on a trial's command line is never what the sweep meant).
inline bool is_usable_value(const nlohmann::ordered_json& typed) {
    return !typed.is_number_float() || std::isfinite(typed.get<double>());
}

// Removes a tree that may hold read-only directories.
inline void remove_tree(const std::filesystem::path& root, bool quiet = false) {
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::symlink_status(root, ec))) {
        return;
    }
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_symlink(ec) && it->is_directory(ec)) {
            ::chmod(it->path().c_str(), 0700);
        }
    }
    ::chmod(root.c_str(), 0700);
    std::filesystem::remove_all(root, ec);
    if (ec && !quiet) {
        std::fprintf(stderr, "fuzz harness: cannot remove %s: %s\n", root.c_str(),
                     ec.message().c_str());
        std::abort();
    }
}

// Scratch space for targets that need files: under $TMPDIR, else /dev/shm (no disk syncs),
// else /tmp. Made once per process, removed at exit.
inline const std::filesystem::path& scratch_dir() {
    static const std::filesystem::path dir = [] {
        std::string base;
        if (const char* tmp = std::getenv("TMPDIR"); tmp && *tmp) {
            base = tmp;
        } else if (::access("/dev/shm", W_OK) == 0) {
            base = "/dev/shm";
        } else {
            base = "/tmp";
        }
        std::string pattern = base + "/hpsweep-fuzz-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) {
            std::perror(("cannot create a scratch directory under " + base).c_str());
            std::abort();
        }
        std::atexit([] { remove_tree(scratch_dir(), /*quiet=*/true); });
        return std::filesystem::absolute(pattern);
    }();
    return dir;
}

// Writes `size` bytes to `path` (replacing it); aborts when it cannot: that is the
// harness failing, not the code under test.
inline void write_bytes(const std::filesystem::path& path, const std::uint8_t* data,
                        std::size_t size) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr || (size > 0 && std::fwrite(data, 1, size, f) != size) ||
        std::fclose(f) != 0) {
        std::perror(("fuzz harness: cannot write " + path.string()).c_str());
        std::abort();
    }
}

}  // namespace hpsweep::fuzz
