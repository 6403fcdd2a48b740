// Archive import (datastore/src/import.cpp via Store::create): `hpsweep datastore create NAME
// data.tgz` reads a user's .tar/.tgz/.zip with libarchive into a new dataset version on
// shared storage, which every job of every user may later read (and which root-run staging
// copies into the node-local cache).
//
// Input: the bytes of an archive (libarchive detects the format and compression itself).
// Each input gets a fresh store in scratch space. Besides "Error or success", checked:
//  - nothing is written outside the store: the scratch directory holds only the store, the
//    archive and an empty working directory (the process's cwd during the import);
//  - a published version has no symlink that leaves its data tree (checked by the kernel:
//    openat2 RESOLVE_BENEATH), no special files, nothing writable by group/others, no
//    set-id bits;
//  - a failed create leaves no half-built version in the dataset's tmp/.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "hpsweep/datastore/store.hpp"

using namespace hpsweep;
using namespace hpsweep::datastore;
namespace fs = std::filesystem;

namespace {

// 0: unknown, 1: openat2 works, -1: not available (old kernel, seccomp): lexical check only.
int openat2_state = 0;

// Where a symlink inside `data` leads, checked by the kernel: EXDEV means it escapes.
bool escapes_beneath(const fs::path& data, const fs::path& relative) {
    if (openat2_state < 0)
        return false;
    const int dir = ::open(data.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        fuzz::finding("cannot open the published data tree %s", data.c_str());
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    const long fd = ::syscall(SYS_openat2, dir, relative.c_str(), &how, sizeof how);
    const int saved = errno;
    ::close(dir);
    if (fd >= 0) {
        ::close(static_cast<int>(fd));
        openat2_state = 1;
        return false;
    }
    if (saved == ENOSYS || saved == EPERM) {
        openat2_state = -1;
        std::fprintf(stderr, "archive_import: openat2 unavailable, symlink escape check off\n");
        return false;
    }
    return saved == EXDEV;
}

void check_published_tree(const fs::path& dataset) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dataset, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        struct stat st {};
        if (::lstat(it->path().c_str(), &st) != 0)
            fuzz::finding("cannot lstat %s", it->path().c_str());
        const auto type = st.st_mode & S_IFMT;
        if (type != S_IFREG && type != S_IFDIR && type != S_IFLNK)
            fuzz::finding("special file in the store: %s", it->path().c_str());
        if (type != S_IFLNK && (st.st_mode & (S_ISUID | S_ISGID | S_IWGRP | S_IWOTH)) != 0) {
            fuzz::finding("%s has mode %o (set-id or writable by others)", it->path().c_str(),
                          st.st_mode & 07777);
        }
        if (type == S_IFLNK) {
            // versions/N/data/<path>: resolve beneath the version's data tree.
            const fs::path relative = it->path().lexically_relative(dataset);
            const std::vector<fs::path> parts(relative.begin(), relative.end());
            if (parts.size() < 4 || parts[0] != "versions" || parts[2] != "data")
                fuzz::finding("symlink outside a version's data tree: %s", it->path().c_str());
            const fs::path data = dataset / "versions" / parts[1] / "data";
            const fs::path inside = it->path().lexically_relative(data);
            char target[4096] = {};
            (void)::readlink(it->path().c_str(), target, sizeof target - 1);
            if (target[0] == '/' || escapes_beneath(data, inside)) {
                fuzz::finding("published symlink escapes the dataset: %s -> %s", inside.c_str(),
                              target);
            }
        }
    }
    if (ec)
        fuzz::finding("cannot walk the store: %s", ec.message().c_str());
}

}  // namespace

// A umask that lets the group write (002, common on clusters) must not make anything in the
// shared store group-writable: every mode the store relies on is set explicitly.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    ::umask(002);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fs::path base = fuzz::scratch_dir() / "run";
    fuzz::remove_tree(base);
    fs::create_directories(base / "cwd");
    const fs::path archive = base / "input.tar";
    fuzz::write_bytes(archive, data, size);
    const fs::path root = base / "store";

    char previous_cwd[4096];
    if (::getcwd(previous_cwd, sizeof previous_cwd) == nullptr ||
        ::chdir((base / "cwd").c_str()) != 0) {
        std::perror("fuzz harness: chdir");
        std::abort();
    }
    CreateOptions options;
    options.private_dataset = false;
    const bool created = fuzz::only_bad_input([&] {
        const Store store(root);
        (void)store.create("fuzz", archive, options);
    });
    if (::chdir(previous_cwd) != 0) {
        std::perror("fuzz harness: chdir back");
        std::abort();
    }

    // Nothing outside the store.
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(base)) names.insert(e.path().filename());
    for (const auto& name : names) {
        if (name != "cwd" && name != "store" && name != "input.tar")
            fuzz::finding("the import wrote outside the store: %s", (base / name).c_str());
    }
    if (!fs::is_empty(base / "cwd"))
        fuzz::finding("the import wrote into the working directory");
    std::error_code ec;
    if (fs::file_size(archive, ec) != size || ec)
        fuzz::finding("the import changed its source archive");

    const fs::path dataset = root / "datasets" / "fuzz";
    if (fs::exists(dataset / "tmp")) {
        for (const auto& e : fs::directory_iterator(dataset / "tmp")) {
            if (e.path().filename().string().starts_with("v-"))
                fuzz::finding("%s: a version being built was left behind (created=%d)",
                              e.path().c_str(), created);
        }
    }
    if (fs::exists(dataset))
        check_published_tree(dataset);
    return 0;
}
