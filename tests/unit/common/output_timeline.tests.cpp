// trials/<id>/output.timeline (hpsweep/output_timeline.hpp): what the launcher appends and
// what `hpsweep logs` reads back, including a line still being written.
#include <catch2/catch.hpp>

#include "hpsweep/output_timeline.hpp"

using namespace hpsweep;

TEST_CASE("timeline records round-trip; a partial last line waits", "[common][timeline]") {
    const std::string text = format_timeline_record({1700000000123, OutputStream::stdout_log, 6}) +
                             format_timeline_record({1700000000124, OutputStream::stderr_log, 4}) +
                             "1700000000125 o 1";  // no newline yet
    CHECK(text.rfind("1700000000123 o 6\n", 0) == 0);
    std::size_t consumed = 0;
    const auto records = parse_timeline(text, consumed);
    REQUIRE(records.size() == 2);
    CHECK(records[0].unix_ms == 1700000000123);
    CHECK(records[0].stream == OutputStream::stdout_log);
    CHECK(records[0].end_offset == 6);
    CHECK(records[1].stream == OutputStream::stderr_log);
    CHECK(records[1].end_offset == 4);
    const std::string grown = text + "2\n";
    const auto more = parse_timeline(grown, consumed);
    REQUIRE(more.size() == 1);
    CHECK(more[0].end_offset == 12);
    CHECK(consumed == grown.size());
}

TEST_CASE("malformed timeline lines are skipped, never fatal", "[common][timeline]") {
    std::size_t consumed = 0;
    const auto records = parse_timeline("x o 1\n12 x 3\n12 o\n12 o -1\n\n5 e 7\n", consumed);
    REQUIRE(records.size() == 1);
    CHECK(records[0].unix_ms == 5);
    CHECK(output_timeline_path("/e/trials/3", 0) == "/e/trials/3/output.timeline");
    CHECK(output_timeline_path("/e/trials/3", 2) == "/e/trials/3/output.rank2.timeline");
}
