// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside libstdc++'s
// <regex> (std::function in _State); the code it points at is the standard library's.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <catch2/catch.hpp>

#include <fstream>
#include <regex>

#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/metrics/h5.hpp"
#include "hpsweep/metrics/html_report.hpp"
#include "hpsweep/metrics/recorder.hpp"
#include "hpsweep/metrics/summary.hpp"
#include "temp_dir.hpp"

using namespace hpsweep::metrics;
using hpsweep::ExperimentDir;
using hpsweep::TrialRecord;
using hpsweep::test::TempDir;

namespace {
// Three trials: 0 and 1 reported val_loss curves (1 is best), 2 never started.
ExperimentDir make_experiment(const std::filesystem::path& root, const std::string& metadata) {
    const ExperimentDir dir(root);
    std::filesystem::create_directories(root);
    std::vector<TrialRecord> trials;
    for (long id = 0; id < 3; ++id) {
        TrialRecord record;
        record.id = id;
        record.hyperparameters = {{"lr", 0.1 / static_cast<double>(id + 1)},
                                  {"model", id == 1 ? "big" : "small"}};
        record.argv = {"train.py"};
        trials.push_back(record);
    }
    dir.write_trials(trials);
    if (!metadata.empty())
        hpsweep::write_file_atomic(dir.metadata_path(), metadata);
    for (long id = 0; id < 2; ++id) {
        TrialAttributes attributes;
        attributes.trial_id = id;
        attributes.hyperparameters = trials[static_cast<std::size_t>(id)].hyperparameters;
        TrialRecorder recorder(dir.trial_metrics(id), attributes);
        for (int step = 0; step < 5; ++step) {
            const double loss = (id == 1 ? 0.5 : 1.0) / (step + 1);
            recorder.record(step, "val_loss", loss);
            recorder.record(step, "accuracy", 1 - loss);
        }
        recorder.record(5, "val_loss", 2.0);  // the last value is not the best
        recorder.finish(id == 0 ? "failed" : "completed", id == 0 ? 3 : 0);
    }
    hpsweep::write_file_atomic(
        dir.trial_result(1),
        R"({"trial":1,"status":"completed","exit_code":0,"start":"2026-01-01T00:00:00Z",)"
        R"("end":"2026-01-01T01:00:00Z","node":"n2"})");
    return dir;
}
}  // namespace

TEST_CASE("results join the trial table, result.json and the metric files", "[metrics][summary]") {
    TempDir temp;
    const auto dir = make_experiment(temp.path() / "exp", "");
    const ExperimentResults results = collect_results(dir.root());
    REQUIRE(results.trials.size() == 3);
    CHECK(results.name == "exp");
    CHECK(results.metric_names == std::vector<std::string>{"accuracy", "val_loss"});
    CHECK(results.hyperparameter_names == std::vector<std::string>{"lr", "model"});
    CHECK(results.trials[0].status == "failed");
    CHECK(results.trials[0].exit_code == 3);
    CHECK(results.trials[1].status == "completed");
    CHECK(results.trials[1].node == "n2");
    CHECK(results.trials[2].status == "pending");
    CHECK(results.trials[1].last_step() == 5);
    // No config: the name rule says val_loss is smaller-is-better, accuracy larger.
    CHECK(results.direction("val_loss").smaller_is_better);
    CHECK(results.direction("val_loss").source == "name");
    CHECK_FALSE(results.direction("accuracy").smaller_is_better);
    const auto best = results.best_of(results.trials[1], "val_loss");
    REQUIRE(best);
    CHECK(best->value == Approx(0.1));
    CHECK(best->step == 4);
    CHECK(results.best_trial("val_loss") == std::optional<std::size_t>(1));
    CHECK(results.best_trial("accuracy") == std::optional<std::size_t>(1));
    CHECK(results.primary_metric() == "accuracy");
}

TEST_CASE("the searcher block of experiment.json sets the metric and its direction",
          "[metrics][summary]") {
    TempDir temp;
    const auto dir = make_experiment(
        temp.path() / "exp",
        R"({"name":"sweep-7","searcher":{"metric":"val_loss","smaller_is_better":false}})");
    const ExperimentResults results = collect_results(dir.root());
    CHECK(results.name == "sweep-7");
    CHECK(results.primary_metric() == "val_loss");
    CHECK(results.metric_names.front() == "val_loss");
    CHECK_FALSE(results.direction("val_loss").smaller_is_better);
    CHECK(results.direction("val_loss").source == "config");
    // Larger is better now: the trailing 2.0 at step 5 is the best value.
    CHECK(results.best_of(results.trials[0], "val_loss")->value == 2.0);
}

TEST_CASE("the summary file is one row per trial", "[metrics][summary]") {
    TempDir temp;
    const auto dir = make_experiment(temp.path() / "exp", "");
    rebuild_summary(dir.root());
    const auto file = h5::open_file_readonly(summary_path(dir.root()).string());
    CHECK(h5::read_string_attribute(file.get(), "format") == "hpsweep-summary");
    CHECK(h5::read_int_attribute(file.get(), "trial_count") == 3);
    for (const char* column :
         {"trials/trial_id", "trials/status", "trials/hp.lr", "trials/hp.model",
          "trials/metric.val_loss.best_value", "trials/metric.accuracy.last_step"}) {
        CAPTURE(column);
        CHECK(H5Lexists(file.get(), "trials", H5P_DEFAULT) > 0);
        const h5::Dataset dataset(H5Dopen2(file.get(), column, H5P_DEFAULT), column);
        const h5::Dataspace space(H5Dget_space(dataset.get()), "space");
        hsize_t rows = 0;
        H5Sget_simple_extent_dims(space.get(), &rows, nullptr);
        CHECK(rows == 3);
    }
}

TEST_CASE("the HTML report draws one curve per trial and metric", "[metrics][report]") {
    TempDir temp;
    const auto dir = make_experiment(temp.path() / "exp", "");
    const ExperimentResults results = collect_results(dir.root());
    const std::string html = render_html_report(results);
    auto count = [&](const std::string& pattern) {
        const std::regex re(pattern);
        return std::distance(std::sregex_iterator(html.begin(), html.end(), re),
                             std::sregex_iterator());
    };
    CHECK(count(R"(<figure class="metric")") == 2);
    CHECK(count(R"(<path class="curve" data-trial="\d+")") == 4);
    CHECK(count(R"(<polyline class="pc-line[^"]*" data-trial=)") == 3);
    CHECK(count(R"(<tr data-trial="1" class="best">)") == 1);
    CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));  // no external resource
    CHECK(html.find("<script src") == std::string::npos);
    CHECK(html_escape("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
}

TEST_CASE("a broken metrics file is reported per trial, not fatal", "[metrics][summary]") {
    TempDir temp;
    const auto dir = make_experiment(temp.path() / "exp", "");
    std::ofstream(dir.trial_metrics(1), std::ios::trunc) << "garbage";
    const ExperimentResults results = collect_results(dir.root());
    CHECK_THAT(results.trials[1].metrics_error, Catch::Contains("not a readable HDF5 file"));
    CHECK(results.trials[0].metrics.size() == 2);
}
