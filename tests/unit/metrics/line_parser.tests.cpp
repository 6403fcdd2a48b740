// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside libstdc++'s
// <regex> (std::function in _State); the code it points at is the standard library's.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/metrics/line_parser.hpp"

using namespace hpsweep::metrics;

namespace {
LineKind parse(std::string_view line, ParsedLine& out, std::string& error) {
    return parse_metric_line(line, out, error);
}
}  // namespace

TEST_CASE("key=value metric lines give a step and every value", "[metrics][line_parser]") {
    ParsedLine out;
    std::string error;
    REQUIRE(parse("HPSWEEP_METRIC step=10 val_loss=0.25 val_acc=0.91", out, error) ==
            LineKind::metric);
    REQUIRE(out.step == 10);
    REQUIRE(out.values.size() == 2);
    CHECK(out.values[0].name == "val_loss");
    CHECK(out.values[0].value == 0.25);
    CHECK(out.values[1].name == "val_acc");
    CHECK(out.values[1].value == 0.91);
}

TEST_CASE("JSON metric lines give the same records", "[metrics][line_parser]") {
    ParsedLine out;
    std::string error;
    REQUIRE(parse(R"(HPSWEEP_METRIC {"step": 10, "val_loss": 0.25, "lr": 1e-3})", out, error) ==
            LineKind::metric);
    REQUIRE(out.step == 10);
    REQUIRE(out.values.size() == 2);
    CHECK(out.values[1].name == "lr");
    CHECK(out.values[1].value == 1e-3);
    REQUIRE(parse(R"(  HPSWEEP_METRIC {"train/loss":NaN,"x":-Infinity})", out, error) ==
            LineKind::metric);
    CHECK_FALSE(out.step.has_value());
    CHECK(std::isnan(out.values[0].value));
    CHECK(std::isinf(out.values[1].value));
}

TEST_CASE("other output lines are not metric lines", "[metrics][line_parser]") {
    ParsedLine out;
    std::string error;
    for (const char* line : {"", "Epoch 1: loss 0.3", "HPSWEEP_METRICS=1",
                             "xHPSWEEP_METRIC step=1 a=1", "hpsweep_metric step=1 a=1"}) {
        CAPTURE(line);
        CHECK(parse(line, out, error) == LineKind::not_metric);
    }
}

TEST_CASE("a progress bar before a carriage return is skipped", "[metrics][line_parser]") {
    ParsedLine out;
    std::string error;
    REQUIRE(parse("Epoch 3: 45%|#### \rHPSWEEP_METRIC step=3 loss=0.5\r", out, error) ==
            LineKind::metric);
    CHECK(out.step == 3);
    CHECK(out.values.at(0).value == 0.5);
}

TEST_CASE("malformed metric lines say what and where", "[metrics][line_parser]") {
    ParsedLine out;
    std::string error;
    struct Case {
        const char* line;
        const char* message;
    };
    const Case cases[] = {
        {"HPSWEEP_METRIC step=1 loss=abc", "column 28: value of 'loss' is not a number: 'abc'"},
        {"HPSWEEP_METRIC step=-1 loss=1", "step must be a non-negative integer"},
        {"HPSWEEP_METRIC step=1.5 loss=1", "step must be a non-negative integer"},
        {"HPSWEEP_METRIC loss", "expected '=' after 'loss'"},
        {"HPSWEEP_METRIC step=3", "no metric values"},
        {"HPSWEEP_METRIC loss=1 loss=2", "'loss' given twice"},
        {"HPSWEEP_METRIC bad!name=1", "expected '=' after 'bad'"},
        {R"(HPSWEEP_METRIC {"loss": "high"})", "is a string, not a number"},
        {R"(HPSWEEP_METRIC {"loss": 1)", "expected ',' or '}'"},
        {R"(HPSWEEP_METRIC {"loss": 1} trailing)", "unexpected text after the JSON object"},
        {R"(HPSWEEP_METRIC {"a b": 1})", "invalid metric name 'a b'"},
        {R"(HPSWEEP_METRIC {"a\"b": 1})", "escapes are not allowed"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.line);
        REQUIRE(parse(c.line, out, error) == LineKind::malformed);
        CHECK_THAT(error, Catch::Contains(c.message));
        CHECK(out.values.empty());
    }
}

TEST_CASE("metric names follow the documented rule", "[metrics][line_parser]") {
    CHECK(is_valid_metric_name("val_loss"));
    CHECK(is_valid_metric_name("val/loss:top-1.5"));
    CHECK_FALSE(is_valid_metric_name(""));
    CHECK_FALSE(is_valid_metric_name("step"));
    CHECK_FALSE(is_valid_metric_name("/abs"));
    CHECK_FALSE(is_valid_metric_name(".."));
    CHECK_FALSE(is_valid_metric_name(std::string(129, 'a')));
    CHECK_FALSE(is_valid_metric_name("a b"));
}

TEST_CASE("regex metrics read a value and an optional step", "[metrics][line_parser]") {
    std::vector<RegexMetric> metrics;
    metrics.emplace_back("val_loss", R"(iter (\d+) .*val loss: ([-+0-9.eE]+))", 2, 1);
    metrics.emplace_back("acc", R"(acc=([0-9.]+))");
    ParsedLine out;
    std::string error;
    REQUIRE(apply_regex_metrics(metrics, "iter 42 | val loss: 0.125 | acc=0.5", out, error));
    REQUIRE(out.values.size() == 2);
    CHECK(out.step == 42);
    CHECK(out.values[0].name == "val_loss");
    CHECK(out.values[0].value == 0.125);
    CHECK(out.values[1].value == 0.5);
    out.clear();
    REQUIRE(apply_regex_metrics(metrics, "nothing here", out, error));
    CHECK(out.values.empty());
    out.clear();
    CHECK_FALSE(apply_regex_metrics(metrics, "acc=1.2.3", out, error));
    CHECK_THAT(error, Catch::Contains("not a number"));
}

TEST_CASE("bad regex metrics are config errors naming the metric", "[metrics][line_parser]") {
    try {
        RegexMetric metric("loss", "(unclosed");
        FAIL("no error");
    } catch (const hpsweep::Error& e) {
        CHECK(e.kind() == hpsweep::ErrorKind::config);
        CHECK_THAT(e.what(), Catch::Contains("metric 'loss'"));
    }
    CHECK_THROWS_AS(RegexMetric("loss", "no groups"), hpsweep::Error);
    CHECK_THROWS_AS(RegexMetric("bad name", "(x)"), hpsweep::Error);
}
