// Datastore staging benchmark (docs/datastores.md#benchmarks). Everything is measured in
// the same run on the same machine, and reported as ratios against baselines:
//   (a) cold stage of many small files vs `cp -r` and `rsync -a` of the same tree,
//   (b) cold stage of a few large files vs the same,
//   warm stage time of set (a), and bytes read from the store by 8 concurrent stagers.
// Quick defaults run in a few minutes; --full uses the sizes of the issue (50,000 x 3 KB
// and 4 x 500 MB). Never asserts on time; cleans up its work directory.
//
//   bench_datastore_stage [--full] [--small-files N] [--small-size BYTES]
//                         [--large-files N] [--large-size BYTES] [--repeat N]
//                         [--threads N] [--buffer-kb KB] [--workdir DIR] [--drop-caches]
//                         [--only small|large]

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "hpsweep/datastore/cache.hpp"
#include "hpsweep/process.hpp"

namespace fs = std::filesystem;
using namespace hpsweep;
using namespace hpsweep::datastore;
using Clock = std::chrono::steady_clock;

namespace {

struct Config {
    std::size_t small_files = 10000;
    std::size_t small_size = 3000;
    std::size_t large_files = 4;
    std::size_t large_size = 64u << 20;
    int repeat = 3;
    unsigned threads = 0;
    std::size_t buffer_bytes = 0;  // 0: the library's default
    fs::path workdir = fs::temp_directory_path();
    bool drop_caches = false;
    std::string only;  // "small" or "large": run just that part (quicker parameter sweeps)
};

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

void make_source(const fs::path& root, std::size_t files, std::size_t size) {
    std::mt19937_64 rng(files * 31 + size);
    std::string data(size, '\0');
    for (std::size_t i = 0; i < files; ++i) {
        for (std::size_t j = 0; j < size; j += 8) {
            const auto word = rng();
            std::memcpy(&data[j], &word, std::min<std::size_t>(8, size - j));
        }
        const auto dir = root / ("d" + std::to_string(i % 100));
        fs::create_directories(dir);
        std::ofstream(dir / ("f" + std::to_string(i)), std::ios::binary) << data;
    }
}

void drop_caches(const Config& cfg) {
    if (!cfg.drop_caches) {
        return;
    }
    ::sync();
    std::ofstream("/proc/sys/vm/drop_caches") << "3\n";
}

void wipe(const fs::path& p) {
    run_process({"chmod", "-R", "u+w", p.string()});
    std::error_code ec;
    fs::remove_all(p, ec);
}

// The machine is shared: the load average goes next to every result.
std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double time_command(const Config& cfg, const std::vector<std::string>& argv, const fs::path& dest) {
    std::vector<double> times;
    for (int i = 0; i < cfg.repeat; ++i) {
        wipe(dest);
        drop_caches(cfg);
        const auto start = Clock::now();
        const auto r = run_process(argv);
        times.push_back(seconds_since(start));
        if (!r.ok()) {
            std::fprintf(stderr, "%s failed: %s\n", argv[0].c_str(), r.err.c_str());
            std::exit(1);
        }
    }
    wipe(dest);
    return median(times);
}

double time_cold_stage(const Config& cfg, const Store& store, const std::string& name,
                       const fs::path& cache_dir) {
    std::vector<double> times;
    StageOptions options;
    options.threads = cfg.threads;
    options.buffer_bytes = cfg.buffer_bytes;
    for (int i = 0; i < cfg.repeat; ++i) {
        wipe(cache_dir);
        drop_caches(cfg);
        const auto start = Clock::now();
        auto r = stage(store, CacheConfig{cache_dir, 0}, Ref::parse(name), Credentials::current(),
                       options);
        times.push_back(seconds_since(start));
        if (!r.filled) {
            std::fprintf(stderr, "stage did not fill: %s\n", r.warning.c_str());
            std::exit(1);
        }
    }
    return median(times);
}

void compare(const Config& cfg, const Store& store, const std::string& name, const fs::path& work,
             const char* label) {
    const auto tree = store.resolve(Ref::parse(name), Credentials::current()).data_dir;
    const auto dest = work / "copy";
    const double cp = time_command(cfg, {"cp", "-r", tree.string(), dest.string()}, dest);
    const double rsync =
        time_command(cfg, {"rsync", "-a", tree.string() + "/", dest.string()}, dest);
    const double ours = time_cold_stage(cfg, store, name, work / "cache");
    std::printf(
        "%-28s cp -r %8.3f s   rsync -a %8.3f s   stage %8.3f s   "
        "speed vs cp %5.2fx  vs rsync %5.2fx\n",
        label, cp, rsync, ours, cp / ours, rsync / ours);
}

}  // namespace

