#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "hpsweep/searcher/expression.hpp"

using namespace hpsweep::searcher;

namespace {
std::vector<std::string> texts(const std::vector<Value>& values) {
    std::vector<std::string> out;
    for (const auto& v : values) out.push_back(v.text);
    return out;
}

// The column and reason of the error a bad expression raises.
std::pair<std::size_t, std::string> error_of(const std::string& text) {
    try {
        (void)parse_sweep_expression(text);
    } catch (const ExpressionError& e) {
        return {e.column(), e.reason()};
    }
    FAIL("no error for " << text);
    return {};
}
}  // namespace

TEST_CASE("a list of numbers keeps each value's spelling and type", "[searcher][expression]") {
    const Domain d = parse_sweep_expression("[8, 16, 32, 1e-5]");
    REQUIRE(d.kind == Domain::Kind::categorical);
    CHECK(texts(d.values) == std::vector<std::string>{"8", "16", "32", "1e-5"});
    CHECK(d.values[0].typed.is_number_integer());
    CHECK(d.values[0].typed.get<long>() == 8);
    CHECK(d.values[3].typed.is_number_float());
    CHECK(d.values[3].typed.get<double>() == Approx(1e-5));
    CHECK(d.grid_size() == 4u);
}

TEST_CASE("string lists: quoted, double-quoted, bare words, escapes", "[searcher][expression]") {
    CHECK(texts(parse_sweep_expression("['resnet18', 'resnet50']").values) ==
          std::vector<std::string>{"resnet18", "resnet50"});
    CHECK(texts(parse_sweep_expression("[\"a b\", 'c,d', \"it's\"]").values) ==
          std::vector<std::string>{"a b", "c,d", "it's"});
    CHECK(texts(parse_sweep_expression("[adam, sgd]").values) ==
          std::vector<std::string>{"adam", "sgd"});
    CHECK(texts(parse_sweep_expression(R"(['it\'s'])").values) == std::vector<std::string>{"it's"});
    const Domain quoted_number = parse_sweep_expression("['8']");
    CHECK(quoted_number.values[0].typed.is_string());
    const Domain mixed = parse_sweep_expression("[true, 2.5, x]");
    CHECK(mixed.values[0].typed.is_boolean());
    CHECK(mixed.values[1].typed.is_number_float());
    CHECK(mixed.values[2].typed.is_string());
}

TEST_CASE("range follows Python: start, stop (exclusive), step", "[searcher][expression]") {
    CHECK(texts(parse_sweep_expression("range(1, 10, 2)").values) ==
          std::vector<std::string>{"1", "3", "5", "7", "9"});
    CHECK(texts(parse_sweep_expression("range(4)").values) ==
          std::vector<std::string>{"0", "1", "2", "3"});
    CHECK(texts(parse_sweep_expression("range(3, 6)").values) ==
          std::vector<std::string>{"3", "4", "5"});
    CHECK(texts(parse_sweep_expression("range(5, 0, -2)").values) ==
          std::vector<std::string>{"5", "3", "1"});
    const Domain real = parse_sweep_expression("range(0, 1, 0.25)");
    CHECK(texts(real.values) == std::vector<std::string>{"0.0", "0.25", "0.5", "0.75"});
    CHECK(real.values[1].typed.is_number_float());
    CHECK(parse_sweep_expression("  range ( 1 , 3 )  ").values.size() == 2);
}

TEST_CASE("uniform and loguniform draw n values inside the bounds, reproducibly",
          "[searcher][expression]") {
    const Domain u = parse_sweep_expression("uniform(1e-5, 1e-2, 5)");
    REQUIRE(u.kind == Domain::Kind::sampled);
    CHECK_FALSE(u.log_scale);
    CHECK(u.grid_size() == 5u);
    const auto a = u.grid_values(7);
    const auto b = u.grid_values(7);
    const auto c = u.grid_values(8);
    REQUIRE(a.size() == 5);
    CHECK(a == b);
    CHECK(a != c);
    for (const auto& v : a) {
        CHECK(v.typed.get<double>() >= 1e-5);
        CHECK(v.typed.get<double>() < 1e-2);
        CHECK(std::stod(v.text) == v.typed.get<double>());  // the text reads back exactly
    }
    const Domain lu = parse_sweep_expression("loguniform(1e-5, 1e-1, 4)");
    CHECK(lu.log_scale);
    const auto values = lu.grid_values(1);
    REQUIRE(values.size() == 4);
    for (const auto& v : values) {
        CHECK(v.typed.get<double>() >= 1e-5);
        CHECK(v.typed.get<double>() <= 1e-1);
    }
    // Log-uniform spreads over decades: over many draws about half fall below 1e-3.
    const Domain many = parse_sweep_expression("loguniform(1e-5, 1e-1, 2000)");
    long below = 0;
    for (const auto& v : many.grid_values(3)) below += v.typed.get<double>() < 1e-3;
    CHECK(below > 800);
    CHECK(below < 1200);
}

