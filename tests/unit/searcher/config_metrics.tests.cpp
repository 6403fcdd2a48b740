// The `metrics:` section of experiment.yaml: regex metrics and Lightning's CSV.
// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside libstdc++'s
// <regex> (as in metrics/src/line_parser.cpp); clang has no such warning.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <catch2/catch.hpp>

#include <regex>
#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/config.hpp"

using namespace hpsweep;
using namespace hpsweep::searcher;

namespace {

std::string config_error(const std::string& yaml) {
    try {
        (void)parse_experiment_config(yaml, "exp.yaml");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::config);
        return e.what();
    }
    FAIL("no error for:\n" << yaml);
    return {};
}

std::string regex_error(const std::string& pattern) {
    try {
        (void)make_regex_metric("loss", pattern, "--metric-regex");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::config);
        return e.what();
    }
    FAIL("no error for the regex " << pattern);
    return {};
}

const std::string head = "entrypoint: python3 train.py\n";

}  // namespace

TEST_CASE("metrics.regex and metrics.lightning_csv load", "[searcher][config][metrics]") {
    const auto c =
        parse_experiment_config(head +
                                    "metrics:\n"
                                    "  regex:\n"
                                    "    val_loss: 'val_loss=(?P<value>[0-9.eE+-]+)'\n"
                                    "    acc: 'it (?<step>\\d+) .*acc ([0-9.]+)'\n"
                                    "    lr: 'lr[:=] *(\\d+(?:\\.\\d+)?)'\n"
                                    "  lightning_csv: lightning_logs/version_0/metrics.csv\n",
                                "exp.yaml");
    REQUIRE(c.metrics.regex.size() == 3);
    const auto& loss = c.metrics.regex[0];
    CHECK(loss.name == "val_loss");
    CHECK(loss.pattern == "val_loss=(?P<value>[0-9.eE+-]+)");
    CHECK(loss.ecmascript == "val_loss=([0-9.eE+-]+)");
    CHECK(loss.value_group == 1);
    CHECK(loss.step_group == 0);
    CHECK(loss.origin == "exp.yaml:4:15");
    const auto& acc = c.metrics.regex[1];
    CHECK(acc.ecmascript == "it (\\d+) .*acc ([0-9.]+)");
    CHECK(acc.step_group == 1);
    CHECK(acc.value_group == 2);  // the only unnamed group
    const auto& lr = c.metrics.regex[2];
    CHECK(lr.value_group == 1);  // (?:...) does not count
    CHECK(c.metrics.lightning_csv == "lightning_logs/version_0/metrics.csv");

    // The ECMAScript form finds what the Python-style pattern means.
    std::smatch m;
    const std::string line = "it 12 loss 0.5 acc 0.875";
    REQUIRE(std::regex_search(line, m, std::regex(acc.ecmascript)));
    CHECK(m[acc.step_group].str() == "12");
    CHECK(m[acc.value_group].str() == "0.875");
}

TEST_CASE("the metrics section survives experiment.yaml", "[searcher][config][metrics]") {
    const auto c = parse_experiment_config(head +
                                               "metrics:\n"
                                               "  regex:\n"
                                               "    loss: \"loss='?(?P<value>[0-9.]+)\"\n"
                                               "  lightning_csv: /abs/metrics.csv\n",
                                           "exp.yaml");
    const auto again = parse_experiment_config(to_yaml(c), "experiment.yaml");
    REQUIRE(again.metrics.regex.size() == 1);
    CHECK(again.metrics.regex[0].pattern == "loss='?(?P<value>[0-9.]+)");
    CHECK(again.metrics.regex[0].ecmascript == "loss='?([0-9.]+)");
    CHECK(again.metrics.lightning_csv == "/abs/metrics.csv");
    // No metrics section: nothing is written for it.
    CHECK(to_yaml(parse_experiment_config(head, "e.yaml")).find("metrics") == std::string::npos);
}

TEST_CASE("bad metrics sections point at file:line:col", "[searcher][config][metrics]") {
    CHECK_THAT(config_error(head + "metrics:\n  regexp: {}\n"),
               Catch::Contains("exp.yaml:3:3: unknown key 'metrics.regexp' in metrics (did you "
                               "mean 'regex'?)"));
    CHECK_THAT(config_error(head + "metrics: [a]\n"),
               Catch::Contains("exp.yaml:2:10: 'metrics' must be a mapping"));
    CHECK_THAT(config_error(head + "metrics:\n  regex: [a, b]\n"),
               Catch::Contains("exp.yaml:3:10: 'metrics.regex' must be a mapping"));
    CHECK_THAT(config_error(head + "metrics:\n  regex:\n    loss: [1]\n"),
               Catch::Contains("exp.yaml:4:11: 'metrics.regex.loss' must be a string"));
    CHECK_THAT(config_error(head + "metrics:\n  lightning_csv: {a: 1}\n"),
               Catch::Contains("exp.yaml:3:18: 'metrics.lightning_csv' must be a string"));
    CHECK_THAT(config_error(head + "metrics:\n  lightning_csv: ''\n"),
               Catch::Contains("exp.yaml:3:18: 'metrics.lightning_csv' is empty"));
    CHECK_THAT(config_error(head + "metrics:\n  regex:\n    step: 'x(1)'\n"),
               Catch::Contains("exp.yaml:4:5: invalid metric name 'step'"));
    CHECK_THAT(config_error(head + "metrics:\n  regex:\n    a: 'x(1)'\n    a: 'y(2)'\n"),
               Catch::Contains("exp.yaml:5:5: duplicate key 'metrics.regex.a'"));
    // An invalid regex: where it is in the file, and what std::regex says.
    CHECK_THAT(config_error(head + "metrics:\n  regex:\n    loss: 'loss=([0-9.]+'\n"),
               Catch::Contains("exp.yaml:4:11: metric 'loss': invalid regex 'loss=([0-9.]+'"));
}

TEST_CASE("regex metric groups", "[searcher][config][metrics]") {
    CHECK_THAT(regex_error("loss=[0-9.]+"),
               Catch::Contains("--metric-regex: metric 'loss': regex 'loss=[0-9.]+' has 0 "
                               "unnamed capturing groups"));
    CHECK_THAT(regex_error("(\\d+) (\\d+)"), Catch::Contains("has 2 unnamed capturing groups"));
    CHECK_THAT(regex_error("a(?P<val>1)"),
               Catch::Contains("column 6 of the regex: group name 'val'"));
    CHECK_THAT(regex_error("a(?P<value1)"),
               Catch::Contains("column 2 of the regex: group name not closed"));
    CHECK_THAT(regex_error("(?P<value>1)(?P<value>2)"),
               Catch::Contains("group 'value' given twice"));
    CHECK_THAT(regex_error("a[(]b"), Catch::Contains("0 unnamed capturing groups"));
    CHECK_THAT(regex_error("x([0-9]"), Catch::Contains("invalid regex 'x([0-9]'"));
    // Escaped parentheses and classes are not groups.
    const auto m = make_regex_metric("loss", "\\(loss\\) [(]([0-9.]+)[)]", "--metric-regex");
    CHECK(m.value_group == 1);
    CHECK(m.ecmascript == m.pattern);
}
