#pragma once
// `hpsweep report EXP --watch`: a live view with no server. The report is rewritten every
// few seconds while trials are pending or running; each page written meanwhile carries a
// meta refresh, so a browser showing the file reloads itself. When no trial is active, or on
// Ctrl-C (SIGINT) or SIGTERM, a last page without the refresh is written and the command
// ends. Every write is atomic (a rename), so the browser never reads half a page.

#include <functional>

namespace hpsweep::cli {

// Writes the report once; `refresh_seconds` > 0 asks for a page that reloads itself.
// Returns whether trials are still pending or running.
using WriteReport = std::function<bool(int refresh_seconds)>;

// Calls write(interval) every `interval_seconds` while it returns true, then write(0) once
// if the last page still reloads itself (stopped by a signal). Returns the number of writes.
long watch_report(int interval_seconds, const WriteReport& write);

}  // namespace hpsweep::cli
