#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>

#include "hpsweep/fs.hpp"
#include "hpsweep/launcher/node_checks.hpp"

namespace fs = std::filesystem;
using namespace hpsweep;
using namespace hpsweep::launcher;

TEST_CASE("NCCL version codes read like NCCL prints them", "[launcher][doctor]") {
    CHECK(nccl_version_text(21803) == "2.18.3");
    CHECK(nccl_version_text(22809) == "2.28.9");
    CHECK(nccl_version_text(2708) == "2.7.8");
}

TEST_CASE("a missing NCCL or a library without ncclGetVersion is reported and not fatal",
          "[launcher][doctor]") {
    const NcclProbe missing = probe_nccl("libnccl-does-not-exist.so.9");
    CHECK_FALSE(missing.found);
    CHECK_THAT(missing.error, Catch::Contains("libnccl-does-not-exist.so.9"));
    const NcclProbe wrong = probe_nccl("libm.so.6");  // loads, but is not NCCL
    CHECK(wrong.found);
    CHECK_FALSE(wrong.version.has_value());
    CHECK_THAT(wrong.error, Catch::Contains("no ncclGetVersion"));
    CHECK_THAT(wrong.path, Catch::Contains("libm"));
}

TEST_CASE("the plugstack check follows includes and ignores comments", "[launcher][doctor]") {
    const auto dir =
        fs::temp_directory_path() / ("hpsweep-plugstack-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "plugstack.conf.d");
    write_file_atomic(dir / "plugstack.conf",
                      "# required /usr/lib/slurm/hpsweep.so (commented out)\n"
                      "optional /usr/lib/slurm/pyxis.so\n"
                      "include " +
                          (dir / "plugstack.conf.d" / "*.conf").string() + "\n");
    CHECK_FALSE(check_plugstack(dir / "plugstack.conf").enabled());
    write_file_atomic(dir / "plugstack.conf.d" / "hpsweep.conf",
                      "\n  required   /opt/hpsweep/lib/hpsweep.so cache_dir=/local # site\n");
    const PlugstackCheck check = check_plugstack(dir / "plugstack.conf");
    CHECK(check.readable);
    CHECK(check.enabled());
    REQUIRE(check.hpsweep_lines.size() == 1);
    CHECK_THAT(check.hpsweep_lines[0], Catch::Contains("hpsweep.conf:2: required"));
    CHECK(check.files.size() == 2);
    CHECK_FALSE(check_plugstack(dir / "missing.conf").readable);
    fs::remove_all(dir);
}

TEST_CASE("PlugStackConfig is read from scontrol show config", "[launcher][doctor]") {
    const std::string output =
        "Configuration data as of 2026-01-01T00:00:00\n"
        "PlugStackConfig         = /etc/slurm/plugstack.conf\n"
        "SlurmctldPlugstack      = (null)\n";
    CHECK(plugstack_from_scontrol(output) == "/etc/slurm/plugstack.conf");
    CHECK_FALSE(plugstack_from_scontrol("PlugStackConfig = (null)\n").has_value());
    CHECK_FALSE(plugstack_from_scontrol("").has_value());
}
