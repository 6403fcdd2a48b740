#include "report_watch.hpp"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace hpsweep::cli {

namespace {

std::atomic<bool> stop_requested{false};

extern "C" void request_stop(int) {
    stop_requested = true;
}

// SIGINT and SIGTERM end the watch (after a last page) instead of the process, for as long
// as this object lives.
class StopSignals {
public:
    StopSignals() {
        stop_requested = false;
        struct sigaction action {};
        action.sa_handler = request_stop;
        sigemptyset(&action.sa_mask);
        ::sigaction(SIGINT, &action, &old_int_);
        ::sigaction(SIGTERM, &action, &old_term_);
    }
    ~StopSignals() {
        ::sigaction(SIGINT, &old_int_, nullptr);
        ::sigaction(SIGTERM, &old_term_, nullptr);
    }
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

private:
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

}  // namespace

long watch_report(int interval_seconds, const WriteReport& write) {
    const StopSignals signals;
    long writes = 1;
    bool active = write(interval_seconds);
    while (active) {
        const auto next = std::chrono::steady_clock::now() + std::chrono::seconds(interval_seconds);
        while (!stop_requested && std::chrono::steady_clock::now() < next)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (stop_requested) {
            write(0);  // the page stops reloading: nobody rewrites it any more
            return writes + 1;
        }
        active = write(interval_seconds);
        ++writes;
    }
    return writes;
}

}  // namespace hpsweep::cli
