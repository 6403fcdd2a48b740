// Code snapshot benchmark (docs/snapshots.md#benchmark). A git repository of 5,000 files and
// 50 MiB is snapshotted cold (empty store), then again unchanged (a second submit of the
// same code), and compared with `git archive` and `rsync -a` of the same tree in the same
// run. Prints times, ratios and the bytes each snapshot added to the store; never asserts.
// Goals (issue 16): unchanged <= 50 ms and <= 1 % new bytes; cold <= 1x rsync -a.
//
//   bench_snapshot [--files N] [--bytes TOTAL] [--repeat N] [--workdir DIR]

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
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
#include <thread>
#include <vector>

#include "hpsweep/datastore/snapshot.hpp"
#include "hpsweep/process.hpp"

namespace fs = std::filesystem;
using namespace hpsweep;
using namespace hpsweep::datastore;
using Clock = std::chrono::steady_clock;

namespace {

// What the file system under `dir` does to this measurement. ext4 without a journal skips
// the inodes freed in the last minutes when it allocates (and scans past each of them), so a
// run soon after a large delete nearby creates every file several times slower, whatever
// the tool: say so beside the numbers (docs/snapshots.md#benchmark).
std::string file_system_note(const fs::path& dir) {
    struct statfs fs_info {};
    struct stat st {};
    if (::statfs(dir.c_str(), &fs_info) != 0 || ::stat(dir.c_str(), &st) != 0) {
        return "unknown";
    }
    constexpr long ext4_magic = 0xEF53;
    if (fs_info.f_type != ext4_magic) {
        char other[48];
        std::snprintf(other, sizeof other, "not ext4 (type 0x%lx)",
                      static_cast<unsigned long>(fs_info.f_type));
        return other;
    }
    // /sys/dev/block/MAJ:MIN names the device; /sys/fs/ext4/NAME/journal_task its journal.
    const fs::path device_link = "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" +
                                 std::to_string(minor(st.st_dev));
    std::error_code ec;
    const std::string device = fs::read_symlink(device_link, ec).filename().string();
    std::ifstream journal_task("/sys/fs/ext4/" + device + "/journal_task");
    std::string task;
    if (ec || !std::getline(journal_task, task)) {
        return "ext4 (" + (device.empty() ? std::string("device unknown") : device) +
               ", journal unknown)";
    }
    if (task == "<none>") {
        return "ext4 without a journal (" + device +
               "): a run soon after large deletes in this directory is slower for every tool; "
               "see docs/snapshots.md#benchmark";
    }
    return "ext4 with a journal (" + device + ")";
}

struct Config {
    std::size_t files = 5000;
    std::size_t bytes = 50u << 20;
    int repeat = 3;
    fs::path workdir = fs::temp_directory_path();
};

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

void must(const std::vector<std::string>& argv) {
    const auto r = run_process(argv);
    if (!r.ok()) {
        std::fprintf(stderr, "%s failed: %s\n", argv[0].c_str(), r.err.c_str());
        std::exit(1);
    }
}

void wipe(const fs::path& p) {
    run_process({"chmod", "-R", "u+w", p.string()});
    std::error_code ec;
    fs::remove_all(p, ec);
}

// A repository shaped like code plus a few assets: 100 directories, sizes from a few
// hundred bytes to ~200 KiB (random content, so nothing compresses away), one commit.
void make_repository(const fs::path& repo, const Config& cfg) {
    std::mt19937_64 rng(42);
    fs::create_directories(repo);
    std::vector<std::size_t> sizes(cfg.files);
    std::exponential_distribution<double> shape(1.0);
    double sum = 0;
    std::vector<double> weights(cfg.files);
    for (auto& w : weights) sum += (w = 0.05 + shape(rng));
    for (std::size_t i = 0; i < cfg.files; ++i)
        sizes[i] = static_cast<std::size_t>(static_cast<double>(cfg.bytes) * weights[i] / sum);
    std::string data;
    for (std::size_t i = 0; i < cfg.files; ++i) {
        data.resize(sizes[i]);
        for (std::size_t j = 0; j < data.size(); j += 8) {
            const auto word = rng();
            std::memcpy(&data[j], &word, std::min<std::size_t>(8, data.size() - j));
        }
        const auto dir = repo / ("pkg" + std::to_string(i % 100));
        fs::create_directories(dir);
        std::ofstream(dir / ("module" + std::to_string(i) + ".py"), std::ios::binary) << data;
    }
    must({"git", "-C", repo.string(), "init", "-q"});
    must({"git", "-C", repo.string(), "add", "."});
    must({"git", "-C", repo.string(), "-c", "user.name=bench", "-c", "user.email=bench@localhost",
          "commit", "-qm", "bench"});
}

struct Snapshot {
    double listing = 0;  // finding the context and listing it (git, a stat per file)
    double seconds = 0;
    double with_git_state = 0;
    SnapshotResult result;
};

// What a submit does: find the context from the script, list it and store it (`seconds`),
// then record the git state (commit, branch, diff) beside it (`with_git_state`).
Snapshot snapshot(const fs::path& script, const Store& store, const fs::path& index) {
    const auto start = Clock::now();
    const auto source = list_script_snapshot_source(script);
    Snapshot s;
    s.listing = seconds_since(start);
    s.result = store_snapshot(store, source, index);
    s.seconds = seconds_since(start);
    if (!git_state(source)) {
        std::fprintf(stderr, "the benchmark repository is not a git work tree\n");
        std::exit(1);
    }
    s.with_git_state = seconds_since(start);
    return s;
}

// Writes what earlier measurements left in the page cache, untimed: the snapshot's syncfs
// would otherwise also wait for rsync's and git archive's files (100 MiB per round), and
// rsync for the writeback of what ran before it.
void settle_writes() {
    ::sync();
}

double time_command(const std::vector<std::string>& argv) {
    settle_writes();
    const auto start = Clock::now();
    must(argv);
    return seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
    Config cfg;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", arg.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--files")
            cfg.files = std::stoul(next());
        else if (arg == "--bytes")
            cfg.bytes = std::stoul(next());
        else if (arg == "--repeat")
            cfg.repeat = std::max(1, std::stoi(next()));
        else if (arg == "--workdir")
            cfg.workdir = next();
        else {
            std::fprintf(stderr,
                         "usage: bench_snapshot [--files N] [--bytes TOTAL] [--repeat N] "
                         "[--workdir DIR]\n");
            return 2;
        }
    }
    const fs::path work = cfg.workdir / ("hpsweep-bench-snapshot-" + std::to_string(::getpid()));
    const fs::path repo = work / "repo";
    const fs::path script = repo / "pkg0" / "module0.py";
    std::printf("snapshot benchmark: %zu files, %.1f MiB, median of %d, load %s\n", cfg.files,
                static_cast<double>(cfg.bytes) / (1 << 20), cfg.repeat, load_average().c_str());
    fs::create_directories(work);
    std::printf("  file system: %s\n", file_system_note(work).c_str());
    make_repository(repo, cfg);
    // Code is edited, then submitted: a file changed within the last second is re-read on
    // every snapshot (its times cannot prove it unchanged), so let the tree settle first.
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));

    // Rounds of rsync -a, git archive and the snapshots, in turn and into fresh places;
    // nothing is deleted before the end. ext4 skips the inodes freed in the last minutes
    // when it allocates new ones, so whatever runs after a large delete creates its files
    // slower: deleting between measurements would favour whoever runs first.
    std::vector<double> rsync_times, archive_times, cold, cold_listing, unchanged, unchanged_git,
        unchanged_no_index;
    std::uint64_t stored_bytes = 0, new_bytes_unchanged = 0, new_bytes_no_index = 0;
    bool reused = true;
    for (int i = 0; i < cfg.repeat; ++i) {
        const std::string round = std::to_string(i);
        rsync_times.push_back(time_command({"rsync", "-a", "--exclude=.git", repo.string() + "/",
                                            (work / ("rsync" + round)).string()}));
        archive_times.push_back(
            time_command({"git", "-C", repo.string(), "archive", "--format=tar", "-o",
                          (work / ("archive" + round + ".tar")).string(), "HEAD"}));
        const Store store(work / ("store" + round));
        const fs::path index = work / ("index" + round);
        settle_writes();
        const auto first = snapshot(script, store, index);
        cold.push_back(first.seconds);
        cold_listing.push_back(first.listing);
        stored_bytes = first.result.new_bytes;
        for (int k = 0; k < 3; ++k) {
            const auto again = snapshot(script, store, index);
            unchanged.push_back(again.seconds);
            unchanged_git.push_back(again.with_git_state);
            new_bytes_unchanged = std::max(new_bytes_unchanged, again.result.new_bytes);
            reused = reused && again.result.reused_index;
        }
        // Without the index (another machine, or a fresh clone): every file is read again.
        const auto slow = snapshot(script, store, fs::path());
        unchanged_no_index.push_back(slow.seconds);
        new_bytes_no_index = std::max(new_bytes_no_index, slow.result.new_bytes);
    }
    const double rsync = median(rsync_times);
    const double archive = median(archive_times);
    const double cold_s = median(cold);
    const double unchanged_s = median(unchanged);
    std::printf("  rsync -a (baseline)        %8.1f ms\n", rsync * 1e3);
    std::printf("  git archive                %8.1f ms\n", archive * 1e3);
    std::printf(
        "  snapshot, cold             %8.1f ms  = %.2fx rsync -a, %.2fx git archive "
        "(goal <= 1x rsync)  stored %.1f MiB\n",
        cold_s * 1e3, cold_s / rsync, cold_s / archive,
        static_cast<double>(stored_bytes) / (1 << 20));
    std::printf("    of which listing          %8.1f ms  (git processes, a stat per file)\n",
                median(cold_listing) * 1e3);
    std::printf(
        "  snapshot, unchanged        %8.1f ms  (goal <= 50 ms)  new bytes %llu = %.3f%% "
        "(goal <= 1%%)%s\n",
        unchanged_s * 1e3, static_cast<unsigned long long>(new_bytes_unchanged),
        100.0 * static_cast<double>(new_bytes_unchanged) /
            static_cast<double>(std::max<std::uint64_t>(stored_bytes, 1)),
        reused ? "  (index: no file read)" : "  (index NOT used)");
    std::printf(
        "  the same with the git state %6.1f ms  (commit, branch, diff: what a submit adds)\n",
        median(unchanged_git) * 1e3);
    std::printf("  snapshot, unchanged, no index %5.1f ms  = %.2fx rsync -a  new bytes %llu\n",
                median(unchanged_no_index) * 1e3, median(unchanged_no_index) / rsync,
                static_cast<unsigned long long>(new_bytes_no_index));
    std::printf("  load at the end %s\n", load_average().c_str());
    wipe(work);
    return 0;
}
