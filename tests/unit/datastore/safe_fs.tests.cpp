// The fd-based primitives root reads a user's files with: no links, no escape, no FIFO or
// device, bounded size.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ds_test_util.hpp"
#include "hpsweep/datastore/metadata.hpp"
#include "hpsweep/datastore/safe_fs.hpp"
#include "hpsweep/error.hpp"

using namespace hpsweep;
using namespace hpsweep::datastore;
using dstest::TempDir;
namespace fs = std::filesystem;

namespace {

UniqueFd open_directory(const fs::path& dir) {
    return UniqueFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

}  // namespace

TEST_CASE("open_beneath refuses links, escapes and climbing, with openat2 and by the walk",
          "[datastore][safe_fs]") {
    TempDir tmp("safe-fs");
    dstest::write_file(tmp / "base" / "sub" / "file.txt", "inside");
    dstest::write_file(tmp / "outside.txt", "outside");
    fs::create_symlink(tmp / "outside.txt", tmp / "base" / "link");
    fs::create_symlink("sub", tmp / "base" / "dirlink");
    const UniqueFd base = open_directory(tmp / "base");
    for (const auto open : {&detail::open_beneath, &detail::open_beneath_by_walk}) {
        CHECK(open(base.get(), "sub/file.txt", O_RDONLY, 0));
        CHECK_FALSE(open(base.get(), "link", O_RDONLY, 0));
        CHECK_FALSE(open(base.get(), "dirlink/file.txt", O_RDONLY, 0));
        CHECK_FALSE(open(base.get(), "../outside.txt", O_RDONLY, 0));
        CHECK_FALSE(open(base.get(), "sub/../../outside.txt", O_RDONLY, 0));
        CHECK_FALSE(open(base.get(), (tmp / "outside.txt").string(), O_RDONLY, 0));
    }
}

TEST_CASE("open_regular_beneath refuses FIFOs and devices without blocking",
          "[datastore][safe_fs]") {
    TempDir tmp("safe-fs-fifo");
    fs::create_directories(tmp / "d");
    REQUIRE(::mkfifo((tmp / "d" / "fifo").c_str(), 0644) == 0);
    const UniqueFd dir = open_directory(tmp / "d");
    CHECK_THROWS_WITH(detail::open_regular_beneath(dir.get(), "fifo", "the fifo"),
                      Catch::Contains("not a regular file"));
    const UniqueFd dev = open_directory("/dev");
    CHECK_THROWS_WITH(detail::open_regular_beneath(dev.get(), "zero", "/dev/zero"),
                      Catch::Contains("not a regular file"));
    CHECK_THROWS_WITH(detail::open_dir_beneath(dir.get(), "missing", "missing"),
                      Catch::Contains("does not exist"));
}

TEST_CASE("read_capped stops at its cap", "[datastore][safe_fs]") {
    TempDir tmp("safe-fs-cap");
    dstest::write_file(tmp / "small", "12345");
    dstest::write_file(tmp / "big", std::string(70000, 'x'));
    const UniqueFd dir = open_directory(tmp.path());
    CHECK(detail::read_regular_beneath(dir.get(), "small", 5, "small") == "12345");
    CHECK_THROWS_WITH(detail::read_regular_beneath(dir.get(), "small", 4, "small"),
                      Catch::Contains("larger than 4 bytes"));
    CHECK_THROWS_WITH(detail::read_regular_beneath(dir.get(), "big", 65536, "big"),
                      Catch::Contains("larger than"));
    // A device that never ends is refused before a byte is read; read_capped itself also
    // ends on an endless stream.
    const UniqueFd zero(::open("/dev/zero", O_RDONLY | O_CLOEXEC));
    CHECK_THROWS_WITH(detail::read_capped(zero.get(), 1 << 20, "/dev/zero"),
                      Catch::Contains("larger than"));
}

TEST_CASE("dataset.json must name its own directory and carry an id of the fixed form",
          "[datastore][metadata]") {
    const std::string good =
        R"({"name":"ds","id":"abcdefgh12345678","owner_uid":1000,"private":false})";
    CHECK(parse_dataset_file(good, "ds", "w").id == "abcdefgh12345678");
    CHECK_THROWS_WITH(parse_dataset_file(good, "other", "w"), Catch::Contains("another dataset"));
    for (const char* id : {"../../etc", "ABCDEFGH12345678", "short", "abc$(id)defgh1234"}) {
        const std::string forged =
            std::string(R"({"name":"ds","id":")") + id + R"(","owner_uid":1000,"private":false})";
        CHECK_THROWS_WITH(parse_dataset_file(forged, "ds", "w"), Catch::Contains("dataset id"));
    }
    CHECK_THROWS(parse_dataset_file("[]", "ds", "w"));
    CHECK_THROWS(parse_dataset_file("{", "ds", "w"));
}

TEST_CASE("tag files hold one version number", "[datastore][metadata]") {
    CHECK(parse_tag_file("7\n", "t") == 7);
    CHECK(parse_tag_file("123456789", "t") == 123456789);
    for (const char* bad : {"", "\n", "0", "07", "-1", "1e3", "1234567890", "3 ", "x"}) {
        CHECK_THROWS_AS(parse_tag_file(bad, "t"), Error);
    }
}

TEST_CASE("the content hash names the entries, not who claims them", "[datastore][metadata]") {
    Manifest a;
    a.dataset = "a";
    a.dataset_id = "aaaaaaaa";
    a.entries.push_back({"f", EntryType::file, 0644, 3, hash_bytes("abc", 3), {}});
    Manifest b = a;
    b.dataset = "b";
    b.dataset_id = "bbbbbbbb";
    CHECK(manifest_content_hash(a) == manifest_content_hash(b));
    CHECK(manifest_content_hash(a).size() == 64);
    b.entries[0].hash = hash_bytes("abd", 3);
    CHECK(manifest_content_hash(a) != manifest_content_hash(b));
}
