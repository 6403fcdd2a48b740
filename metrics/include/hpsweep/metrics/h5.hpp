#pragma once
// Move-only owners for every kind of HDF5 id (file, group, dataset, dataspace, datatype,
// attribute, property list), plus the small set of typed attribute helpers the metric files
// need. Everything hpsweep does with HDF5 goes through here, so no id can leak on an early
// return or an exception, and HDF5's own error printing is replaced by hpsweep::Error.

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace hpsweep::metrics::h5 {

// Turns HDF5's automatic error-stack printing off and file locking off (metric files live
// on shared file systems where POSIX/flock locks are unreliable or unsupported). Called by
// every entry point below; cheap after the first call.
void initialise();

// The innermost message on HDF5's error stack ("unable to open file", ...), for our errors.
std::string last_error_message();

template <herr_t (*Close)(hid_t)>
class Handle {
public:
    Handle() = default;
    // Takes ownership of `id`; a negative id (HDF5's failure value) throws Error(io) that
    // says what was being done and HDF5's reason.
    Handle(hid_t id, std::string_view what);
    Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
    Handle& operator=(Handle&& other) noexcept {
        if (this != &other) {
            reset();
            id_ = std::exchange(other.id_, H5I_INVALID_HID);
        }
        return *this;
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() { reset(); }

    hid_t get() const noexcept { return id_; }
    explicit operator bool() const noexcept { return id_ >= 0; }
    void reset() noexcept {
        if (id_ >= 0) {
            Close(id_);
        }
        id_ = H5I_INVALID_HID;
    }
    // Closes now and reports a failure (H5Fclose is where buffered data is written).
    void close(std::string_view what);

private:
    hid_t id_ = H5I_INVALID_HID;
};

using File = Handle<H5Fclose>;
using Group = Handle<H5Gclose>;
using Dataset = Handle<H5Dclose>;
using Dataspace = Handle<H5Sclose>;
using Datatype = Handle<H5Tclose>;
using Attribute = Handle<H5Aclose>;
using PropertyList = Handle<H5Pclose>;

// Opens an existing file read-only with file locking disabled.
File open_file_readonly(const std::string& path);

// Creates `path` (truncating it) with the core driver: the whole file is built in memory and
// written to `path` in one pass by close(), instead of many small writes while it is built.
class MemoryFile {
public:
    MemoryFile(const std::string& path, std::size_t expected_bytes);
    hid_t get() const noexcept { return file_.get(); }
    void close();

private:
    std::string path_;
    File file_;
};

// Crash-safe replace of `path`: `build` writes a complete file at the temporary path it is
// given (next to `path`, named `<path>.tmp.<pid>.<n>`), which is then fsynced and renamed
// over `path`, and the directory fsynced. On any failure the temporary is removed and `path`
// is untouched.
void write_atomically(const std::filesystem::path& path,
                      const std::function<void(const std::filesystem::path& temporary)>& build);

// A variable-length UTF-8 string type (what h5py reads as str).
Datatype string_type();
// h5py's bool: enum {FALSE=0, TRUE=1} over int8, read by h5py as numpy.bool_.
Datatype bool_type();

void write_attribute(hid_t object, const char* name, std::string_view value);
void write_attribute(hid_t object, const char* name, std::int64_t value);
void write_attribute(hid_t object, const char* name, double value);
void write_attribute_bool(hid_t object, const char* name, bool value);

bool has_attribute(hid_t object, const char* name);
// Reads a scalar attribute converted to the asked type; nullopt when it is absent or has
// another class (so readers tolerate files from newer versions with extra attributes).
std::optional<std::string> read_string_attribute(hid_t object, const char* name);
std::optional<std::int64_t> read_int_attribute(hid_t object, const char* name);
std::optional<double> read_double_attribute(hid_t object, const char* name);

}  // namespace hpsweep::metrics::h5
