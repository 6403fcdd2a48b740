#pragma once
// `hpsweep report`: one self-contained HTML file (no network, no external script or font):
// one inline SVG chart per metric with one <path class="curve" data-trial="ID"> per trial
// that reported the metric, a parallel-coordinates SVG of the hyper-parameters against the
// primary metric (<polyline class="pc-line" data-trial="ID">), and the trial table with the
// best trial marked. A small inline script only adds hover highlighting and column sorting;
// when it ran to the end it sets data-script-ok="1" on <body> (checked by the browser test).

#include <string>
#include <string_view>

#include "hpsweep/metrics/summary.hpp"

namespace hpsweep::metrics {

struct ReportOptions {
    std::string metric;                      // primary metric; "" = results.primary_metric()
    std::size_t max_points_per_curve = 600;  // longer curves are thinned (first/last kept)
    // > 0: the page reloads itself every N seconds (`hpsweep report --watch` while trials
    // run); 0: a finished report, no reload.
    int refresh_seconds = 0;
};

// Reads each trial's metrics.h5 (records) under results.root and renders the page.
std::string render_html_report(const ExperimentResults& results, const ReportOptions& options = {});

std::string html_escape(std::string_view text);

}  // namespace hpsweep::metrics
