#include "trial_datastores.hpp"

#include <cstdio>
#include <cstdlib>
#include <set>

#include "hpsweep/datastore/credentials.hpp"
#include "hpsweep/datastore/paths.hpp"
#include "hpsweep/datastore/settings.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::launcher {

StagedDatastores stage_trial_datastores(const std::vector<std::string>& references) {
    StagedDatastores staged;
    if (references.empty())
        return staged;
    const auto settings = datastore::load_settings();
    const auto store = settings.store();
    const auto cache = settings.cache();
    const auto who = datastore::Credentials::current();

    std::vector<std::string> names;
    std::set<std::string> seen;
    if (const char* listed = std::getenv("HPSWEEP_DATASTORES"); listed && *listed) {
        for (auto& name : split(listed, ',')) {
            if (!name.empty() && seen.insert(name).second)
                names.push_back(name);
        }
    }
    for (const auto& reference : references) {
        const auto ref = datastore::Ref::parse(reference);
        const std::string variable = datastore::environment_variable(ref.name);
        if (const char* already = std::getenv(variable.c_str()); already && *already)
            continue;  // staged for this job by the SPANK plugin (sbatch --datastore)
        auto result = datastore::stage(store, cache, ref, who);
        if (!result.warning.empty())
            std::fprintf(stderr, "hpsweep-launch: datastore %s: %s\n", reference.c_str(),
                         result.warning.c_str());
        if (::setenv(variable.c_str(), result.path.c_str(), 1) != 0)
            throw Error(ErrorKind::internal, "cannot set " + variable);
        if (seen.insert(result.name).second)
            names.push_back(result.name);
        staged.leases.push_back(std::move(result.lease));
    }
    const std::string joined = join(names, ",");
    ::setenv("HPSWEEP_DATASTORES", joined.c_str(), 1);
    return staged;
}

}  // namespace hpsweep::launcher
