#include "hpsweep/metrics/html_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"

namespace hpsweep::metrics {

namespace {

constexpr double chart_width = 640;
constexpr double chart_height = 300;
constexpr double margin_left = 64;
constexpr double margin_right = 16;
constexpr double margin_top = 12;
constexpr double margin_bottom = 36;

std::string colour_for(std::size_t index) {
    // Golden-angle hues: neighbours in trial order get clearly different colours.
    return fmt::format("hsl({:.0f},65%,42%)",
                       std::fmod(static_cast<double>(index) * 137.508, 360.0));
}

std::string number(double value) {
    if (std::isnan(value))
        return "n/a";
    return fmt::format("{:.4g}", value);
}

struct Range {
    double low = std::numeric_limits<double>::infinity();
    double high = -std::numeric_limits<double>::infinity();
    void add(double v) {
        if (!std::isfinite(v))
            return;
        low = std::min(low, v);
        high = std::max(high, v);
    }
    bool empty() const { return low > high; }
    void pad() {
        if (empty()) {
            low = 0;
            high = 1;
        } else if (low == high) {
            low -= 0.5;
            high += 0.5;
        }
    }
    double scale(double v, double out_low, double out_high) const {
        return out_low + (v - low) / (high - low) * (out_high - out_low);
    }
};

// Thins a series to at most `limit` points, keeping the first and the last.
std::vector<MetricRecord> thin(const std::vector<MetricRecord>& records, std::size_t limit) {
    if (records.size() <= limit || limit < 2)
        return records;
    std::vector<MetricRecord> out;
    out.reserve(limit);
    const double stride = static_cast<double>(records.size() - 1) / static_cast<double>(limit - 1);
    for (std::size_t i = 0; i < limit; ++i) {
        out.push_back(
            records[static_cast<std::size_t>(std::llround(static_cast<double>(i) * stride))]);
    }
    return out;
}

struct Curves {
    // metric -> trial index -> records
    std::map<std::string, std::map<std::size_t, std::vector<MetricRecord>>, std::less<>> by_metric;
};

Curves load_curves(const ExperimentResults& results, std::size_t limit) {
    Curves curves;
    const ExperimentDir dir(results.root);
    for (std::size_t i = 0; i < results.trials.size(); ++i) {
        const auto& trial = results.trials[i];
        if (!trial.has_metrics_file || !trial.metrics_error.empty())
            continue;
        try {
            TrialFileContent content = read_trial_file(dir.trial_metrics(trial.id));
            for (auto& series : content.metrics) {
                if (series.records.empty())
                    continue;
                curves.by_metric[series.name][i] = thin(series.records, limit);
            }
        } catch (const Error&) {
            // Replaced between the summary and now, or unreadable: the table says so.
        }
    }
    return curves;
}

void render_chart(std::string& out, const ExperimentResults& results, const std::string& metric,
                  const std::map<std::size_t, std::vector<MetricRecord>>& trial_curves) {
    Range x, y;
    for (const auto& [index, records] : trial_curves) {
        for (const auto& r : records) {
            x.add(static_cast<double>(r.step));
            y.add(r.value);
        }
    }
    x.pad();
    y.pad();
    const double left = margin_left, right = chart_width - margin_right;
    const double top = margin_top, bottom = chart_height - margin_bottom;
    const auto direction = results.direction(metric);
    out += fmt::format(
        "<figure class=\"metric\" data-metric=\"{0}\"><figcaption>{0} <small>({1} is "
        "better)</small>"
        "</figcaption>\n<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "
        "{2} {3}\" "
        "width=\"{2}\" height=\"{3}\" role=\"img\" aria-label=\"{0} per step\">\n",
        html_escape(metric), direction.smaller_is_better ? "smaller" : "larger", chart_width,
        chart_height);
    out += fmt::format("<rect class=\"plot\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\n",
                       left, top, right - left, bottom - top);
    for (int tick = 0; tick <= 4; ++tick) {
        const double fraction = tick / 4.0;
        const double yv = y.low + fraction * (y.high - y.low);
        const double ypix = bottom - fraction * (bottom - top);
        out += fmt::format(
            "<line class=\"grid\" x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\"/>"
            "<text class=\"tick\" x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
            left, right, ypix, left - 6, ypix + 4, number(yv));
        const double xv = x.low + fraction * (x.high - x.low);
        const double xpix = left + fraction * (right - left);
        out += fmt::format(
            "<text class=\"tick\" x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", xpix,
            bottom + 16, number(std::round(xv)));
    }
    out += fmt::format(
        "<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">step</text>\n",
        (left + right) / 2, chart_height - 4);
    for (const auto& [index, records] : trial_curves) {
        std::string d;
        bool pen_down = false;
        for (const auto& r : records) {
            if (!std::isfinite(r.value)) {
                pen_down = false;
                continue;
            }
            const double px = x.scale(static_cast<double>(r.step), left, right);
            const double py = y.scale(r.value, bottom, top);
            d += fmt::format("{}{:.1f},{:.1f}", pen_down ? " L" : (d.empty() ? "M" : " M"), px, py);
            pen_down = true;
        }
        if (records.size() == 1)
            d += " l0.01,0";  // a lone point still draws (round caps)
        const auto& trial = results.trials[index];
        out += fmt::format(
            "<path class=\"curve\" data-trial=\"{0}\" d=\"{1}\" stroke=\"{2}\"><title>trial "
            "{0}</title></path>\n",
            trial.id, d, colour_for(index));
    }
    out += "</svg></figure>\n";
}

std::string category_of(const nlohmann::ordered_json& value) {
    return value.is_string() ? value.get<std::string>() : value.dump();
}

// A hyper-parameter with one value in every trial separates nothing: it is listed once
// ("same in every trial") rather than drawn as a flat axis.
std::vector<std::string> varying_hyperparameters(const ExperimentResults& results) {
    std::vector<std::string> varying;
    for (const auto& name : results.hyperparameter_names) {
        std::optional<std::string> first;
        bool differs = results.trials.size() < 2;
        for (const auto& trial : results.trials) {
            const auto found = trial.hyperparameters.find(name);
            const std::string text =
                found == trial.hyperparameters.end() ? std::string("\x01") : found->dump();
            if (first && *first != text) {
                differs = true;
                break;
            }
            first = text;
        }
        if (differs)
            varying.push_back(name);
    }
    return varying;
}

std::string constant_hyperparameters_text(const ExperimentResults& results) {
    const auto varying = varying_hyperparameters(results);
    std::string text;
    for (const auto& name : results.hyperparameter_names) {
        if (std::find(varying.begin(), varying.end(), name) != varying.end())
            continue;
        const auto found = results.trials.front().hyperparameters.find(name);
        if (found == results.trials.front().hyperparameters.end())
            continue;
        text += (text.empty() ? "" : ", ") + html_escape(name) + " = " +
                html_escape(category_of(*found));
    }
    return text;
}

// One entry per trial that drew a curve, in its colour; hovering an entry (or a curve)
// highlights that trial everywhere (the script marks every [data-trial] of the id).
void render_legend(std::string& out, const ExperimentResults& results, const Curves& curves) {
    std::set<std::size_t> drawn;
    for (const auto& [metric, by_trial] : curves.by_metric) {
        for (const auto& [index, records] : by_trial) drawn.insert(index);
    }
    if (drawn.empty())
        return;
    out += "<div class=\"legend\">";
    for (const auto index : drawn) {
        out += fmt::format(
            "<span class=\"legend-entry\" data-trial=\"{0}\"><i style=\"background:{1}\"></i>trial "
            "{0}</span>",
            results.trials[index].id, colour_for(index));
    }
    out += "</div>\n";
}

struct Axis {
    std::string label;
    bool numeric = true;
    bool logarithmic = false;
    Range range;
    std::vector<std::string> categories;
};

// A hyper-parameter's axis: numeric (logarithmic when it spans two decades or more) or its
// categories in order of appearance.
Axis hyperparameter_axis(const std::vector<TrialResult>& trials, const std::string& name) {
    Axis axis;
    axis.label = name;
    for (const auto& trial : trials) {
        const auto found = trial.hyperparameters.find(name);
        if (found == trial.hyperparameters.end())
            continue;
        if (!found->is_number() || found->is_boolean())
            axis.numeric = false;
    }
    for (const auto& trial : trials) {
        const auto found = trial.hyperparameters.find(name);
        if (found == trial.hyperparameters.end())
            continue;
        if (axis.numeric) {
            axis.range.add(found->get<double>());
        } else if (std::find(axis.categories.begin(), axis.categories.end(), category_of(*found)) ==
                   axis.categories.end()) {
            axis.categories.push_back(category_of(*found));
        }
    }
    if (axis.numeric && !axis.range.empty() && axis.range.low > 0 &&
        axis.range.high / axis.range.low >= 100) {
        axis.logarithmic = true;
        axis.range = Range{std::log10(axis.range.low), std::log10(axis.range.high)};
    }
    axis.range.pad();
    return axis;
}

// The last axis: each trial's best value of the metric.
Axis metric_axis_of(const ExperimentResults& results, const std::string& metric) {
    Axis axis;
    axis.label = metric.empty() ? std::string("(no metric)") : metric;
    for (const auto& trial : results.trials) {
        if (const auto best = results.best_of(trial, metric))
            axis.range.add(best->value);
    }
    axis.range.pad();
    return axis;
}

// Where the parallel-coordinates chart draws axis I, and a value on an axis.
struct ParallelGeometry {
    double width = 0;
    double top = 28, bottom = chart_height - 24;
    double step = 0;  // between axes

