#pragma once

#include <sys/types.h>

#include <string>

namespace hpsweep {

// The login name of `uid`, or the number when the user database does not know it (a uid
// from another site's NFS export): for messages and records, never for access decisions.
std::string user_name(uid_t uid);

}  // namespace hpsweep
