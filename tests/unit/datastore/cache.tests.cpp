#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "ds_test_util.hpp"
#include "hpsweep/datastore/cache.hpp"
#include "hpsweep/error.hpp"

using namespace hpsweep;
using namespace hpsweep::datastore;
using dstest::TempDir;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const fs::path& file) {
    std::vector<std::string> lines;
    if (!fs::exists(file)) {
        return lines;
    }
    std::istringstream in(dstest::slurp(file));
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

std::size_t count_entries(const fs::path& dir) {
    if (!fs::exists(dir)) {
        return 0;
    }
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir), fs::directory_iterator{}));
}

fs::path area(const fs::path& cache) {
    return cache / ("uid-" + std::to_string(::geteuid()));
}

struct Fixture {
    TempDir tmp;
    Store store;
    CacheConfig cache;
    std::uint64_t bytes;
    explicit Fixture(const std::string& tag, std::size_t files = 200, std::size_t size = 3000)
        : tmp(tag), store(tmp / "store"), cache{tmp / "cache", 0} {
        bytes = dstest::make_tree(tmp / "src", files, size);
        store.create("ds", tmp / "src", {});
    }
};

void check_copy(const fs::path& copy, std::size_t files, std::size_t size) {
    for (std::size_t i = 0; i < files; i += 7) {
        const auto file =
            copy / ("d" + std::to_string(i % 10)) / ("f" + std::to_string(i) + ".bin");
        REQUIRE(dstest::slurp(file) == dstest::content_for(i, size));
    }
    CHECK(fs::is_symlink(copy / "d0" / "run-link"));
    CHECK(dstest::slurp(copy / "d0" / "run-link") == "#!/bin/sh\necho run\n");
    struct stat st {};
    REQUIRE(::stat((copy / "bin" / "run.sh").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0555);
    REQUIRE(::stat((copy / "d1" / "f1.bin").c_str(), &st) == 0);
    CHECK((st.st_mode & 0222) == 0);  // read-only
}

}  // namespace

TEST_CASE("stage copies a version once, verified, and later stages reuse it",
          "[datastore][cache]") {
    Fixture f("cache-basic");
    auto first = stage(f.store, f.cache, Ref::parse("ds"), Credentials::current());
    CHECK(first.cached);
    CHECK(first.filled);
    CHECK(first.warning.empty());
    CHECK(first.bytes_read_from_store == f.bytes);
    CHECK(first.lease.active());
    check_copy(first.path, 200, 3000);
    CHECK(first.path.parent_path().parent_path() == area(f.cache.dir));

    auto second = stage(f.store, f.cache, Ref::parse("ds:1"), Credentials::current());
    CHECK(second.path == first.path);
    CHECK_FALSE(second.filled);
    CHECK(second.bytes_read_from_store == 0);
    CHECK(lines_of(area(f.cache.dir) / "fills.log").size() == 1);
    CHECK(count_entries(area(f.cache.dir) / "tmp") == 0);
}

TEST_CASE("a corrupt object in the store is detected and nothing is published",
          "[datastore][cache]") {
    Fixture f("cache-corrupt", 20, 1000);
    const auto v = f.store.resolve(Ref::parse("ds"), Credentials::current());
    const auto manifest = f.store.manifest(v);
    const auto victim = std::find_if(manifest.entries.begin(), manifest.entries.end(),
                                     [](const ManifestEntry& e) { return e.path == "d3/f3.bin"; });
    REQUIRE(victim != manifest.entries.end());
    const auto object =
        v.dataset_dir / "objects" / victim->hash.hex().substr(0, 2) / object_name(*victim);
    ::chmod(object.c_str(), 0644);
    {
        std::fstream out(object, std::ios::in | std::ios::out | std::ios::binary);
        out.seekp(10);
        out.put('\x7f');  // one flipped byte, same size
    }
    CHECK_THROWS_WITH(stage(f.store, f.cache, Ref::parse("ds"), Credentials::current()),
                      Catch::Contains("integrity check failed") && Catch::Contains("d3/f3.bin"));
    CHECK(count_entries(area(f.cache.dir) / "entries") == 0);
    CHECK(count_entries(area(f.cache.dir) / "tmp") == 0);
}

TEST_CASE("8 concurrent stagers in threads make one copy and read the store once",
          "[datastore][cache]") {
    Fixture f("cache-threads", 300, 3000);
    std::vector<StageResult> results(8);
    {
        std::vector<std::jthread> threads;
        for (std::size_t i = 0; i < results.size(); ++i) {
            threads.emplace_back([&, i] {
                results[i] = stage(f.store, f.cache, Ref::parse("ds"), Credentials::current());
            });
        }
    }
    std::uint64_t read = 0;
    int fills = 0;
    for (const auto& r : results) {
        CHECK(r.cached);
        CHECK(r.path == results[0].path);
        read += r.bytes_read_from_store;
        fills += r.filled ? 1 : 0;
    }
    CHECK(fills == 1);
    CHECK(read == f.bytes);
    CHECK(lines_of(area(f.cache.dir) / "fills.log").size() == 1);
    CHECK(count_entries(area(f.cache.dir) / "entries") == 1);
    check_copy(results[0].path, 300, 3000);
}