int main(int argc, char** argv) {
    Config cfg;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", arg.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--full") {
            cfg.small_files = 50000;
            cfg.large_size = 500u << 20;
        } else if (arg == "--small-files") {
            cfg.small_files = std::stoul(next());
        } else if (arg == "--small-size") {
            cfg.small_size = std::stoul(next());
        } else if (arg == "--large-files") {
            cfg.large_files = std::stoul(next());
        } else if (arg == "--large-size") {
            cfg.large_size = std::stoul(next());
        } else if (arg == "--repeat") {
            cfg.repeat = std::max(1, std::stoi(next()));
        } else if (arg == "--threads") {
            cfg.threads = static_cast<unsigned>(std::stoul(next()));
        } else if (arg == "--buffer-kb") {
            cfg.buffer_bytes = std::stoul(next()) << 10;
        } else if (arg == "--workdir") {
            cfg.workdir = next();
        } else if (arg == "--only") {
            cfg.only = next();
            if (cfg.only != "small" && cfg.only != "large") {
                std::fprintf(stderr, "--only takes small or large\n");
                return 2;
            }
        } else if (arg == "--drop-caches") {
            cfg.drop_caches = true;
        } else {
            std::fprintf(stderr, "unknown argument %s (see the comment at the top of the source)\n",
                         arg.c_str());
            return 2;
        }
    }
    const fs::path work = cfg.workdir / ("hpsweep-bench-datastore-" + std::to_string(::getpid()));
    wipe(work);
    fs::create_directories(work);
    Store store(work / "store");
    std::printf(
        "datastore staging benchmark: small %zu x %zu B, large %zu x %zu MiB, median of %d, "
        "%u copy threads, %zu KiB copy buffer, page cache %s\n",
        cfg.small_files, cfg.small_size, cfg.large_files, cfg.large_size >> 20, cfg.repeat,
        cfg.threads == 0 ? 8 : cfg.threads, cfg.buffer_bytes == 0 ? 256 : cfg.buffer_bytes >> 10,
        cfg.drop_caches ? "dropped before each run of cp, rsync and stage alike"
                        : "warm (the source tree is in memory for cp, rsync and stage alike)");
    std::printf("load average at start: %s\n", load_average().c_str());

    const bool small = cfg.only != "large";
    const bool large = cfg.only != "small";
    if (small) {
        make_source(work / "src-small", cfg.small_files, cfg.small_size);
        store.create("small", work / "src-small", {});
        wipe(work / "src-small");
        compare(cfg, store, "small", work, "(a) many small files");
    }
    if (large) {
        make_source(work / "src-large", cfg.large_files, cfg.large_size);
        store.create("large", work / "src-large", {});
        wipe(work / "src-large");
        compare(cfg, store, "large", work, "(b) few large files");
    }
    if (!small) {
        std::printf("load average at end: %s\n", load_average().c_str());
        wipe(work);
        return 0;
    }

    // Warm stage of (a): the copy exists, a job only needs its path and a lease.
    const CacheConfig cache{work / "cache", 0};
    wipe(cache.dir);
    stage(store, cache, Ref::parse("small"), Credentials::current());
    std::vector<double> warm;
    for (int i = 0; i < 50; ++i) {
        const auto start = Clock::now();
        auto r = stage(store, cache, Ref::parse("small"), Credentials::current());
        warm.push_back(seconds_since(start) * 1000);
    }
    std::printf(
        "warm stage of (a)            median %.3f ms, max %.3f ms over 50 (goal <= 10 ms)\n",
        median(warm), *std::max_element(warm.begin(), warm.end()));

    // 8 concurrent cold stagers in separate processes: bytes they read from the store.
    wipe(cache.dir);
    int fds[2];
    if (::pipe(fds) != 0) {
        return 1;
    }
    std::vector<pid_t> children;
    for (int i = 0; i < 8; ++i) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::close(fds[0]);
            auto r = stage(store, cache, Ref::parse("small"), Credentials::current());
            const std::uint64_t read = r.bytes_read_from_store;
            (void)!::write(fds[1], &read, sizeof read);
            ::_exit(0);
        }
        children.push_back(pid);
    }
    ::close(fds[1]);
    for (const pid_t pid : children) {
        ::waitpid(pid, nullptr, 0);
    }
    std::uint64_t total_read = 0;
    std::uint64_t one = 0;
    while (::read(fds[0], &one, sizeof one) == sizeof one) {
        total_read += one;
    }
    ::close(fds[0]);
    const auto dataset_bytes =
        store.manifest(store.resolve(Ref::parse("small"), Credentials::current())).total_bytes();
    std::printf(
        "8 concurrent stagers of (a)  read %llu bytes from the store = %.2fx the dataset (goal "
        "1x)\n",
        static_cast<unsigned long long>(total_read),
        static_cast<double>(total_read) / static_cast<double>(dataset_bytes));
    std::printf("load average at end: %s\n", load_average().c_str());
    wipe(work);
    return 0;
}
