#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/site_config.hpp"

namespace fs = std::filesystem;
using namespace hpsweep;

namespace {

fs::path fresh_dir(const std::string& name) {
    auto dir = fs::temp_directory_path() /
               ("hpsweep-site-config-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

// The message of the Error(config) the callable throws; fails the test if it throws nothing.
template <typename F>
std::string config_error(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::config);
        return e.what();
    }
    FAIL("expected an Error(config)");
    return {};
}

EnvLookup env_from(std::map<std::string, std::string> values) {
    return [values = std::move(values)](const char* name) -> const char* {
        const auto it = values.find(name);
        return it == values.end() ? nullptr : it->second.c_str();
    };
}

}  // namespace

TEST_CASE("the key table documents the defaults SiteConfig{} holds", "[common][site_config]") {
    const SiteConfig defaults;
    REQUIRE(site_config_keys().size() == 13);
    for (const auto& key : site_config_keys()) {
        INFO(key.name);
        CHECK(site_config_value(defaults, key.name) == key.default_text);
        CHECK_FALSE(key.description.empty());
    }
}

TEST_CASE("the container keys: a runtime hpsweep knows, an absolute cache directory",
          "[common][site_config]") {
    SiteConfig config;
    set_site_config_key(config, "container_runtime", "charliecloud");
    set_site_config_key(config, "container_cache_dir", "/local/images");
    set_site_config_key(config, "container_cache_max", "20G");
    CHECK(config.container_runtime == "charliecloud");
    CHECK(config.container_cache_dir == "/local/images");
    CHECK(config.container_cache_max_bytes == 20ULL << 30);
    CHECK_FALSE(config.container_pyxis);
    set_site_config_key(config, "container_pyxis", "yes");
    CHECK(config.container_pyxis);
    CHECK(site_config_value(config, "container_pyxis") == "yes");
    CHECK_THAT(config_error([&] { set_site_config_key(config, "container_pyxis", "true"); }),
               Catch::Contains("expected yes or no"));
    CHECK_THAT(config_error([&] { set_site_config_key(config, "container_runtime", "docker"); }),
               Catch::Contains("expected auto, apptainer, enroot, charliecloud or podman"));
    CHECK_THAT(config_error([&] { set_site_config_key(config, "container_cache_dir", "img"); }),
               Catch::Contains("expected an absolute path"));
}

TEST_CASE("the hourly prices: none, or a number >= 0", "[common][site_config]") {
    SiteConfig config;
    CHECK_FALSE(config.gpu_hour_cost);
    set_site_config_key(config, "gpu_hour_cost", "2.5");
    set_site_config_key(config, "cpu_hour_cost", "0.04");
    CHECK(config.gpu_hour_cost == 2.5);
    CHECK(config.cpu_hour_cost == 0.04);
    CHECK(site_config_value(config, "gpu_hour_cost") == "2.5");
    SiteConfig reread;
    apply_site_config_text(reread, to_config_text(config), "generated");
    CHECK(reread.cpu_hour_cost == 0.04);
    set_site_config_key(config, "gpu_hour_cost", "none");
    CHECK_FALSE(config.gpu_hour_cost);
    for (const char* bad : {"-1", "2.5 EUR", "", "nan", "inf"}) {
        INFO(bad);
        CHECK_THAT(config_error([&] { set_site_config_key(config, "gpu_hour_cost", bad); }),
                   Catch::Contains("gpu_hour_cost") && Catch::Contains("price per hour"));
    }
}

TEST_CASE("plugstack words override the defaults, in any order", "[common][site_config]") {
    const SiteConfig config = parse_plugin_args(std::vector<std::string>{
        "config=none", "cache_dir=/local/hpsweep", "cache_max=500G",
        "datastore_root=/shared/datastores", "default_affinity=closest", "port_range=21000-21999"});
    CHECK(config.cache_dir == "/local/hpsweep");
    CHECK(config.cache_max_bytes == 500ULL * 1024 * 1024 * 1024);
    CHECK(config.datastore_root == "/shared/datastores");
    CHECK(config.default_affinity == GpuAffinity::closest);
    CHECK(config.port_range == PortRange{21000, 21999});
    CHECK(config.loaded_from.empty());
}

