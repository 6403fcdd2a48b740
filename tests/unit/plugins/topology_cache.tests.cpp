// The plugin's root-only topology cache: its key, a hit after a miss, and every kind of
// cache directory or file root must not trust (the two-user version of these attacks runs
// on the cluster: tests/hardening/security_topology_cache.sh).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/launcher/topology.hpp"
#include "topology_cache.hpp"

namespace fs = std::filesystem;
using namespace hpsweep;
using namespace hpsweep::plugin;

namespace {

constexpr uid_t nobody = 65534;

fs::path fresh_dir(const std::string& name) {
    auto dir = fs::temp_directory_path() /
               ("hpsweep-topology-cache-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms(0755));
    return dir;
}

void write_text(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
}

// A fake system root with the kernel files the key reads.
fs::path fake_system(const std::string& name) {
    const fs::path root = fresh_dir(name);
    write_text(root / "proc/sys/kernel/random/boot_id", "6f1c0b1e-0000-4000-8000-000000000001\n");
    write_text(root / "sys/devices/system/cpu/online", "0-3\n");
    write_text(root / "sys/devices/system/cpu/possible", "0-3\n");
    write_text(root / "sys/devices/system/node/online", "0\n");
    fs::create_directories(root / "sys/bus/pci/devices/0000:00:00.0");
    fs::create_directories(root / "sys/class/net/eth0");
    return root;
}

// The cache is read and written only by root.
#define SKIP_UNLESS_ROOT()                                      \
    do {                                                        \
        if (::geteuid() != 0) {                                 \
            WARN("skipped: the topology cache is root's only"); \
            return;                                             \
        }                                                       \
    } while (false)

std::string cached_file(const fs::path& cache_dir) {
    return (cache_dir / topology_cache_subdir / (topology_state_key() + ".xml")).string();
}

// The topology must be the live one whatever happened to the cache.
void check_same_machine(const NodeTopology& loaded) {
    const launcher::Topology live = launcher::Topology::load_live();
    CHECK(loaded.topology.is_this_system());
    CHECK(loaded.topology.complete_cpuset() == live.complete_cpuset());
    const auto gpus = launcher::find_gpus(loaded.topology);
    const auto live_gpus = launcher::find_gpus(live);
    REQUIRE(gpus.size() == live_gpus.size());
    for (size_t i = 0; i < gpus.size(); ++i) {
        CHECK(gpus[i].pci_busid == live_gpus[i].pci_busid);
        CHECK(gpus[i].locality == live_gpus[i].locality);
    }
}

}  // namespace

TEST_CASE("the topology key changes with what the topology depends on", "[plugin][topology]") {
    const fs::path root = fake_system("key");
    const std::string key = topology_state_key(root);
    CHECK(key.size() == 32);
    CHECK(key.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(topology_state_key(root) == key);

    fs::create_directories(root / "sys/bus/pci/devices/0000:3b:00.0");  // a GPU appeared
    const std::string with_gpu = topology_state_key(root);
    CHECK(with_gpu != key);
    write_text(root / "sys/devices/system/cpu/online", "0-2\n");  // a CPU went offline
    const std::string fewer_cpus = topology_state_key(root);
    CHECK(fewer_cpus != with_gpu);
    write_text(root / "proc/sys/kernel/random/boot_id", "6f1c0b1e-0000-4000-8000-000000000002\n");
    CHECK(topology_state_key(root) != fewer_cpus);

    fs::remove(root / "proc/sys/kernel/random/boot_id");
    CHECK_THROWS_AS(topology_state_key(root), Error);
    fs::remove_all(root);
}

TEST_CASE("the second load of the node topology is a cache hit of root's export",
          "[plugin][topology]") {
    SKIP_UNLESS_ROOT();
    const fs::path cache_dir = fresh_dir("hit");
    const NodeTopology first = load_node_topology(cache_dir);
    CHECK_THAT(first.how,
               Catch::StartsWith("discovered live, cached as " + cached_file(cache_dir)));
    check_same_machine(first);

    struct stat st {};
    REQUIRE(::lstat(cached_file(cache_dir).c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK(st.st_uid == 0);
    CHECK((st.st_mode & 07777) == 0644);
    REQUIRE(::lstat((cache_dir / topology_cache_subdir).c_str(), &st) == 0);
    CHECK(st.st_uid == 0);
    CHECK((st.st_mode & 022) == 0);

    const NodeTopology second = load_node_topology(cache_dir);
    CHECK(second.how == "cache hit " + cached_file(cache_dir));
    check_same_machine(second);

    // An export of an earlier boot or hardware is removed when the current one is written.
    write_text(cache_dir / topology_cache_subdir / "00000000000000000000000000000000.xml", "old");
    fs::remove(cached_file(cache_dir));
    CHECK_THAT(load_node_topology(cache_dir).how, Catch::StartsWith("discovered live, cached"));
    CHECK(!fs::exists(cache_dir / topology_cache_subdir / "00000000000000000000000000000000.xml"));
    fs::remove_all(cache_dir);
}

TEST_CASE("a cache directory another user could change is never used", "[plugin][topology]") {
    SKIP_UNLESS_ROOT();
    const fs::path base = fresh_dir("untrusted");
    const auto refused = [](const fs::path& cache_dir, const std::string& why) {
        const NodeTopology loaded = load_node_topology(cache_dir);
        CHECK_THAT(loaded.how, Catch::StartsWith("discovered live (cache not used: "));
        CHECK_THAT(loaded.how, Catch::Contains(why));
        check_same_machine(loaded);
    };

    SECTION("the topology directory belongs to a user") {
        fs::create_directories(base / "topology");
        REQUIRE(::chown((base / "topology").c_str(), nobody, nobody) == 0);
        refused(base, "is not a directory of root's that only root can write (owner uid 65534");
        CHECK(fs::is_empty(base / "topology"));
    }
    SECTION("the topology directory is writable by others") {
        fs::create_directories(base / "topology");
        fs::permissions(base / "topology", fs::perms(01777));
        refused(base, "is not a directory of root's that only root can write");
        CHECK(fs::is_empty(base / "topology"));
    }
    SECTION("the topology directory is a link to a directory of root's") {
        fs::create_directories(base / "elsewhere");
        fs::create_directory_symlink(base / "elsewhere", base / "topology");
        refused(base, "without following links");
        CHECK(fs::is_empty(base / "elsewhere"));
    }
    SECTION("the topology path is a FIFO") {
        REQUIRE(::mkfifo((base / "topology").c_str(), 0666) == 0);
        refused(base, "cannot open " + (base / "topology").string());
    }
    SECTION("cache_dir is writable by others without the sticky bit") {
        fs::create_directories(base / "open");
        fs::permissions(base / "open", fs::perms(0777));
        refused(base / "open", (base / "open").string() + " is not a directory of root's");
        CHECK(!fs::exists(base / "open" / "topology"));
    }
    SECTION("a directory on the way to cache_dir belongs to a user") {
        fs::create_directories(base / "users/cache");
        REQUIRE(::chown((base / "users").c_str(), nobody, nobody) == 0);
        refused(base / "users/cache", (base / "users").string() + " is not a directory of root's");
        CHECK(!fs::exists(base / "users/cache/topology"));
    }
    SECTION("a directory on the way to cache_dir is a link") {
        fs::create_directories(base / "real/cache");
        fs::create_directory_symlink(base / "real", base / "link");
        refused(base / "link/cache", "without following links");
        CHECK(!fs::exists(base / "real/cache/topology"));
    }
    SECTION("cache_dir is relative") {
        refused("var/cache/hpsweep", "is not an absolute path");
    }
    fs::remove_all(base);
}

TEST_CASE("a cached export that is not root's intact file is replaced by a fresh one",
          "[plugin][topology]") {
    SKIP_UNLESS_ROOT();
    const fs::path cache_dir = fresh_dir("bad-file");
    (void)load_node_topology(cache_dir);
    const fs::path file = cached_file(cache_dir);
    const auto replaced = [&](const std::string& why) {
        const NodeTopology loaded = load_node_topology(cache_dir);
        CHECK_THAT(loaded.how,
                   Catch::StartsWith("discovered live (the cached export was not used: "));
        CHECK_THAT(loaded.how, Catch::Contains(why));
        CHECK_THAT(loaded.how, Catch::EndsWith("cached as " + file.string()));
        check_same_machine(loaded);
        struct stat st {};
        REQUIRE(::lstat(file.c_str(), &st) == 0);
        CHECK(S_ISREG(st.st_mode));
        CHECK(st.st_uid == 0);
        CHECK(load_node_topology(cache_dir).how == "cache hit " + file.string());
    };

    SECTION("garbage") {
        write_text(file, "<topology><object type=\"Machine\"");
        replaced("not a valid hwloc XML topology");
    }
    SECTION("a FIFO (the load must not block)") {
        fs::remove(file);
        REQUIRE(::mkfifo(file.c_str(), 0644) == 0);
        replaced("is not a regular file of root's");
    }
    SECTION("a file of another user's") {
        REQUIRE(::chown(file.c_str(), nobody, nobody) == 0);
        replaced("is not a regular file of root's");
    }
    SECTION("a file writable by others") {
        fs::permissions(file, fs::perms(0666));
        replaced("is not a regular file of root's");
    }
    SECTION("a hard link") {
        fs::create_hard_link(file, cache_dir / "second-name");
        replaced("with one link");
    }
    SECTION("a link to another export") {
        fs::rename(file, cache_dir / "export.xml");
        fs::create_symlink(cache_dir / "export.xml", file);
        replaced("without following links");
    }
    SECTION("larger than the cap") {
        fs::resize_file(file, topology_export_max_bytes + 1);
        replaced("at most");
    }
    fs::remove_all(cache_dir);
}
