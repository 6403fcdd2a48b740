#pragma once
// Internal to hpsweep::launcher: how a supervising process (one trial's Supervisor, or the
// pack supervisor of a packed task) takes its signals.

#include <signal.h>

#include "hpsweep/fs.hpp"

namespace hpsweep::launcher {

// Blocks the forwarded signals (forwarded_signals()) and SIGCHLD for the lifetime of the
// object, so that they are read from a signalfd instead, and ignores SIGPIPE: a closed
// stdout or stderr (the job's output file gone, a pipe reader that quit) must not kill a
// process whose children still run. The destructor restores the old mask and disposition.
class SignalGuard {
public:
    SignalGuard();
    SignalGuard(const SignalGuard&) = delete;
    SignalGuard& operator=(const SignalGuard&) = delete;
    ~SignalGuard() { restore(); }

    int fd() const noexcept { return fd_.get(); }
    // What a child gets back before exec.
    const sigset_t& old_mask() const noexcept { return old_mask_; }
    // In a child forked without exec: closes this copy's signalfd and puts the old mask and
    // SIGPIPE disposition back, as if the guard had never been made.
    void restore() noexcept;

private:
    sigset_t old_mask_{};
    struct sigaction old_pipe_ {};
    UniqueFd fd_;
};

}  // namespace hpsweep::launcher
