// What Slurm loads: the plugin's identity and one slurm_spank_* function per hook, each
// switching on spank_context() to the file of that context. Nothing else is exported
// (hpsweep.lds). No exception crosses into Slurm: every hook runs under guarded(), which
// logs "hpsweep: <hook>: <what>" through slurm_error and returns -1 (the hook failed:
// only this job or task is affected; see context_remote.cpp for why the remote hooks
// before the tasks never fail).

#include <exception>
#include <string>

#include "contexts.hpp"
#include "spank_api.hpp"

extern "C" {
// SPANK_PLUGIN(hpsweep, 1) gives these internal linkage in C++ (const at namespace scope);
// Slurm looks them up by name, so they are declared extern (and visible) here.
#define HPSWEEP_EXPORT __attribute__((visibility("default")))
HPSWEEP_EXPORT extern const char plugin_name[];
HPSWEEP_EXPORT extern const char plugin_type[];
HPSWEEP_EXPORT extern const unsigned int plugin_version;
HPSWEEP_EXPORT extern const unsigned int spank_plugin_version;
SPANK_PLUGIN(hpsweep, 1)
}

namespace {

using Hook = int (*)(spank_t, int, char**);

int guarded(const char* hook, Hook function, spank_t sp, int argc, char** argv) noexcept {
    if (function == nullptr)
        return 0;
    try {
        return function(sp, argc, argv);
    } catch (const std::exception& e) {
        hpsweep::plugin::log_error(std::string(hook) + ": " + e.what());
    } catch (...) {
        hpsweep::plugin::log_error(std::string(hook) + ": unknown exception");
    }
    return -1;
}

// The function for the current context, or nullptr when the hook does nothing there.
int dispatch(const char* hook, spank_t sp, int argc, char** argv, Hook local, Hook allocator,
             Hook slurmd, Hook remote) noexcept {
    switch (spank_context()) {
        case S_CTX_LOCAL:
            return guarded(hook, local, sp, argc, argv);
        case S_CTX_ALLOCATOR:
            return guarded(hook, allocator, sp, argc, argv);
        case S_CTX_SLURMD:
            return guarded(hook, slurmd, sp, argc, argv);
        case S_CTX_REMOTE:
            return guarded(hook, remote, sp, argc, argv);
        default:
            return 0;  // prolog/epilog: nothing to do
    }
}

}  // namespace

extern "C" {

HPSWEEP_EXPORT int slurm_spank_init(spank_t sp, int argc, char** argv) {
    using namespace hpsweep::plugin;
    return dispatch("init", sp, argc, argv, &local_init, &allocator_init, &slurmd_init,
                    &remote_init);
}

HPSWEEP_EXPORT int slurm_spank_init_post_opt(spank_t sp, int argc, char** argv) {
    using namespace hpsweep::plugin;
    return dispatch("init_post_opt", sp, argc, argv, &local_init_post_opt, &allocator_init_post_opt,
                    nullptr, &remote_init_post_opt);
}

HPSWEEP_EXPORT int slurm_spank_user_init(spank_t sp, int argc, char** argv) {
    return dispatch("user_init", sp, argc, argv, nullptr, nullptr, nullptr,
                    &hpsweep::plugin::remote_user_init);
}

HPSWEEP_EXPORT int slurm_spank_task_init_privileged(spank_t sp, int argc, char** argv) {
    return dispatch("task_init_privileged", sp, argc, argv, nullptr, nullptr, nullptr,
                    &hpsweep::plugin::remote_task_init_privileged);
}

HPSWEEP_EXPORT int slurm_spank_task_init(spank_t sp, int argc, char** argv) {
    return dispatch("task_init", sp, argc, argv, nullptr, nullptr, nullptr,
                    &hpsweep::plugin::remote_task_init);
}

HPSWEEP_EXPORT int slurm_spank_exit(spank_t sp, int argc, char** argv) {
    return dispatch("exit", sp, argc, argv, nullptr, nullptr, nullptr,
                    &hpsweep::plugin::remote_exit);
}

}  // extern "C"
