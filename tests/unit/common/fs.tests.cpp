#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <filesystem>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/process.hpp"
#include "hpsweep/strings.hpp"
#include "hpsweep/users.hpp"

namespace fs = std::filesystem;
using namespace hpsweep;

namespace {
fs::path fresh_dir(const std::string& name) {
    auto dir = fs::temp_directory_path() / ("hpsweep-common-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}
}  // namespace

TEST_CASE("write_file_atomic replaces the whole file and leaves no temporary", "[common][fs]") {
    const auto dir = fresh_dir("atomic");
    const auto target = dir / "table.json";
    write_file_atomic(target, "first");
    write_file_atomic(target, "second version");
    CHECK(read_file(target) == "second version");
    CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}) == 1);
    fs::remove_all(dir);
}

TEST_CASE("an AtomicFile that is never committed leaves the target untouched", "[common][fs]") {
    const auto dir = fresh_dir("uncommitted");
    const auto target = dir / "data";
    write_file_atomic(target, "old");
    {
        AtomicFile file(target);
        file.write("half-written");
    }
    CHECK(read_file(target) == "old");
    CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}) == 1);
    fs::remove_all(dir);
}

TEST_CASE("read_file names the missing path", "[common][fs]") {
    try {
        (void)read_file("/nonexistent/hpsweep/file");
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::io);
        CHECK_THAT(e.what(), Catch::Contains("/nonexistent/hpsweep/file"));
    }
}

TEST_CASE("run_process passes arguments without a shell and captures both streams", "[common][process]") {
    const auto result = run_process({"sh", "-c", "printf '%s' \"$1\"; echo oops >&2; exit 3", "sh", "a b;$(x)"});
    CHECK(result.exit_code == 3);
    CHECK(result.out == "a b;$(x)");
    CHECK(result.err == "oops\n");
    const auto echoed = run_process({"cat"}, std::string("from stdin"));
    CHECK(echoed.out == "from stdin");
    CHECK_THROWS_AS(run_process({"/nonexistent-program-hpsweep"}), Error);
}

TEST_CASE("shell_quote makes any word literal for sh", "[common][strings]") {
    CHECK(shell_quote("plain-word_1.0") == "plain-word_1.0");
    CHECK(shell_quote("it's") == "'it'\\''s'");
    for (const std::string word : {"a b", "$(rm -rf /)", "`x`", "\"q\"", "semi;colon", ""}) {
        const auto result = run_process({"sh", "-c", "printf '%s' " + shell_quote(word)});
        CHECK(result.out == word);
    }
}

TEST_CASE("parse_size understands suffixes and rejects junk", "[common][strings]") {
    CHECK(parse_size("1024") == 1024);
    CHECK(parse_size("2K") == 2048);
    CHECK(parse_size("500G") == 500ULL << 30);
    CHECK(parse_size("1.5T") == 3ULL << 39);
    CHECK_THROWS_AS(parse_size("12Q"), Error);
    CHECK_THROWS_AS(parse_size("-1G"), Error);
    CHECK_THROWS_AS(parse_size("lots"), Error);
}

// Caught by the plugstack_args fuzzer (tests/fuzz/corpus/plugstack_args/finding-cache-max-1e30):
// sizes of 2^64 bytes and more were converted from double with undefined behaviour.
TEST_CASE("parse_size rejects sizes that do not fit in 64 bits", "[common][strings]") {
    CHECK_THROWS_AS(parse_size("1e30"), Error);
    CHECK_THROWS_AS(parse_size("16777216T"), Error);  // exactly 2^64
    CHECK_THROWS_AS(parse_size("1e300K"), Error);
    CHECK(parse_size("16777215T") == 16777215ULL << 40);
    CHECK(parse_size("1.8e19") == 18000000000000000000ULL);
}

TEST_CASE("invalid_utf8_offset finds the first byte that is not UTF-8", "[common][strings]") {
    constexpr auto npos = std::string_view::npos;
    CHECK(invalid_utf8_offset("") == npos);
    CHECK(invalid_utf8_offset("plain ascii") == npos);
    CHECK(invalid_utf8_offset("gr\xc3\xbc\xc3\x9f"
                              "e \xe2\x82\xac \xf0\x9f\x98\x80") == npos);
    CHECK(invalid_utf8_offset("caf\xe9") == 3);              // Latin-1
    CHECK(invalid_utf8_offset("ab\x88") == 2);               // a lone continuation byte
    CHECK(invalid_utf8_offset("\xc3") == 0);                 // truncated
    CHECK(invalid_utf8_offset("x\xc0\xaf") == 1);            // overlong '/'
    CHECK(invalid_utf8_offset("\xe0\x80\xaf") == 0);         // overlong, 3 bytes
    CHECK(invalid_utf8_offset("\xed\xa0\x80") == 0);         // a surrogate
    CHECK(invalid_utf8_offset("\xf4\x90\x80\x80") == 0);     // above U+10FFFF
    CHECK(invalid_utf8_offset("\xf4\x8f\xbf\xbf") == npos);  // U+10FFFF
    CHECK(invalid_utf8_offset("\xe2\x82x") == 0);            // bad third byte
}

TEST_CASE("split and join are inverses", "[common][strings]") {
    CHECK(split("a,,b", ',') == std::vector<std::string>{"a", "", "b"});
    CHECK(join(split("x:y:z", ':'), ":") == "x:y:z");
    CHECK(trim("  padded\t\n") == "padded");
}

TEST_CASE("edit_distance counts single-character edits", "[common][strings]") {
    CHECK(hpsweep::edit_distance("list", "list") == 0);
    CHECK(hpsweep::edit_distance("lst", "list") == 1);
    CHECK(hpsweep::edit_distance("endd", "end") == 1);
    CHECK(hpsweep::edit_distance("", "abc") == 3);
    CHECK(hpsweep::edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("current_umask reads the umask without changing it", "[common][fs]") {
    const mode_t before = ::umask(027);
    CHECK(hpsweep::current_umask() == 027);
    CHECK(hpsweep::current_umask() == 027);  // reading did not reset it
    ::umask(before);
    CHECK(hpsweep::current_umask() == before);
}

TEST_CASE("user_name gives the login name, or the number for an unknown uid", "[common]") {
    CHECK(hpsweep::user_name(0) == "root");
    CHECK(hpsweep::user_name(4'000'000'123) == "4000000123");
}
