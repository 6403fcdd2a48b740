#pragma once
// Content hashes for datastore objects: XXH3-128.
//
// Why XXH3-128: objects are hashed twice (when a version is created and again on every
// cache fill), so the hash must run at memory speed (XXH3 does >10 GB/s per core, far
// faster than the disks and networks it reads from). 128 bits make an accidental
// collision negligible even across billions of objects. It is NOT cryptographic: it
// detects corruption (bit rot, truncated copies, a half-written fill), while protection
// against a hostile user comes from file ownership and permissions (see docs/datastores.md).

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hpsweep::datastore {

struct Digest {
    std::uint64_t high = 0;
    std::uint64_t low = 0;

    std::string hex() const;  // 32 lowercase hex digits
    static std::optional<Digest> from_hex(std::string_view text);
    bool operator==(const Digest&) const = default;
};

// Streaming XXH3-128. The state lives inline (no allocation), so a Hasher is cheap to make.
class Hasher {
public:
    Hasher();
    void update(const void* data, std::size_t size);
    Digest finish() const;

private:
    XXH3_state_t state_;
};

Digest hash_bytes(const void* data, std::size_t size);

}  // namespace hpsweep::datastore
