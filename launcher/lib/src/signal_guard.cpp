#include "signal_guard.hpp"

#include <sys/signalfd.h>

#include "hpsweep/error.hpp"
#include "hpsweep/launcher/supervisor.hpp"

namespace hpsweep::launcher {

SignalGuard::SignalGuard() {
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : forwarded_signals()) sigaddset(&mask, s);
    sigaddset(&mask, SIGCHLD);
    if (::sigprocmask(SIG_BLOCK, &mask, &old_mask_) != 0)
        throw_errno("sigprocmask");
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGPIPE, &ignore, &old_pipe_);
    fd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd_) {
        restore();
        throw_errno("signalfd");
    }
}

void SignalGuard::restore() noexcept {
    fd_.reset();
    ::sigaction(SIGPIPE, &old_pipe_, nullptr);
    ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
}

}  // namespace hpsweep::launcher