TEST_CASE("8 concurrent stagers in processes make one copy", "[datastore][cache]") {
    Fixture f("cache-procs", 300, 3000);
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    std::vector<pid_t> children;
    for (int i = 0; i < 8; ++i) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::close(pipe_fds[0]);
            int code = 0;
            try {
                const auto r = stage(f.store, f.cache, Ref::parse("ds"), Credentials::current());
                const std::uint64_t report[2] = {r.bytes_read_from_store, r.filled ? 1u : 0u};
                code = ::write(pipe_fds[1], report, sizeof report) == sizeof report && r.cached ? 0
                                                                                                : 2;
            } catch (...) {
                code = 3;
            }
            ::_exit(code);
        }
        children.push_back(pid);
    }
    ::close(pipe_fds[1]);
    for (const pid_t pid : children) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    std::uint64_t read = 0, fills = 0, report[2];
    while (::read(pipe_fds[0], report, sizeof report) == sizeof report) {
        read += report[0];
        fills += report[1];
    }
    ::close(pipe_fds[0]);
    CHECK(fills == 1);
    CHECK(read == f.bytes);
    CHECK(lines_of(area(f.cache.dir) / "fills.log").size() == 1);
    CHECK(count_entries(area(f.cache.dir) / "entries") == 1);
}

TEST_CASE("a fill killed with SIGKILL leaves nothing a later stage uses", "[datastore][cache]") {
    Fixture f("cache-kill", 2000, 1000);
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(pipe_fds[0]);
        StageOptions slow;
        slow.threads = 1;
        slow.progress = [&](std::uint64_t, std::uint64_t) {
            const char byte = 'p';
            (void)!::write(pipe_fds[1], &byte, 1);
            ::usleep(100000);  // a slow fill: the parent kills it in the middle
        };
        try {
            stage(f.store, f.cache, Ref::parse("ds"), Credentials::current(), slow);
        } catch (...) {
        }
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    char byte = 0;
    REQUIRE(::read(pipe_fds[0], &byte, 1) == 1);  // the fill is under way
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(pipe_fds[0]);
    REQUIRE(WIFSIGNALED(status));
    CHECK(count_entries(area(f.cache.dir) / "tmp") == 1);  // the half-filled copy
    CHECK(count_entries(area(f.cache.dir) / "entries") == 0);

    auto r = stage(f.store, f.cache, Ref::parse("ds"), Credentials::current());
    CHECK(r.filled);
    CHECK(r.cached);
    check_copy(r.path, 2000, 1000);
    CHECK(count_entries(area(f.cache.dir) / "tmp") == 0);  // the stale temp was cleaned
}

TEST_CASE("eviction keeps cache_max, least recently used first, never a version in use",
          "[datastore][cache]") {
    TempDir tmp("cache-evict");
    Store store(tmp / "store");
    for (const char* name : {"a", "b", "c"}) {
        dstest::write_file(tmp / name / "data.bin", dstest::content_for(name[0], 100000));
        store.create(name, tmp / name, {});
    }
    // Room for two of the three versions (each ~100 KB + a directory).
    CacheConfig cache{tmp / "cache", 250000};
    auto a = stage(store, cache, Ref::parse("a"), Credentials::current());  // kept in use
    REQUIRE(a.cached);
    {
        auto b = stage(store, cache, Ref::parse("b"), Credentials::current());
        REQUIRE(b.cached);
    }  // b released
    auto c = stage(store, cache, Ref::parse("c"), Credentials::current());
    CHECK(c.cached);
    CHECK(fs::exists(a.path / "data.bin"));  // in use: not evicted
    const auto entries = cache_entries(cache, ::geteuid());
    std::vector<std::string> names;
    for (const auto& e : entries) {
        names.push_back(e.name);
        if (e.name == "a" || e.name == "c") {
            CHECK(e.in_use);
        }
    }
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"a", "c"});  // b (unused) made room

    // Now a and c are both in use: a third version does not fit and must not evict them;
    // the caller is told and reads from the shared store.
    auto b_again = stage(store, cache, Ref::parse("b"), Credentials::current());
    CHECK_FALSE(b_again.cached);
    CHECK_THAT(b_again.warning, Catch::Contains("cache_max"));
    CHECK(b_again.path == store.resolve(Ref::parse("b"), Credentials::current()).data_dir);
    CHECK(dstest::slurp(b_again.path / "data.bin") == dstest::content_for('b', 100000));
    CHECK(fs::exists(a.path / "data.bin"));
    CHECK(fs::exists(c.path / "data.bin"));

    // Once a is released, b fits by evicting it.
    a.lease.release();
    auto b_third = stage(store, cache, Ref::parse("b"), Credentials::current());
    CHECK(b_third.cached);
    CHECK_FALSE(fs::exists(a.path));
    CHECK(fs::exists(c.path / "data.bin"));
}

TEST_CASE("a full disk falls back to the shared store with a warning", "[datastore][cache]") {
    if (::geteuid() != 0) {
        WARN("skipped: mounting a small tmpfs as the cache needs root");
        return;
    }
    TempDir tmp("cache-full");
    Store store(tmp / "store");
    dstest::write_file(tmp / "src" / "big.bin", dstest::content_for(1, 3 << 20));
    store.create("big", tmp / "src", {});
    fs::create_directories(tmp / "cache");
    REQUIRE(
        run_process({"mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", (tmp / "cache").string()})
            .ok());
    CacheConfig cache{tmp / "cache", 0};
    StageResult r;
    CHECK_NOTHROW(r = stage(store, cache, Ref::parse("big"), Credentials::current()));
    const auto left_in_tmp = count_entries(area(cache.dir) / "tmp");
    run_process({"umount", (tmp / "cache").string()});
    CHECK_FALSE(r.cached);
    CHECK_THAT(r.warning, Catch::Contains("no space left"));
    CHECK(dstest::slurp(r.path / "big.bin") == dstest::content_for(1, 3 << 20));
    CHECK(left_in_tmp == 0);
}
