#pragma once

#include <string>

namespace hpsweep::searcher {

// The rule of metrics/line_parser.cpp (the searcher does not link the metrics library).
bool is_valid_metric_name(const std::string& name);

}  // namespace hpsweep::searcher
