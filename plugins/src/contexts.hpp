#pragma once
// One entry point per SPANK hook and Slurm context; dispatch.cpp picks by spank_context().
// Which process runs what (docs/admin.md, "What runs where"):
//   local      srun, as the user            options checked at submit time
//   allocator  sbatch/salloc, as the user   options checked at submit time
//   slurmd     slurmd, as root              plugstack.conf checked, nothing else
//   remote     slurmstepd (one per step)    staging as root (init_post_opt), trial as the
//                                           user (user_init), placement per task as the
//                                           user (task_init)

extern "C" {
#include <slurm/spank.h>
}

namespace hpsweep::plugin {

int local_init(spank_t sp, int argc, char** argv);
int local_init_post_opt(spank_t sp, int argc, char** argv);

int allocator_init(spank_t sp, int argc, char** argv);
int allocator_init_post_opt(spank_t sp, int argc, char** argv);

int slurmd_init(spank_t sp, int argc, char** argv);

int remote_init(spank_t sp, int argc, char** argv);
int remote_init_post_opt(spank_t sp, int argc, char** argv);
int remote_user_init(spank_t sp, int argc, char** argv);
int remote_task_init_privileged(spank_t sp, int argc, char** argv);
int remote_task_init(spank_t sp, int argc, char** argv);
int remote_exit(spank_t sp, int argc, char** argv);

}  // namespace hpsweep::plugin
