#include "hpsweep/metrics/h5.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"

namespace hpsweep::metrics::h5 {

void initialise() {
    static std::once_flag once;
    std::call_once(once, [] {
        // Readers of a file another process is writing, on NFS/Lustre, must never block or
        // fail on a lock: HDF5 1.10.7+ honours this variable for every open, and we also
        // disable locking on each file-access property list below.
        ::setenv("HDF5_USE_FILE_LOCKING", "FALSE", 0);
        H5open();
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    });
}

namespace {
herr_t innermost_message(unsigned n, const H5E_error2_t* entry, void* client_data) {
    auto* out = static_cast<std::string*>(client_data);
    if (n == 0 && entry->desc != nullptr) {
        *out = entry->desc;
    }
    return 0;
}
}  // namespace

std::string last_error_message() {
    std::string message;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_message, &message);
    return message.empty() ? std::string("HDF5 error") : message;
}

template <herr_t (*Close)(hid_t)>
Handle<Close>::Handle(hid_t id, std::string_view what) : id_(id) {
    if (id_ < 0) {
        throw Error(ErrorKind::io, std::string(what) + ": " + last_error_message());
    }
}

template <herr_t (*Close)(hid_t)>
void Handle<Close>::close(std::string_view what) {
    if (id_ < 0)
        return;
    const herr_t status = Close(std::exchange(id_, H5I_INVALID_HID));
    if (status < 0) {
        throw Error(ErrorKind::io, std::string(what) + ": " + last_error_message());
    }
}

template class Handle<H5Fclose>;
template class Handle<H5Gclose>;
template class Handle<H5Dclose>;
template class Handle<H5Sclose>;
template class Handle<H5Tclose>;
template class Handle<H5Aclose>;
template class Handle<H5Pclose>;

File open_file_readonly(const std::string& path) {
    initialise();
    PropertyList fapl(H5Pcreate(H5P_FILE_ACCESS), "cannot create a file-access property list");
    H5Pset_file_locking(fapl.get(), false, true);
    return File(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), "cannot open " + path);
}

MemoryFile::MemoryFile(const std::string& path, std::size_t expected_bytes) : path_(path) {
    initialise();
    PropertyList fapl(H5Pcreate(H5P_FILE_ACCESS), "cannot create a file-access property list");
    if (H5Pset_fapl_core(fapl.get(), expected_bytes, true) < 0) {
        throw Error(ErrorKind::io,
                    "cannot select the in-memory HDF5 driver: " + last_error_message());
    }
    H5Pset_file_locking(fapl.get(), false, true);
    // 1.8 object-header format: readable by every HDF5 >= 1.8 (h5py, h5dump, MATLAB) and it
    // allows attributes larger than 64 KiB (dense attribute storage) for big plans/configs.
    H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18);
    file_ = File(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()),
                 "cannot create " + path);
}

void MemoryFile::close() {
    file_.close("cannot write " + path_);
}

namespace {
// The temporary of one snapshot: removed unless it was renamed into place.
class TemporaryPath {
public:
    explicit TemporaryPath(const std::filesystem::path& target) {
        static std::atomic<unsigned> counter{0};
        path_ = target;
        path_ += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    }
    TemporaryPath(const TemporaryPath&) = delete;
    TemporaryPath& operator=(const TemporaryPath&) = delete;
    ~TemporaryPath() {
        if (!committed_)
            ::unlink(path_.c_str());
    }
    const std::filesystem::path& path() const noexcept { return path_; }
    void committed() noexcept { committed_ = true; }

private:
    std::filesystem::path path_;
    bool committed_ = false;
};
}  // namespace