TEST_CASE("no plugstack words means every default", "[common][site_config]") {
    const char* const argv[] = {"config=none"};
    const SiteConfig config = parse_plugin_args(1, argv);
    CHECK(to_config_text(config) == to_config_text(SiteConfig{}));
}

TEST_CASE("bad plugstack words are errors naming the word and the key", "[common][site_config]") {
    auto parse = [](std::vector<std::string> words) {
        words.insert(words.begin(), "config=none");
        return config_error([&] { parse_plugin_args(words); });
    };
    CHECK_THAT(parse({"cache_dri=/x"}), Catch::Contains("argument 2 (cache_dri=/x)") &&
                                            Catch::Contains("unknown key 'cache_dri'") &&
                                            Catch::Contains("cache_dir"));
    CHECK_THAT(parse({"cache_max=lots"}), Catch::Contains("cache_max") && Catch::Contains("lots"));
    CHECK_THAT(parse({"cache_max=0"}), Catch::Contains("above zero"));
    CHECK_THAT(parse({"cache_dir=relative/dir"}),
               Catch::Contains("cache_dir") && Catch::Contains("absolute path"));
    CHECK_THAT(parse({"default_affinity=nearest"}),
               Catch::Contains("default_affinity") && Catch::Contains("closest, none or verbose"));
    CHECK_THAT(parse({"port_range=30000-20000"}), Catch::Contains("port_range"));
    CHECK_THAT(parse({"port_range=80-90"}), Catch::Contains("1024"));
    CHECK_THAT(parse({"port_range=20000"}), Catch::Contains("FIRST-LAST"));
    CHECK_THAT(parse({"port_range=2x-3"}), Catch::Contains("FIRST-LAST"));
    CHECK_THAT(parse({"verbose"}), Catch::Contains("expected key=value"));
    CHECK_THAT(parse({"=x"}), Catch::Contains("expected key=value"));
    CHECK_THAT(parse({"cache_max=1G", "cache_max=2G"}), Catch::Contains("more than once"));
    CHECK_THAT(config_error([] {
                   parse_plugin_args({"config=none", "config=none"});
               }),
               Catch::Contains("more than once"));
    CHECK_THAT(config_error([] { parse_plugin_args({"config=etc/hpsweep.conf"}); }),
               Catch::Contains("absolute path"));
}

TEST_CASE("a site file named by config= is read first and plugstack words win over it",
          "[common][site_config]") {
    const auto dir = fresh_dir("plugin-file");
    const auto file = dir / "hpsweep.conf";
    write_file_atomic(file,
                      "# site file\n"
                      "datastore_root = /shared/ds\n"
                      "\n"
                      "  cache_max=2G   \n"
                      "default_affinity = verbose\n");
    // The config= word comes last on purpose: it is still applied before the other words.
    const SiteConfig config = parse_plugin_args({"cache_max=3G", "config=" + file.string()});
    CHECK(config.datastore_root == "/shared/ds");
    CHECK(config.cache_max_bytes == 3ULL << 30);
    CHECK(config.default_affinity == GpuAffinity::verbose);
    CHECK(config.loaded_from == file);

    // An explicit config= that does not exist is an error, not a silent default.
    CHECK_THROWS_AS(parse_plugin_args({"config=" + (dir / "missing.conf").string()}), Error);
    fs::remove_all(dir);
}