    explicit ParallelGeometry(std::size_t axes)
        : width(std::max(chart_width, 140.0 * static_cast<double>(axes))),
          step(axes > 1 ? (width - 2 * margin_left) / static_cast<double>(axes - 1) : 0) {}

    double x(std::size_t i) const { return margin_left + step * static_cast<double>(i); }

    std::optional<double> y(const Axis& axis, const nlohmann::ordered_json& value) const {
        if (axis.numeric) {
            if (!value.is_number())
                return std::nullopt;
            double v = value.get<double>();
            if (axis.logarithmic) {
                if (v <= 0)
                    return std::nullopt;
                v = std::log10(v);
            }
            return axis.range.scale(v, bottom, top);
        }
        const auto found =
            std::find(axis.categories.begin(), axis.categories.end(), category_of(value));
        if (found == axis.categories.end())
            return std::nullopt;
        const auto n = static_cast<double>(axis.categories.size());
        const auto position = static_cast<double>(found - axis.categories.begin());
        return n == 1 ? (top + bottom) / 2 : bottom - position / (n - 1) * (bottom - top);
    }
};

// One trial's line across the axes (the metric's last), coloured good (green) to bad (red)
// along the metric's direction.
std::string trial_polyline(const ExperimentResults& results, const TrialResult& trial,
                           const std::string& metric, const std::vector<Axis>& axes,
                           const ParallelGeometry& geometry, bool is_best) {
    const Axis& metric_axis = axes.back();
    std::string points;
    for (std::size_t a = 0; a + 1 < axes.size(); ++a) {
        const auto found = trial.hyperparameters.find(axes[a].label);
        if (found == trial.hyperparameters.end())
            continue;
        if (const auto py = geometry.y(axes[a], *found))
            points += fmt::format("{:.1f},{:.1f} ", geometry.x(a), *py);
    }
    const auto best = results.best_of(trial, metric);
    std::string colour = "#999";
    if (best) {
        const double py = metric_axis.range.scale(best->value, geometry.bottom, geometry.top);
        points += fmt::format("{:.1f},{:.1f}", geometry.x(axes.size() - 1), py);
        double quality = (best->value - metric_axis.range.low) /
                         (metric_axis.range.high - metric_axis.range.low);
        if (results.direction(metric).smaller_is_better)
            quality = 1 - quality;
        colour = fmt::format("hsl({:.0f},70%,40%)", 120 * quality);
    }
    return fmt::format(
        "<polyline class=\"pc-line{}\" data-trial=\"{}\" points=\"{}\" "
        "stroke=\"{}\"><title>trial {}</title></polyline>\n",
        is_best ? " best" : "", trial.id, points, colour, trial.id);
}

// Axis I: its line, its label, and its ticks (low and high, or the categories).
std::string axis_svg(const Axis& axis, std::size_t i, const ParallelGeometry& geometry) {
    const double x = geometry.x(i);
    const double top = geometry.top, bottom = geometry.bottom;
    std::string out = fmt::format(
        "<line class=\"pc-axis\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\"/>"
        "<text class=\"axis-label\" x=\"{0:.1f}\" y=\"16\" text-anchor=\"middle\">{3}</text>\n",
        x, top, bottom, html_escape(axis.label) + (axis.logarithmic ? " (log)" : ""));
    if (axis.numeric) {
        const double low = axis.logarithmic ? std::pow(10, axis.range.low) : axis.range.low;
        const double high = axis.logarithmic ? std::pow(10, axis.range.high) : axis.range.high;
        out += fmt::format(
            "<text class=\"tick\" x=\"{0:.1f}\" y=\"{1}\">{2}</text>"
            "<text class=\"tick\" x=\"{0:.1f}\" y=\"{3}\">{4}</text>\n",
            x + 4, bottom + 14, number(low), top - 2, number(high));
    } else {
        for (const auto& category : axis.categories) {
            if (const auto py = geometry.y(axis, category)) {
                out += fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
                                   x + 4, *py - 3, html_escape(category));
            }
        }
    }
    return out;
}

void render_parallel(std::string& out, const ExperimentResults& results,
                     const std::string& metric) {
    const auto& trials = results.trials;
    std::vector<Axis> axes;
    for (const auto& name : varying_hyperparameters(results))
        axes.push_back(hyperparameter_axis(trials, name));
    axes.push_back(metric_axis_of(results, metric));

    const ParallelGeometry geometry(axes.size());
    out += fmt::format(
        "<svg class=\"parallel\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {1}\" "
        "width=\"{0}\" "
        "height=\"{1}\" role=\"img\" aria-label=\"hyper-parameters against {2}\">\n",
        geometry.width, chart_height, html_escape(axes.back().label));
    const auto best_index = results.best_trial(metric);
    for (std::size_t t = 0; t < trials.size(); ++t) {
        out += trial_polyline(results, trials[t], metric, axes, geometry,
                              best_index && *best_index == t);
    }
    for (std::size_t a = 0; a < axes.size(); ++a) out += axis_svg(axes[a], a, geometry);
    out += "</svg>\n";
}

std::string totals_text(const CostTotals& totals) {
    std::string text = fmt::format("Total: run time {}, {} GPU-hours",
                                   duration_text(totals.run_seconds), number(totals.gpu_hours));
    if (totals.cpu_hours > 0)
        text += fmt::format(", {} CPU-hours", number(totals.cpu_hours));
    if (!std::isnan(totals.cost))
        text += fmt::format(", cost {}", number(totals.cost));
    text += fmt::format(", queue wait {}.", duration_text(totals.queue_wait_seconds));
    if (!std::isnan(totals.early_stopping_saved_gpu_hours)) {
        text += fmt::format(
            " Early stopping saved about {} GPU-hours (estimated: each stopped trial's GPU-hours "
            "per step times the steps it did not run, to the {} steps of the longest completed "
            "trial).",
            number(totals.early_stopping_saved_gpu_hours), totals.full_length_steps);
    }
    return text;
}

void render_table(std::string& out, const ExperimentResults& results, const std::string& metric) {
    const auto best_index = results.best_trial(metric);
    out +=
        "<table "
        "class=\"trials\"><thead><tr><th>best</th><th>trial</th><th>status</th><th>exit</th>";
    for (const auto& name : results.hyperparameter_names)
        out += "<th>" + html_escape(name) + "</th>";
    for (const auto& name : results.metric_names) {
        out += "<th>" + html_escape(name) + " (best)</th><th>" + html_escape(name) + " (last)</th>";
    }
    const bool costs = results.cost_totals.has_value();
    const bool priced = costs && !std::isnan(results.cost_totals->cost);
    out += "<th>steps</th>";
    if (costs)
        out += priced ? "<th>queue wait</th><th>run time</th><th>GPU-hours</th><th>cost</th>"
                      : "<th>queue wait</th><th>run time</th><th>GPU-hours</th>";
    out += "<th>artifacts</th></tr></thead>\n<tbody>\n";
    for (std::size_t t = 0; t < results.trials.size(); ++t) {
        const auto& trial = results.trials[t];
        const bool is_best = best_index && *best_index == t;
        out += fmt::format(
            "<tr data-trial=\"{}\"{}><td>{}</td><td>{}</td><td "
            "class=\"status-{}\">{}</td><td>{}</td>",
            trial.id, is_best ? " class=\"best\"" : "", is_best ? "&#9733;" : "", trial.id,
            html_escape(trial.status), html_escape(trial.status),
            trial.exit_code ? std::to_string(*trial.exit_code) : std::string());
        for (const auto& name : results.hyperparameter_names) {
            const auto found = trial.hyperparameters.find(name);
            out += "<td>" +
                   (found == trial.hyperparameters.end() ? std::string()
                                                         : html_escape(category_of(*found))) +
                   "</td>";
        }
        for (const auto& name : results.metric_names) {
            const auto best = results.best_of(trial, name);
            const MetricStats* stats = trial.metric(name);
            out += "<td>" + (best ? number(best->value) : std::string()) + "</td><td>" +
                   (stats && stats->count > 0 ? number(stats->last_value) : std::string()) +
                   "</td>";
        }
        const auto steps = trial.last_step();
        out += "<td>" + (steps >= 0 ? std::to_string(steps) : std::string()) + "</td>";
        if (costs) {
            const auto& cost = trial.cost;
            out += "<td>" + duration_text(cost.queue_wait_seconds) + "</td><td>" +
                   duration_text(cost.run_seconds) + "</td><td>" + number(cost.gpu_hours) + "</td>";
            if (priced)
                out += "<td>" + number(cost.cost) + "</td>";
        }
        std::string artifacts;
        for (const auto& path : trial.artifacts)
            artifacts += (artifacts.empty() ? "" : "<br>") + html_escape(path);
        out += "<td class=\"artifacts\">" + artifacts + "</td></tr>\n";
    }
    out += "</tbody></table>\n";
}

constexpr std::string_view style = R"(
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
.charts{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0}figcaption{font-weight:600;margin-bottom:.3em}
.plot{fill:#fafafa;stroke:#ccc}.grid{stroke:#e6e6e6}
.tick{font-size:10px;fill:#555}.axis-label{font-size:11px;fill:#333}
.curve{fill:none;stroke-width:1.6;stroke-linecap:round;stroke-linejoin:round;opacity:.85}
.pc-line{fill:none;stroke-width:1.3;opacity:.7}.pc-line.best{stroke-width:3.5;opacity:1}
.pc-axis{stroke:#444;stroke-width:1}
.hl{stroke-width:4 !important;opacity:1 !important}
tr.hl td{background:#fff3c4}
table{border-collapse:collapse;font-size:.9em}th,td{border:1px solid #ddd;padding:.25em .5em;text-align:right}
th{background:#f2f2f2;cursor:pointer}tr.best td{background:#e8f6e8;font-weight:600}
.status-failed,.status-killed{color:#b00}
td.artifacts{text-align:left;font-family:monospace}
.legend{display:flex;flex-wrap:wrap;gap:.3em .9em;font-size:.85em;margin:.5em 0}
.legend-entry{cursor:default}.legend-entry i{display:inline-block;width:1.4em;height:.3em;
margin-right:.3em;vertical-align:middle}.legend-entry.hl{font-weight:700;background:#fff3c4}
)";

constexpr std::string_view script = R"(
(function () {
  'use strict';
  function mark(id, on) {
    document.querySelectorAll('[data-trial="' + id + '"]').forEach(function (el) {
      el.classList.toggle('hl', on);
    });
  }
  document.querySelectorAll('[data-trial]').forEach(function (el) {
    var id = el.getAttribute('data-trial');
    el.addEventListener('mouseenter', function () { mark(id, true); });
    el.addEventListener('mouseleave', function () { mark(id, false); });
  });
  var table = document.querySelector('table.trials');
  if (table) {
    table.querySelectorAll('th').forEach(function (th, column) {
      var ascending = true;
      th.addEventListener('click', function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column].textContent, y = b.cells[column].textContent;
          var nx = parseFloat(x), ny = parseFloat(y);
          var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return ascending ? c : -c;
        });
        ascending = !ascending;
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }
  document.body.setAttribute('data-script-ok', '1');
})();
)";

}  // namespace

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string render_html_report(const ExperimentResults& results, const ReportOptions& options) {
    const std::string metric = options.metric.empty() ? results.primary_metric() : options.metric;
    const Curves curves = load_curves(results, options.max_points_per_curve);
    std::string out;
    out.reserve(1 << 16);
    out +=
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n" +
        (options.refresh_seconds > 0 ? fmt::format("<meta http-equiv=\"refresh\" content=\"{}\">\n",
                                                   options.refresh_seconds)
                                     : std::string()) +
        "<title>hpsweep report: " + html_escape(results.name) + "</title>\n<style>" +
        std::string(style) + "</style></head>\n<body>\n";
    out += "<h1>Experiment " + html_escape(results.name) + "</h1>\n";
    std::size_t finished = 0;
    for (const auto& trial : results.trials) finished += trial.status == "completed" ? 1 : 0;
    out += fmt::format("<p class=\"overview\">{} trials, {} completed.", results.trials.size(),
                       finished);
    if (const auto best = results.best_trial(metric)) {
        const auto& trial = results.trials[*best];
        const auto value = results.best_of(trial, metric);
        out += fmt::format(
            " Best trial: <strong>{}</strong> with {} = {} at step {} ({} is better{}).", trial.id,
            html_escape(metric), number(value->value), value->step,
            results.direction(metric).smaller_is_better ? "smaller" : "larger",
            results.direction(metric).source == "name" ? ", from the metric's name" : "");
    }
    out += "</p>\n";
    if (results.cost_totals)
        out += "<p class=\"totals\">" + totals_text(*results.cost_totals) + "</p>\n";
    if (options.refresh_seconds > 0)
        out += fmt::format(
            "<p class=\"live\">Trials are running: this page is rewritten and reloads every {} "
            "s.</p>\n",
            options.refresh_seconds);
    out += "<h2>Learning curves</h2>\n";
    render_legend(out, results, curves);
    out += "<div class=\"charts\">\n";
    for (const auto& name : results.metric_names) {
        const auto found = curves.by_metric.find(name);
        if (found == curves.by_metric.end())
            continue;
        render_chart(out, results, name, found->second);
    }
    out += "</div>\n<h2>Hyper-parameters against " +
           html_escape(metric.empty() ? "the metric" : metric) + "</h2>\n";
    if (!results.trials.empty()) {
        if (const auto constant = constant_hyperparameters_text(results); !constant.empty())
            out += "<p class=\"constant\">Same in every trial: " + constant + "</p>\n";
    }
    render_parallel(out, results, metric);
    out += "<h2>Trials</h2>\n";
    render_table(out, results, metric);
    out += "<script>" + std::string(script) + "</script>\n</body></html>\n";
    return out;
}

}  // namespace hpsweep::metrics
