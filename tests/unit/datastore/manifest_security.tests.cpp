// A dataset's owner can rewrite its manifest.json (the dataset directory is theirs), and
// root's cache fill (the SPANK plugin) creates every manifest entry under the cache with
// openat(). Regression tests for the hole that let such a manifest make root write outside
// the cache: every manifest, however it was written, must pass the rules `create` applies.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "ds_test_util.hpp"
#include "hpsweep/datastore/cache.hpp"
#include "hpsweep/datastore/manifest.hpp"
#include "hpsweep/datastore/metadata.hpp"
#include "hpsweep/datastore/paths.hpp"
#include "hpsweep/datastore/store.hpp"
#include "hpsweep/error.hpp"

using namespace hpsweep;
using namespace hpsweep::datastore;
using dstest::TempDir;
namespace fs = std::filesystem;

namespace {

nlohmann::json file_entry(const std::string& path) {
    return {{"path", path},
            {"type", "file"},
            {"mode", 0644},
            {"size", 0},
            {"xxh3", "99aa06d3014798d86001c324468d497f"}};
}

nlohmann::json manifest_with(nlohmann::json entries) {
    return {{"format", Manifest::format_version},
            {"dataset", "ds"},
            {"dataset_id", "0123456789abcdef"},
            {"created", "2026-01-01T00:00:00Z"},
            {"creator", "someone"},
            {"creator_uid", 1000},
            {"hash", "xxh3-128"},
            {"entries", std::move(entries)}};
}

// The message of the Error manifest_from_json throws, or "" when it accepted the manifest.
// A vector, not a json: `{entry}` as a json would be the one entry itself, not an array.
std::string rejection(const std::vector<nlohmann::json>& entries) {
    try {
        (void)manifest_from_json(manifest_with(nlohmann::json(entries)),
                                 "/store/ds/versions/1/manifest.json");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::data);
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("a manifest whose paths leave the dataset is rejected when read",
          "[datastore][security]") {
    CHECK(rejection({file_entry("a.txt"), file_entry("sub/b.txt")}).empty());

    const std::vector<std::string> bad_paths = {
        "../../etc/cron.d/evil", "sub/../../x", "/etc/passwd", "", "a//b", "./a", "a/",
        std::string("a\0b", 3)};
    for (const std::string& bad : bad_paths) {
        INFO("path '" << bad << "'");
        const std::string message = rejection({file_entry(bad)});
        CHECK_THAT(message, Catch::Contains("manifest.json") && Catch::Contains("rejected"));
    }
    CHECK_THAT(rejection({file_entry("a"), file_entry("a")}), Catch::Contains("appears twice"));
}

TEST_CASE("a manifest whose links leave the dataset is rejected when read",
          "[datastore][security]") {
    auto link = [](const std::string& path, const std::string& target) {
        return nlohmann::json{
            {"path", path}, {"type", "symlink"}, {"mode", 0777}, {"target", target}};
    };
    CHECK(rejection({file_entry("a"), link("l", "a")}).empty());
    CHECK_THAT(rejection({link("l", "/etc")}), Catch::Contains("absolute"));
    CHECK_THAT(rejection({link("l", "../x")}), Catch::Contains("climbs above"));
    // Lexically "d/up/../y" is "d/y"; through the link d/up (the root) it climbs out.
    CHECK(rejection({link("d/up", ".."), link("d/x", "up/y")}).empty());
    CHECK_THAT(rejection({link("d/up", ".."), link("d/x", "up/../y")}),
               Catch::Contains("climbs above"));
}

TEST_CASE("staging a dataset whose owner rewrote its manifest never writes outside the cache",
          "[datastore][security]") {
    TempDir t("manifest-escape");
    fs::create_directories(t / "src");
    dstest::write_file(t / "src" / "a.txt", "payload\n");
    const Store store(t / "store");
    (void)store.create("ds", t / "src", {});
    const auto v = store.resolve(Ref::parse("ds"), Credentials::current());

    // What the owner can do: replace the manifest (the version directory is theirs).
    auto j = nlohmann::json::parse(hpsweep::read_file(v.manifest_path));
    j["entries"][0]["path"] = "../../../../escaped.txt";
    ::chmod(v.manifest_path.parent_path().c_str(), 0755);
    ::chmod(v.manifest_path.c_str(), 0644);
    std::ofstream(v.manifest_path, std::ios::trunc) << j.dump();

    const CacheConfig cache{t / "cache", 0};
    fs::create_directories(cache.dir);
    try {
        (void)stage(store, cache, Ref::parse("ds"), Credentials::current());
        FAIL("staging a manifest with '..' succeeded");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::data);
        CHECK_THAT(std::string(e.what()), Catch::Contains("'../../../../escaped.txt' rejected"));
    }
    // Nothing named escaped.txt anywhere above the cache's entries.
    for (const fs::path& dir : {t.path(), t / "cache", t.path().parent_path()}) {
        CHECK_FALSE(fs::exists(dir / "escaped.txt"));
    }
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(t.path(), ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        CHECK(it->path().filename() != "escaped.txt");
    }
}

TEST_CASE("an object the dataset owner swapped for a FIFO fails the stage instead of hanging it",
          "[datastore][security]") {
    TempDir t("object-fifo");
    fs::create_directories(t / "src");
    dstest::write_file(t / "src" / "a.txt", "payload\n");
    const Store store(t / "store");
    (void)store.create("ds", t / "src", {});
    fs::path object;
    for (const auto& e :
         fs::recursive_directory_iterator(t / "store" / "datasets" / "ds" / "objects")) {
        if (e.is_regular_file())
            object = e.path();
    }
    REQUIRE_FALSE(object.empty());
    ::chmod(object.parent_path().c_str(), 0755);
    REQUIRE(::unlink(object.c_str()) == 0);
    REQUIRE(::mkfifo(object.c_str(), 0644) == 0);

    const CacheConfig cache{t / "cache", 0};
    // In a child with an alarm: before the fix, open() of the FIFO blocked for ever.
    const int status = dstest::in_child([&] {
        ::alarm(20);
        try {
            (void)stage(store, cache, Ref::parse("ds"), Credentials::current());
        } catch (const Error& e) {
            const std::string message = e.what();
            return e.kind() == ErrorKind::data &&
                           message.find("is not a regular file") != std::string::npos
                       ? 0
                       : 2;
        }
        return 1;  // staged a FIFO
    });
    CHECK(status == 0);
}

TEST_CASE("a dataset cannot be named so that its job variable is the store setting",
          "[datastore][security]") {
    for (const char* name : {"root", "ROOT", "Root"}) {
        INFO(name);
        CHECK_THROWS_WITH(validate_dataset_name(name), Catch::Contains("HPSWEEP_DATASTORE_ROOT"));
        CHECK_THROWS_AS(Ref::parse(std::string(name) + ":1"), Error);
    }
    CHECK_NOTHROW(validate_dataset_name("roots"));
    CHECK_NOTHROW(validate_dataset_name("root2"));
}

// Found by the datastore_metadata fuzzer: nlohmann converts a float or an out-of-range number
// to an unsigned with undefined behaviour, so root's parse of a hostile manifest or dataset
// file must refuse such numbers before converting them.
TEST_CASE(
    "integer fields of a manifest or dataset file that are floats or out of range are "
    "refused",
    "[datastore][security][fuzz]") {
    using hpsweep::datastore::parse_dataset_file;
    using hpsweep::datastore::parse_manifest_text;
    const std::string entry_head =
        R"({"format":1,"dataset":"ds","dataset_id":"0123456789","created":"","creator":"",)"
        R"("creator_uid":0,"hash":"xxh3-128","entries":[{"path":"x","type":"file",)";
    const std::string digest = R"("xxh3":"0123456789abcdef0123456789abcdef"}]})";
    for (const std::string fields :
         {R"("mode":4E20,"size":1,)", R"("mode":-1,"size":1,)", R"("mode":420,"size":1.5,)",
          R"("mode":420,"size":-3,)", R"("mode":420,"size":1e30,)"}) {
        INFO(fields);
        CHECK_THROWS_AS(parse_manifest_text(entry_head + fields + digest, "manifest.json"),
                        hpsweep::Error);
    }
    CHECK_NOTHROW(parse_manifest_text(entry_head + R"("mode":420,"size":1,)" + digest, "m"));
    for (const std::string uid : {"4e20", "-1", "1.5", "99999999999"}) {
        INFO(uid);
        CHECK_THROWS_AS(
            parse_dataset_file(
                R"({"name":"ds","id":"0123456789","private":false,"owner_uid":)" + uid + "}", "ds",
                "dataset.json"),
            hpsweep::Error);
    }
}
