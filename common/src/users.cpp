#include "hpsweep/users.hpp"

#include <pwd.h>

#include <vector>

namespace hpsweep {

std::string user_name(uid_t uid) {
    // getpwuid_r: the plugin and the stage threads call this concurrently.
    std::vector<char> buffer(16384);
    passwd entry{};
    passwd* found = nullptr;
    if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
        return entry.pw_name;
    }
    return std::to_string(uid);
}

}  // namespace hpsweep
