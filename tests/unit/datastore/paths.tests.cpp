#include <catch2/catch.hpp>

#include "hpsweep/datastore/paths.hpp"
#include "hpsweep/error.hpp"

using namespace hpsweep;
using namespace hpsweep::datastore;

TEST_CASE("references name a dataset, a version, a tag or the latest", "[datastore][paths]") {
    CHECK(Ref::parse("cifar").name == "cifar");
    CHECK_FALSE(Ref::parse("cifar").version);
    CHECK(Ref::parse("cifar:3").version == 3);
    CHECK(Ref::parse("cifar:best").tag == "best");
    CHECK_FALSE(Ref::parse("cifar:latest").version);
    CHECK_THROWS_AS(Ref::parse("../etc"), Error);
    CHECK_THROWS_AS(Ref::parse("cifar:0"), Error);
    CHECK_THROWS_AS(Ref::parse(""), Error);
    CHECK_THROWS_AS(Ref::parse(".hidden"), Error);
    CHECK_THROWS_AS(validate_tag_name("12"), Error);
}

TEST_CASE("entry paths are normalised and never leave the dataset", "[datastore][paths]") {
    CHECK(normalize_entry_path("./a//b/", "x") == "a/b");
    CHECK(normalize_entry_path("./", "x").empty());
    CHECK_THROWS_WITH(
        normalize_entry_path("../etc/passwd", "src.tar"),
        Catch::Contains("src.tar") && Catch::Contains("../etc/passwd") && Catch::Contains(".."));
    CHECK_THROWS_WITH(normalize_entry_path("a/../../b", "x"), Catch::Contains("'..'"));
    CHECK_THROWS_WITH(normalize_entry_path("/etc/shadow", "x"), Catch::Contains("absolute"));
}

TEST_CASE("symlinks are checked through other symlinks", "[datastore][paths]") {
    CHECK(resolve_link_lexically("a/b/link", "../c") == "a/c");
    CHECK_FALSE(resolve_link_lexically("link", "../outside"));
    CHECK_FALSE(resolve_link_lexically("link", "/etc"));
    CHECK_NOTHROW(check_symlinks({{"a/link", "../b/file"}, {"top", "a"}}, "src"));
    CHECK_THROWS_WITH(check_symlinks({{"a/up", "../../x"}}, "src"),
                      Catch::Contains("a/up") && Catch::Contains("above"));
    CHECK_THROWS_WITH(check_symlinks({{"abs", "/etc/passwd"}}, "src"), Catch::Contains("absolute"));
    // Lexically "sub/x/.." is "sub", but sub/x is a link to the root, so the kernel would
    // resolve it to the dataset's parent.
    CHECK_THROWS_WITH(check_symlinks({{"sub/x", ".."}, {"evil", "sub/x/.."}}, "src"),
                      Catch::Contains("evil"));
    CHECK_THROWS(check_symlinks({{"loop1", "loop2"}, {"loop2", "loop1"}}, "src"));
}