TEST_CASE("a plain value is one constant, exactly as typed", "[searcher][expression]") {
    for (const std::string text : {"0.1", "resnet18", "1e-3", "", "a,b", "f(x"}) {
        const Domain d = parse_sweep_expression(text);
        REQUIRE(d.kind == Domain::Kind::constant);
        CHECK(d.values.at(0).text == text);
    }
    CHECK(parse_sweep_expression("32").values[0].typed.is_number_integer());
    CHECK_FALSE(looks_like_sweep_expression("resnet18"));
    CHECK(looks_like_sweep_expression("[1"));
    CHECK(looks_like_sweep_expression("unifrom(1, 2, 3)"));
}

TEST_CASE("bad expressions say what is wrong and at which column", "[searcher][expression]") {
    struct Case {
        std::string text;
        std::size_t column;
        std::string says;
    };
    const std::vector<Case> cases = {
        {"[8, 16", 1, "missing ']'"},
        {"[]", 1, "empty list"},
        {"[8,, 16]", 4, "empty value"},
        {"[8, 16] x", 9, "unexpected 'x'"},
        {"['a, 'b']", 7, "expected ',' or ']'"},
        {"['abc", 2, "unterminated string"},
        {"[[1], 2]", 2, "nested lists"},
        {"range(1, 10, 0)", 14, "step must not be zero"},
        {"range(10, 1)", 1, "is empty"},
        {"range()", 1, "1 to 3 arguments"},
        {"range(1, x)", 10, "'x' is not a number"},
        {"uniform(1, 2)", 1, "3 arguments"},
        {"uniform(1, 2, 0)", 15, "positive integer"},
        {"uniform(1, 2, 2.5)", 15, "positive integer"},
        {"uniform(2, 1, 3)", 12, "greater than low"},
        {"loguniform(0, 1, 3)", 12, "low > 0"},
        {"unifrom(1, 2, 3)", 1, "unknown sweep function 'unifrom'"},
        {"uniform(1, 2, 3", 8, "missing ')'"},
        {"uniform(1 2, 3)", 11, "expected ',' or ')'"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        const auto [column, reason] = error_of(c.text);
        CHECK(column == c.column);
        CHECK_THAT(reason, Catch::Contains(c.says));
    }
    try {
        (void)parse_sweep_expression("[8, 16");
        FAIL("no error");
    } catch (const ExpressionError& e) {
        CHECK(e.kind() == hpsweep::ErrorKind::config);
        CHECK_THAT(std::string(e.what()), Catch::StartsWith("column 1: "));
    }
}

// Caught by the sweep_expression fuzzer (tests/fuzz/corpus/sweep_expression/
// finding-range-overflow): start + i * step overflowed long long in between, and the count,
// taken through double, could step past stop or call a non-empty range empty.
TEST_CASE("integer ranges at the ends of long long are exact", "[searcher][expression]") {
    CHECK(texts(parse_sweep_expression(
                    "range(-9223372036854775807, 9223372036854775807, 4611686018427387904)")
                    .values) == std::vector<std::string>{"-9223372036854775807",
                                                         "-4611686018427387903", "1",
                                                         "4611686018427387905"});
    CHECK(
        texts(
            parse_sweep_expression("range(9223372036854775800, 9223372036854775807, 3)").values) ==
        std::vector<std::string>{"9223372036854775800", "9223372036854775803",
                                 "9223372036854775806"});
    CHECK(texts(parse_sweep_expression(
                    "range(9223372036854775807, -9223372036854775807, -9223372036854775807)")
                    .values) == std::vector<std::string>{"9223372036854775807", "0"});
    CHECK(parse_sweep_expression("range(9223372036854774784, 9223372036854775807)").grid_size() ==
          1023u);
}