void write_atomically(const std::filesystem::path& path,
                      const std::function<void(const std::filesystem::path& temporary)>& build) {
    TemporaryPath temporary(path);
    build(temporary.path());
    {
        // HDF5 closed the file but did not sync it; the rename must not overtake the data.
        const UniqueFd fd(::open(temporary.path().c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd || ::fsync(fd.get()) != 0)
            throw_errno("cannot sync " + temporary.path().string());
    }
    if (::rename(temporary.path().c_str(), path.c_str()) != 0) {
        throw_errno("cannot rename " + temporary.path().string() + " to " + path.string());
    }
    temporary.committed();
    fsync_directory(path.has_parent_path() ? path.parent_path() : std::filesystem::path("."));
}

Datatype string_type() {
    Datatype type(H5Tcopy(H5T_C_S1), "cannot create a string type");
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    return type;
}

Datatype bool_type() {
    Datatype type(H5Tenum_create(H5T_NATIVE_INT8), "cannot create a bool type");
    const std::int8_t false_value = 0;
    const std::int8_t true_value = 1;
    H5Tenum_insert(type.get(), "FALSE", &false_value);
    H5Tenum_insert(type.get(), "TRUE", &true_value);
    return type;
}

namespace {
void write_scalar(hid_t object, const char* name, hid_t type, const void* value) {
    if (H5Aexists(object, name) > 0) {
        H5Adelete(object, name);
    }
    Dataspace space(H5Screate(H5S_SCALAR), "cannot create a scalar dataspace");
    Attribute attribute(H5Acreate2(object, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                        std::string("cannot create attribute ") + name);
    if (H5Awrite(attribute.get(), type, value) < 0) {
        throw Error(ErrorKind::io,
                    std::string("cannot write attribute ") + name + ": " + last_error_message());
    }
}
}  // namespace

void write_attribute(hid_t object, const char* name, std::string_view value) {
    const std::string owned(value);
    const char* pointer = owned.c_str();
    const Datatype type = string_type();
    write_scalar(object, name, type.get(), &pointer);
}

void write_attribute(hid_t object, const char* name, std::int64_t value) {
    write_scalar(object, name, H5T_NATIVE_INT64, &value);
}

void write_attribute(hid_t object, const char* name, double value) {
    write_scalar(object, name, H5T_NATIVE_DOUBLE, &value);
}

void write_attribute_bool(hid_t object, const char* name, bool value) {
    const std::int8_t stored = value ? 1 : 0;
    const Datatype type = bool_type();
    write_scalar(object, name, type.get(), &stored);
}

bool has_attribute(hid_t object, const char* name) {
    return H5Aexists(object, name) > 0;
}

namespace {
std::optional<Attribute> open_attribute(hid_t object, const char* name) {
    if (H5Aexists(object, name) <= 0)
        return std::nullopt;
    return Attribute(H5Aopen(object, name, H5P_DEFAULT),
                     std::string("cannot open attribute ") + name);
}
}  // namespace

std::optional<std::string> read_string_attribute(hid_t object, const char* name) {
    auto attribute = open_attribute(object, name);
    if (!attribute)
        return std::nullopt;
    const Datatype stored(H5Aget_type(attribute->get()), "cannot read an attribute type");
    if (H5Tget_class(stored.get()) != H5T_STRING)
        return std::nullopt;
    if (H5Tis_variable_str(stored.get()) > 0) {
        const Datatype memory = string_type();
        char* value = nullptr;
        if (H5Aread(attribute->get(), memory.get(), &value) < 0) {
            throw Error(ErrorKind::data,
                        std::string("cannot read attribute ") + name + ": " + last_error_message());
        }
        std::string result = value != nullptr ? std::string(value) : std::string();
        H5free_memory(value);
        return result;
    }
    const std::size_t size = H5Tget_size(stored.get());
    std::string buffer(size, '\0');
    if (H5Aread(attribute->get(), stored.get(), buffer.data()) < 0) {
        throw Error(ErrorKind::data,
                    std::string("cannot read attribute ") + name + ": " + last_error_message());
    }
    buffer.resize(buffer.find('\0') == std::string::npos ? size : buffer.find('\0'));
    return buffer;
}

std::optional<std::int64_t> read_int_attribute(hid_t object, const char* name) {
    auto attribute = open_attribute(object, name);
    if (!attribute)
        return std::nullopt;
    const Datatype stored(H5Aget_type(attribute->get()), "cannot read an attribute type");
    const H5T_class_t type_class = H5Tget_class(stored.get());
    if (type_class != H5T_INTEGER && type_class != H5T_ENUM)
        return std::nullopt;
    std::int64_t value = 0;
    if (H5Aread(attribute->get(), H5T_NATIVE_INT64, &value) < 0)
        return std::nullopt;
    return value;
}

std::optional<double> read_double_attribute(hid_t object, const char* name) {
    auto attribute = open_attribute(object, name);
    if (!attribute)
        return std::nullopt;
    const Datatype stored(H5Aget_type(attribute->get()), "cannot read an attribute type");
    const H5T_class_t type_class = H5Tget_class(stored.get());
    if (type_class != H5T_FLOAT && type_class != H5T_INTEGER)
        return std::nullopt;
    double value = 0;
    if (H5Aread(attribute->get(), H5T_NATIVE_DOUBLE, &value) < 0)
        return std::nullopt;
    return value;
}

}  // namespace hpsweep::metrics::h5
