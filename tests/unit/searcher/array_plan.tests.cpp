#include <catch2/catch.hpp>

#include <set>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/array_plan.hpp"
#include "hpsweep/searcher/expression.hpp"

using namespace hpsweep;
using namespace hpsweep::searcher;

TEST_CASE("10,000 trials with MaxArraySize 1001 make 10 arrays covering every trial once",
          "[searcher][array_plan]") {
    const auto chunks = plan_arrays(10000, 1001);
    REQUIRE(chunks.size() == 10);
    CHECK(chunks[0].array_spec(0) == "0-1000");
    CHECK(chunks[0].offset == 0);
    CHECK(chunks[1].offset == 1001);
    CHECK(chunks[9].offset == 9009);
    CHECK(chunks[9].array_spec(4) == "0-990%4");
    std::set<long> covered;
    for (const auto& chunk : chunks) {
        for (const auto& [first, last] : chunk.indices) {
            CHECK(first >= 0);
            CHECK(last <= 1000);  // every index below MaxArraySize
            for (long i = first; i <= last; ++i) CHECK(covered.insert(chunk.offset + i).second);
        }
    }
    CHECK(covered.size() == 10000);
    CHECK(*covered.rbegin() == 9999);
}

TEST_CASE("small sweeps are one array; edge sizes", "[searcher][array_plan]") {
    CHECK(plan_arrays(4, 1001).size() == 1);
    CHECK(plan_arrays(4, 1001)[0].array_spec(2) == "0-3%2");
    CHECK(plan_arrays(1001, 1001).size() == 1);
    CHECK(plan_arrays(1002, 1001).size() == 2);
    CHECK(plan_arrays(1002, 1001)[1].array_spec(0) == "0");
    CHECK(plan_arrays(0, 1001).empty());
    CHECK_THROWS_AS(plan_arrays(5, 0), Error);
}

TEST_CASE("resubmission plans only the given trials, in compressed ranges",
          "[searcher][array_plan]") {
    const auto chunks = plan_arrays_for_trials({9, 3, 4, 5, 1500, 7, 4, 2000}, 1001);
    REQUIRE(chunks.size() == 2);
    CHECK(chunks[0].offset == 0);
    CHECK(chunks[0].array_spec(0) == "3-5,7,9");
    CHECK(chunks[0].count() == 5);
    CHECK(chunks[1].offset == 1001);
    CHECK(chunks[1].array_spec(3) == "499,999%3");
    CHECK(chunks[1].contains_trial(2000));
    CHECK_FALSE(chunks[1].contains_trial(2001));
}

TEST_CASE("array specs parse back", "[searcher][array_plan]") {
    CHECK(parse_array_spec("0-1000%4") == std::vector<IndexRange>{{0, 1000}});
    CHECK(parse_array_spec("3-5,7,9") == std::vector<IndexRange>{{3, 5}, {7, 7}, {9, 9}});
    CHECK_THROWS_AS(parse_array_spec("5-3"), Error);
    CHECK_THROWS_AS(parse_array_spec("a"), Error);
}