TEST_CASE("site file errors say file:line:col", "[common][site_config]") {
    SiteConfig config;
    CHECK(config_error([&] {
              apply_site_config_text(config, "cache_dir = /a\n  cache_dri = /b\n", "site.conf");
          }).starts_with("site.conf:2:3: unknown key 'cache_dri'"));
    CHECK(config_error([&] {
              apply_site_config_text(config, "# c\ncache_max =  huge\n", "site.conf");
          }).starts_with("site.conf:2:14: "));
    CHECK(config_error([&] {
              apply_site_config_text(config, "cache_dir /a\n", "site.conf");
          }).starts_with("site.conf:1:1: expected 'key = value'"));
    CHECK(config_error([&] {
              apply_site_config_text(config, "cache_max = 1G\ncache_max = 2G", "site.conf");
          }).starts_with("site.conf:2:1: key 'cache_max' is given more than once"));
    CHECK(config_error([&] {
              apply_site_config_text(config, " = 1G\n", "site.conf");
          }).starts_with("site.conf:1:2: missing key"));
}

TEST_CASE("a valid site file round-trips through to_config_text", "[common][site_config]") {
    SiteConfig config;
    set_site_config_key(config, "cache_max", "1536M");
    set_site_config_key(config, "port_range", "30000-30010");
    set_site_config_key(config, "cache_dir", "/local//hpsweep/");
    SiteConfig reread;
    apply_site_config_text(reread, to_config_text(config), "generated");
    CHECK(to_config_text(reread) == to_config_text(config));
    CHECK(site_config_value(reread, "cache_max") == "1536M");
    CHECK(reread.cache_dir == "/local/hpsweep/");
}

TEST_CASE("the CLI view applies the site file, then the environment", "[common][site_config]") {
    const auto dir = fresh_dir("cli");
    const auto file = dir / "hpsweep.conf";
    write_file_atomic(file, "datastore_root = /from/file\ncache_dir = /file/cache\n");
    const SiteConfig config = load_site_config(env_from({{"HPSWEEP_SITE_CONFIG", file.string()},
                                                         {"HPSWEEP_DATASTORE_ROOT", "/from/env"},
                                                         {"HPSWEEP_CACHE_MAX", "7G"}}));
    CHECK(config.datastore_root == "/from/env");
    CHECK(config.cache_dir == "/file/cache");
    CHECK(config.cache_max_bytes == 7ULL << 30);
    CHECK(config.loaded_from == file);

    CHECK_THAT(config_error([&] {
                   load_site_config(env_from(
                       {{"HPSWEEP_SITE_CONFIG", file.string()}, {"HPSWEEP_CACHE_DIR", "cache"}}));
               }),
               Catch::Contains("HPSWEEP_CACHE_DIR") && Catch::Contains("absolute path"));
    // A site file named on purpose must exist.
    CHECK_THROWS_AS(load_site_config(env_from({{"HPSWEEP_SITE_CONFIG", (dir / "no").string()}})),
                    Error);
    fs::remove_all(dir);
}

TEST_CASE("GPU affinity names parse and print", "[common][site_config]") {
    for (const auto affinity : {GpuAffinity::closest, GpuAffinity::none, GpuAffinity::verbose}) {
        CHECK(parse_gpu_affinity(to_string(affinity)) == affinity);
    }
    CHECK_THROWS_AS(parse_gpu_affinity("Closest"), Error);
    CHECK_THROWS_AS(parse_gpu_affinity(""), Error);
}

