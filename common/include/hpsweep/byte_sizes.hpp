#pragma once
// Byte counts for people: "512 B", "1.5 MiB" (the other way is parse_size in strings.hpp).

#include <string>

namespace hpsweep {

std::string human_bytes(double bytes);

}  // namespace hpsweep
