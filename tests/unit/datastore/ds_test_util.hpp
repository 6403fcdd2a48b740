#pragma once
// Helpers shared by the datastore tests: a fresh temp dir per test, deterministic source
// trees, and running a function in a forked child (as another user, or to be killed).

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>

#include "hpsweep/fs.hpp"
#include "hpsweep/process.hpp"

namespace dstest {

namespace fs = std::filesystem;

// A temp dir the test owns; removed (read-only trees included) when the test ends.
class TempDir {
public:
    explicit TempDir(const std::string& tag) {
        path_ =
            fs::temp_directory_path() / ("hpsweep-ds-" + tag + "-" + std::to_string(::getpid()) +
                                         "-" + std::to_string(counter()++));
        remove();
        fs::create_directories(path_);
        ::chmod(path_.c_str(), 0755);  // other test users must be able to traverse it
    }
    ~TempDir() { remove(); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& name) const { return path_ / name; }

private:
    static int& counter() {
        static int n = 0;
        return n;
    }
    void remove() {
        // Trees in the store and the cache are read-only (0555): make them writable first.
        hpsweep::run_process({"chmod", "-R", "u+w", path_.string()});
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    fs::path path_;
};

inline std::string content_for(std::size_t index, std::size_t size, unsigned salt = 0) {
    std::mt19937_64 rng(index * 7919 + salt);
    std::string data(size, '\0');
    for (auto& c : data) {
        c = static_cast<char>(rng());
    }
    return data;
}

inline void write_file(const fs::path& path, const std::string& data, unsigned mode = 0644) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << data;
    ::chmod(path.c_str(), mode);
}

// `count` files of `size` bytes spread over sub-directories, plus an executable and a
// symlink that stays inside.
inline std::uint64_t make_tree(const fs::path& root, std::size_t count, std::size_t size) {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < count; ++i) {
        write_file(root / ("d" + std::to_string(i % 10)) / ("f" + std::to_string(i) + ".bin"),
                   content_for(i, size));
        total += size;
    }
    write_file(root / "bin" / "run.sh", "#!/bin/sh\necho run\n", 0755);
    fs::create_symlink("../bin/run.sh", root / "d0" / "run-link");
    fs::create_directories(root / "empty");
    return total + 19;
}

inline std::string slurp(const fs::path& path) {
    return hpsweep::read_file(path);
}

// Runs fn() in a forked child; returns its exit status (fn's return value, 99 on exception).
inline int in_child(const std::function<int()>& fn) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        int code = 99;
        try {
            code = fn();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "child %d: unexpected exception: %s\n",
                         static_cast<int>(::getpid()), e.what());
            code = 99;
        } catch (...) {
            code = 99;
        }
        ::_exit(code);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace dstest
