#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/domain.hpp"

using namespace hpsweep::searcher;

TEST_CASE("typed int ranges follow Determined's grid rule", "[searcher][domain]") {
    Domain d;
    d.kind = Domain::Kind::int_range;
    d.minval = 0;
    d.maxval = 2;
    d.count = 3;
    std::vector<std::string> texts;
    for (const auto& v : d.grid_values(0)) texts.push_back(v.text);
    CHECK(texts == std::vector<std::string>{"0", "1", "2"});
    d.count = 100;  // more than the integers in range: every integer
    CHECK(d.grid_size() == 3u);
    CHECK(d.grid_values(0).size() == 3);
    d.maxval = 100;
    d.count = 5;
    texts.clear();
    for (const auto& v : d.grid_values(0)) texts.push_back(v.text);
    CHECK(texts == std::vector<std::string>{"0", "25", "50", "75", "100"});
    d.count.reset();
    CHECK(d.grid_size() == 101u);
}

TEST_CASE("double and log grids take count values evenly, endpoints included",
          "[searcher][domain]") {
    Domain d;
    d.kind = Domain::Kind::double_range;
    d.minval = 0.2;
    d.maxval = 0.8;
    d.count = 4;
    const auto values = d.grid_values(0);
    REQUIRE(values.size() == 4);
    CHECK(values.front().typed.get<double>() == Approx(0.2));
    CHECK(values[1].typed.get<double>() == Approx(0.4));
    CHECK(values.back().typed.get<double>() == 0.8);
    Domain log;
    log.kind = Domain::Kind::log_range;
    log.base = 10;
    log.minval = -4;
    log.maxval = -1;
    log.count = 4;
    const auto lv = log.grid_values(0);
    REQUIRE(lv.size() == 4);
    CHECK(lv[0].typed.get<double>() == Approx(1e-4));
    CHECK(lv[2].typed.get<double>() == Approx(1e-2));
    log.count.reset();
    CHECK_FALSE(log.grid_size().has_value());
    CHECK_THROWS_AS(log.grid_values(0), hpsweep::Error);
}

TEST_CASE("samples stay inside their domains", "[searcher][domain]") {
    Random rng(123);
    Domain i;
    i.kind = Domain::Kind::int_range;
    i.minval = 8;
    i.maxval = 10;
    std::set<long long> seen;
    for (int k = 0; k < 200; ++k) {
        const auto v = i.sample(rng).typed.get<long long>();
        CHECK(v >= 8);
        CHECK(v <= 10);
        seen.insert(v);
    }
    CHECK(seen.size() == 3);
    Domain log;
    log.kind = Domain::Kind::log_range;
    log.base = 2;
    log.minval = 1;
    log.maxval = 3;
    for (int k = 0; k < 100; ++k) {
        const double v = log.sample(rng).typed.get<double>();
        CHECK(v >= 2.0);
        CHECK(v <= 8.0);
    }
}

TEST_CASE("the random source is the same stream for the same seed", "[searcher][domain]") {
    Random a(99), b(99), c(100);
    bool differs = false;
    for (int k = 0; k < 50; ++k) {
        const double x = a.uniform01();
        CHECK(x == b.uniform01());
        CHECK(x >= 0.0);
        CHECK(x < 1.0);
        differs = differs || x != c.uniform01();
    }
    CHECK(differs);
    CHECK(derive_seed(1, "lr") == derive_seed(1, "lr"));
    CHECK(derive_seed(1, "lr") != derive_seed(1, "lr2"));
    CHECK(derive_seed(1, "lr") != derive_seed(2, "lr"));
}

TEST_CASE("values print so that they read back as the same type", "[searcher][domain]") {
    CHECK(format_double(0.001) == "0.001");
    CHECK(format_double(2.0) == "2.0");
    CHECK(format_double(1e-5) == "1e-05");
    CHECK(infer_value("12").typed.is_number_integer());
    CHECK(infer_value("1.5").typed.is_number_float());
    CHECK(infer_value("+3").typed.get<long>() == 3);
    CHECK(infer_value("true").typed.is_boolean());
    CHECK(infer_value("12abc").typed.is_string());
}

// Caught by the sweep_expression fuzzer (tests/fuzz/corpus/sweep_expression/
// finding-uniform-near-dbl-max): with bounds near +-DBL_MAX, high - low overflows and draws
// and grid points became inf or nan.
TEST_CASE("draws and grids between huge bounds stay finite and inside them", "[searcher][domain]") {
    Domain sampled;
    sampled.kind = Domain::Kind::sampled;
    sampled.minval = -1e308;
    sampled.maxval = 1e308;
    sampled.count = 64;
    Domain range = sampled;
    range.kind = Domain::Kind::double_range;
    range.count = 5;
    for (const Domain* d : {&sampled, &range}) {
        Random rng(3);
        std::vector<Value> values = d->grid_values(11);
        for (int i = 0; i < 64; ++i) values.push_back(d->sample(rng));
        for (const auto& v : values) {
            INFO(d->describe() << ": " << v.text);
            const double x = v.typed.get<double>();
            CHECK(std::isfinite(x));
            CHECK(x >= -1e308);
            CHECK(x <= 1e308);
        }
    }
    CHECK(range.grid_values(0)[2].typed.get<double>() == 0.0);
}
