#pragma once
// One column of summary.h5's `trials` table (one value per trial, in trial order): shared by
// summary.cpp and the time and cost columns (summary_cost_columns.cpp).

#include <string>
#include <vector>

#include "hpsweep/error.hpp"
#include "hpsweep/metrics/h5.hpp"
#include "hpsweep/metrics/summary.hpp"

namespace hpsweep::metrics {

template <typename T>
void write_column(hid_t group, const std::string& name, hid_t type, const std::vector<T>& values) {
    const hsize_t count = values.size();
    h5::Dataspace space(H5Screate_simple(1, &count, nullptr), "cannot create a dataspace");
    h5::Dataset dataset(
        H5Dcreate2(group, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
        "cannot create summary column " + name);
    if (count > 0 &&
        H5Dwrite(dataset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
        throw Error(ErrorKind::io,
                    "cannot write summary column " + name + ": " + h5::last_error_message());
    }
}

inline void write_string_column(hid_t group, const std::string& name,
                                const std::vector<std::string>& values) {
    std::vector<const char*> pointers;
    pointers.reserve(values.size());
    for (const auto& value : values) pointers.push_back(value.c_str());
    const h5::Datatype type = h5::string_type();
    write_column(group, name, type.get(), pointers);
}

// queue_wait_seconds, run_seconds, gpus, gpu_hours, cpu_hours, cost (when a rate is set)
// and the experiment's totals as attributes of `root` (docs/metrics-format.md).
void write_cost_columns(hid_t root, hid_t trials_group, const ExperimentResults& results);

}  // namespace hpsweep::metrics