TEST_CASE("the shipped site files document every key at its default", "[common][site_config]") {
    const fs::path site_configs = fs::path(HPSWEEP_TEST_DATA_DIR) / ".." / ".." / "site-configs";
    // hpsweep.conf: every key commented out at its default; uncommented it parses to the
    // defaults, and as shipped (all comments) it changes nothing.
    const std::string shipped = read_file(site_configs / "hpsweep.conf");
    SiteConfig as_shipped;
    apply_site_config_text(as_shipped, shipped, "hpsweep.conf");
    CHECK(to_config_text(as_shipped) == to_config_text(SiteConfig{}));
    std::string uncommented;
    for (const auto& key : site_config_keys()) {
        const std::string line =
            "#" + std::string(key.name) + " = " + std::string(key.default_text);
        INFO(line);
        CHECK(shipped.find(line + "\n") != std::string::npos);
        uncommented += line.substr(1) + "\n";
    }
    SiteConfig parsed;
    apply_site_config_text(parsed, uncommented, "uncommented");
    CHECK(to_config_text(parsed) == to_config_text(SiteConfig{}));

    // plugstack.conf: each key=default word appears in the commented key list.
    const std::string plugstack = read_file(site_configs / "plugstack.conf");
    for (const auto& key : site_config_keys()) {
        const std::string word =
            "#   " + std::string(key.name) + "=" + std::string(key.default_text);
        INFO(word);
        CHECK(plugstack.find(word) != std::string::npos);
    }
}

// Caught by the plugstack_args fuzzer (tests/fuzz/corpus/plugstack_args/finding-vertical-tab-path):
// only " \t\n\r" were refused in paths, but the site file trims every isspace() character,
// so `cache_dir=/x\v` was accepted and `hpsweep doctor`'s output, read back as a site file,
// gave another cache_dir.
TEST_CASE("paths with any whitespace or control character are refused", "[common][site_config]") {
    for (const std::string bad : {"/x\vy", "/x\f", "/x\x01y", "/x\x7fy", "/a b"}) {
        INFO(bad);
        CHECK_THAT(config_error([&] {
                       parse_plugin_args({"config=none", "cache_dir=" + bad});
                   }),
                   Catch::Contains("whitespace or control characters"));
        SiteConfig config;
        CHECK_THROWS_AS(set_site_config_key(config, "datastore_root", bad), Error);
    }
    // What is accepted prints as a site file that reads back the same.
    const SiteConfig config =
        parse_plugin_args({"config=none", "cache_dir=/x/caf\xc3\xa9=1", "cache_max=1536M"});
    SiteConfig again;
    apply_site_config_text(again, to_config_text(config), "doctor");
    CHECK(to_config_text(again) == to_config_text(config));
}

TEST_CASE("experiments_dir: each user's directory, %u for the user name", "[common][site_config]") {
    SiteConfig config;
    CHECK(experiments_dir_for(config, "alice", "/home/alice") == "/home/alice/hpsweep-runs");
    set_site_config_key(config, "experiments_dir", "/scratch/%u/runs");
    CHECK(experiments_dir_for(config, "alice", "/home/alice") == "/scratch/alice/runs");
    CHECK(site_config_value(config, "experiments_dir") == "/scratch/%u/runs");
    set_site_config_key(config, "experiments_dir", "/scratch/runs-%u/%u");
    CHECK(experiments_dir_for(config, "bob.x", "/home/bob") == "/scratch/runs-bob.x/bob.x");
    set_site_config_key(config, "experiments_dir", "~/experiments/");
    CHECK(experiments_dir_for(config, "bob", "/home/bob") == "/home/bob/experiments/");

    for (const char* bad : {"relative/%u", "/scratch/%s", "/scratch/%", "/scratch/../%u", "~/../%u",
                            "~alice/runs", "/scratch/a b", ""}) {
        INFO(bad);
        try {
            set_site_config_key(config, "experiments_dir", bad);
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::config);
            CHECK_THAT(e.what(), Catch::Contains("experiments_dir"));
        }
    }
    // A user name is a plain name: it cannot climb out of the site's directory.
    set_site_config_key(config, "experiments_dir", "/scratch/%u");
    for (const char* user : {"..", ".", "a/b", "", "-x", "a b"}) {
        INFO(user);
        CHECK_THROWS_AS(experiments_dir_for(config, user, "/home/x"), Error);
    }
    set_site_config_key(config, "experiments_dir", "~/runs");
    CHECK_THROWS_AS(experiments_dir_for(config, "alice", "relative"), Error);
}
