#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/launcher/container.hpp"
#include "hpsweep/launcher/container_image_cache.hpp"
#include "hpsweep/launcher/container_launch.hpp"
#include "hpsweep/launcher/placement.hpp"

using namespace hpsweep;
using namespace hpsweep::launcher;
namespace fs = std::filesystem;
using Argv = std::vector<std::string>;

namespace {

std::string config_error(const std::function<void()>& call) {
    try {
        call();
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::config);
        return e.what();
    }
    FAIL("no error");
    return "";
}

ContainerLaunch two_gpu_rank(ContainerRuntime runtime, std::string image) {
    ContainerLaunch launch;
    launch.runtime = runtime;
    launch.image = std::move(image);
    launch.mounts = {{"/work/sweep", "/work/sweep", false},
                     {"/work/sweep/exp/trials/3", "/work/sweep/exp/trials/3", false},
                     {"/data/digits", "/data", true}};
    launch.workdir = "/work/sweep";
    launch.env_names = {"HPSWEEP_METRICS_FD", "RANK", "CUDA_VISIBLE_DEVICES"};
    launch.gpus = {2, 3};
    launch.cpus = "8-15";
    launch.mems = "1";
    return launch;
}

const Argv trial = {"/usr/bin/python3", "train.py", "--lr", "0.1"};

// A stand-in for the `enroot` executable: enroot is not a Debian package and cannot be
// installed on the machines the unit tests run on, so this test double records each call
// (ENROOT_DATA_PATH and argv, one line per call) and does what the cache relies on: `create
// --name NAME IMAGE` makes $ENROOT_DATA_PATH/NAME (a 1000-byte rootfs), failing for an image
// whose name contains "broken"; `version` prints one.
fs::path write_fake_enroot(const fs::path& dir) {
    fs::create_directories(dir / "bin");
    const fs::path exe = dir / "bin" / "enroot";
    std::ofstream(exe) << "#!/bin/sh\n"
                          "echo \"ENROOT_DATA_PATH=$ENROOT_DATA_PATH $*\" >> \""
                       << (dir / "enroot.log").string()
                       << "\"\n"
                          "case \"$1\" in\n"
                          "version) echo 3.5.0 ;;\n"
                          "create)\n"
                          "  case \"$4\" in *broken*) echo 'Invalid image format' >&2; exit 1 ;; "
                          "esac\n"
                          "  mkdir -p \"$ENROOT_DATA_PATH/$3/etc\" &&\n"
                          "  head -c 1000 /dev/zero > \"$ENROOT_DATA_PATH/$3/etc/blob\" ;;\n"
                          "*) exit 1 ;;\n"
                          "esac\n";
    fs::permissions(exe, fs::perms::owner_all);
    return exe;
}

std::vector<std::string> enroot_calls(const fs::path& dir) {
    std::vector<std::string> lines;
    std::ifstream in(dir / "enroot.log");
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

struct TempDir {
    fs::path path;
    TempDir() {
        char pattern[] = "/tmp/hpsweep-container-test.XXXXXX";
        path = ::mkdtemp(pattern);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

}  // namespace

TEST_CASE("the runtime follows the experiment, then the site, then the image's form",
          "[launcher][container]") {
    CHECK(runtime_for_image_form("/img/torch.sif") == ContainerRuntime::apptainer);
    CHECK(runtime_for_image_form("docker://pytorch/pytorch:2.3") == ContainerRuntime::apptainer);
    CHECK(runtime_for_image_form("/img/torch.sqsh") == ContainerRuntime::enroot);
    CHECK(runtime_for_image_form("/img/torch.tar.gz") == ContainerRuntime::charliecloud);
    CHECK(runtime_for_image_form("podman://localhost/torch") == ContainerRuntime::podman);
    CHECK(runtime_for_image_form("/") == ContainerRuntime::charliecloud);  // a directory
    CHECK_FALSE(runtime_for_image_form("/no/such/image").has_value());
    CHECK_FALSE(runtime_for_image_form("torch:latest").has_value());

    CHECK(choose_container_runtime("/img/x.sif", ContainerRuntime::podman, "enroot") ==
          ContainerRuntime::podman);
    CHECK(choose_container_runtime("/img/x.sif", std::nullopt, "enroot") ==
          ContainerRuntime::enroot);
    CHECK(choose_container_runtime("/img/x.sif", std::nullopt, "auto") ==
          ContainerRuntime::apptainer);
    CHECK_THAT(config_error([] { choose_container_runtime("torch:latest", std::nullopt, "auto"); }),
               Catch::Contains("cannot tell which container runtime") &&
                   Catch::Contains("container.runtime"));
    CHECK_THAT(config_error([] { choose_container_runtime("/x.sif", std::nullopt, "docker"); }),
               Catch::Contains("unknown container runtime 'docker'"));
    CHECK_THAT(config_error([] { parse_container_runtime("singularity", "exp.yaml:4:12"); }),
               Catch::StartsWith("exp.yaml:4:12: unknown container runtime 'singularity'"));
}

TEST_CASE("mounts are SRC[:DST][:ro] with absolute paths", "[launcher][container]") {
    const auto same = parse_container_mount("/data", "m");
    CHECK(same.source == "/data");
    CHECK(same.target == "/data");
    CHECK_FALSE(same.read_only);
    const auto moved = parse_container_mount("/scratch/u//x/:/x:ro", "m");
    CHECK(moved.source == "/scratch/u/x/");
    CHECK(moved.target == "/x");
    CHECK(moved.read_only);
    CHECK(parse_container_mount("/data:ro", "m").read_only);
    CHECK_THAT(config_error([] { parse_container_mount("data:/x", "--container-mount"); }),
               Catch::Contains("--container-mount: container mount 'data:/x': paths must be "
                               "absolute"));
    CHECK_THAT(config_error([] { parse_container_mount("/a:/b:rx", "m"); }),
               Catch::Contains("unknown flag 'rx'"));
    CHECK_THAT(config_error([] { parse_container_mount("/a b", "m"); }),
               Catch::Contains("whitespace"));
}

TEST_CASE("nested and duplicate mounts are dropped", "[launcher][container]") {
    const auto kept = normalize_mounts({{"/w", "/w", false},
                                        {"/w/exp/trials/1", "/w/exp/trials/1", false},
                                        {"/w", "/w", false},
                                        {"/elsewhere", "/w/data", false}});
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].target == "/w");
    CHECK(kept[1].source == "/elsewhere");  // a different host path under /w stays
}

TEST_CASE("apptainer: exec --nv with binds, the working directory and the image",
          "[launcher][container]") {
    CHECK(container_command(two_gpu_rank(ContainerRuntime::apptainer, "/img/torch.sif"), trial) ==
          Argv{"apptainer", "exec", "--nv", "--bind", "/work/sweep:/work/sweep", "--bind",
               "/data/digits:/data:ro", "--pwd", "/work/sweep", "/img/torch.sif",
               "/usr/bin/python3", "train.py", "--lr", "0.1"});
    auto cpu_only = two_gpu_rank(ContainerRuntime::apptainer, "docker://pytorch/pytorch");
    cpu_only.gpus.clear();
    CHECK(container_command(cpu_only, trial)[2] == "--bind");  // no --nv without GPUs
}

TEST_CASE("enroot: start with fstab mounts, named variables, NVIDIA_VISIBLE_DEVICES",
          "[launcher][container]") {
    CHECK(container_command(two_gpu_rank(ContainerRuntime::enroot, "hpsweep-0123456789abcdef"),
                            trial) == Argv{"enroot",
                                           "start",
                                           "--mount",
                                           "/work/sweep:/work/sweep:none:x-create=dir,bind",
                                           "--mount",
                                           "/data/digits:/data:none:x-create=dir,bind,ro",
                                           "--env",
                                           "HPSWEEP_METRICS_FD",
                                           "--env",
                                           "RANK",
                                           "--env",
                                           "CUDA_VISIBLE_DEVICES",
                                           "--env",
                                           "NVIDIA_VISIBLE_DEVICES=2,3",
                                           "hpsweep-0123456789abcdef",
                                           "env",
                                           "--chdir=/work/sweep",
                                           "/usr/bin/python3",
                                           "train.py",
                                           "--lr",
                                           "0.1"});
}

TEST_CASE("charliecloud: ch-run with binds, --cd, the image and --", "[launcher][container]") {
    auto launch = two_gpu_rank(ContainerRuntime::charliecloud, "/var/tmp/img/abc");
    launch.mounts.push_back({"/tmp/job42", "/tmp/job42", false});  // ch-run shares /tmp
    CHECK(container_command(launch, trial) == Argv{"ch-run", "--bind=/work/sweep:/work/sweep",
                                                   "--bind=/data/digits:/data", "--cd=/work/sweep",
                                                   "/var/tmp/img/abc", "--", "/usr/bin/python3",
                                                   "train.py", "--lr", "0.1"});
}

TEST_CASE("podman: run with the rank's cpuset, devices, variables and fd 3 kept open",
          "[launcher][container]") {
    auto rank = two_gpu_rank(ContainerRuntime::podman, "podman://localhost/torch");
    rank.limits = {{"nofile", 1024}, {"nproc", -1}};
    CHECK(container_command(rank, trial) == Argv{"podman",
                                                 "run",
                                                 "--rm",
                                                 "--network=host",
                                                 "--ipc=host",
                                                 "--userns=keep-id",
                                                 "--sig-proxy=true",
                                                 "--init",
                                                 "--log-driver=passthrough",
                                                 "--ulimit=nofile=1024:1024",
                                                 "--ulimit=nproc=-1:-1",
                                                 "--preserve-fds=1",
                                                 "--cpuset-cpus=8-15",
                                                 "--cpuset-mems=1",
                                                 "--device=/dev/nvidia2",
                                                 "--device=/dev/nvidia3",
                                                 "--device=/dev/nvidiactl",
                                                 "--device=/dev/nvidia-uvm",
                                                 "--volume=/work/sweep:/work/sweep",
                                                 "--volume=/data/digits:/data:ro",
                                                 "--env=HPSWEEP_METRICS_FD",
                                                 "--env=RANK",
                                                 "--env=CUDA_VISIBLE_DEVICES",
                                                 "--workdir=/work/sweep",
                                                 "localhost/torch",
                                                 "/usr/bin/python3",
                                                 "train.py",
                                                 "--lr",
                                                 "0.1"});
}

TEST_CASE("podman as root maps no user namespace, as podman refuses keep-id there",
          "[launcher][container]") {
    auto rank = two_gpu_rank(ContainerRuntime::podman, "podman://localhost/torch");
    rank.rootless = false;
    const Argv argv = container_command(rank, trial);
    CHECK(std::find(argv.begin(), argv.end(), "--userns=keep-id") == argv.end());
    CHECK(std::find(argv.begin(), argv.end(), "--sig-proxy=true") != argv.end());
}

TEST_CASE("the launcher's variables are passed by name, trial directories mounted",
          "[launcher][container]") {
    TempDir dir;
    fs::create_directories(dir.path / "exp/trials/1/checkpoints");
    const Environment env = {
        {"HPSWEEP_TRIAL_DIR", (dir.path / "exp/trials/1").string()},
        {"HPSWEEP_CHECKPOINT_DIR", (dir.path / "exp/trials/1/checkpoints").string()},
        {"HPSWEEP_EXPERIMENT_DIR", (dir.path / "exp").string()},
        {"HPSWEEP_DATASTORE_DIGITS", "/no/such/dir"},
        {"HPSWEEP_CACHE_DIR", dir.path.string()},
        {"MASTER_ADDR", "n1"},
        {"PATH", "/usr/bin"},
        {"SLURM_JOB_ID", "7"},
        {"HOME", "/root"},
    };
    CHECK(container_env_names(env) == Argv{"HPSWEEP_CACHE_DIR", "HPSWEEP_CHECKPOINT_DIR",
                                           "HPSWEEP_DATASTORE_DIGITS", "HPSWEEP_EXPERIMENT_DIR",
                                           "HPSWEEP_TRIAL_DIR", "MASTER_ADDR", "SLURM_JOB_ID"});
    const auto mounts = normalize_mounts(automatic_mounts(env, "/work/sweep"));
    REQUIRE(mounts.size() == 2);  // the workdir and the experiment (trial dirs are inside it)
    CHECK(mounts[0].target == "/work/sweep");
    CHECK(mounts[1].target == dir.path / "exp");
}

TEST_CASE("a runtime missing on the node is a config error naming it", "[launcher][container]") {
    CHECK_FALSE(find_runtime(ContainerRuntime::apptainer, "/nonexistent:/also/not").has_value());
    ContainerSpec spec;
    spec.image = "/img/torch.sif";
    const Environment env = {{"PATH", "/nonexistent"}};
    CHECK_THAT(config_error([&] { prepare_container(spec, trial, env, {}); }),
               Catch::Contains("container runtime apptainer: 'apptainer' is not installed on "
                               "node") &&
                   Catch::Contains("PATH=/nonexistent"));
}

TEST_CASE("an image is unpacked once per user and node, with the mount points inside",
          "[launcher][container][image_cache]") {
    TempDir dir;
    const fs::path image = dir.path / "image";
    fs::create_directories(image / "usr/bin");
    { std::ofstream(image / "usr/bin/tool") << "#!/bin/sh\n"; }
    ImageCacheOptions options;
    options.root = dir.path / "cache";
    const auto first = acquire_unpacked_image(image, {"/work/sweep/exp"}, options);
    CHECK(first.unpacked_now());
    CHECK(fs::exists(first.dir() / "usr/bin/tool"));
    CHECK(fs::is_directory(first.dir() / "work/sweep/exp"));
    CHECK((fs::status(options.root / std::to_string(::getuid())).permissions() &
           fs::perms::others_all) == fs::perms::none);
    const auto second = acquire_unpacked_image(image, {"/other"}, options);
    CHECK_FALSE(second.unpacked_now());
    CHECK(second.dir() == first.dir());
    CHECK(fs::is_directory(second.dir() / "other"));

    CHECK_THAT(config_error([&] { acquire_unpacked_image(dir.path / "missing", {}, options); }),
               Catch::Contains("does not exist"));
    std::ofstream(dir.path / "image.img") << "x";
    CHECK_THAT(config_error([&] { acquire_unpacked_image(dir.path / "image.img", {}, options); }),
               Catch::Contains("expected an image directory or a .tar"));
}

TEST_CASE("a squatted or shared user cache directory is refused",
          "[launcher][container][image_cache]") {
    TempDir dir;
    fs::create_directories(dir.path / "image/etc");
    ImageCacheOptions options;
    options.root = dir.path / "cache";
    fs::create_directories(options.root);
    fs::create_directory_symlink(dir.path, options.root / std::to_string(::getuid()));
    try {
        acquire_unpacked_image(dir.path / "image", {}, options);
        FAIL("a link was used as the cache");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::io);
        CHECK_THAT(e.what(), Catch::Contains("is not a private directory"));
    }
}

TEST_CASE("least recently used images no trial holds are evicted over the size",
          "[launcher][container][image_cache]") {
    TempDir dir;
    ImageCacheOptions options;
    options.root = dir.path / "cache";
    options.max_bytes = 1500;
    for (const char* name : {"a", "b"}) {
        fs::create_directories(dir.path / name);
        std::ofstream(dir.path / name / "blob") << std::string(1000, 'x');
    }
    fs::path first_dir;
    {
        const auto a = acquire_unpacked_image(dir.path / "a", {}, options);
        first_dir = a.dir();
        const auto b_held = acquire_unpacked_image(dir.path / "b", {}, options);
        CHECK(fs::exists(first_dir));  // a is in use: kept although over the size
    }
    const auto b = acquire_unpacked_image(dir.path / "b", {}, options);
    CHECK_FALSE(b.unpacked_now());
    CHECK_FALSE(fs::exists(first_dir));  // a was released and is the least recently used
}

TEST_CASE("enroot: the container is created once per node and user, then started by name",
          "[launcher][container][image_cache]") {
    TempDir dir;
    write_fake_enroot(dir.path);
    const fs::path image = dir.path / "torch.sqsh";
    std::ofstream(image) << "hsqs";
    ContainerSpec spec;
    spec.image = image.string();
    spec.cache.root = dir.path / "cache";
    const Environment env = {{"PATH", (dir.path / "bin").string()}};
    const std::string cwd = fs::current_path().string();

    const auto first = prepare_container(spec, trial, env, {});
    REQUIRE(first.image.has_value());
    CHECK(first.image->unpacked_now());
    const fs::path entry = first.image->dir();
    const std::string name = enroot_container_name(*first.image);
    CHECK(is_enroot_container_name(name));
    CHECK(entry.parent_path() == spec.cache.root / std::to_string(::getuid()));
    CHECK(name == "hpsweep-" + entry.filename().string());
    CHECK(first.environment.at("ENROOT_DATA_PATH") == entry.string());
    CHECK(fs::is_regular_file(entry / name / "etc/blob"));
    // HPSWEEP_METRICS_FD is named though `env` lacks it: the supervisor sets it later.
    CHECK(first.argv == Argv{"enroot", "start", "--mount",
                             cwd + ":" + cwd + ":none:x-create=dir,bind", "--env",
                             "HPSWEEP_METRICS_FD", name, "env", "--chdir=" + cwd,
                             "/usr/bin/python3", "train.py", "--lr", "0.1"});
    // Created under the staging directory, which then becomes the entry.
    CHECK(enroot_calls(dir.path) ==
          Argv{"ENROOT_DATA_PATH=" + entry.string() + ".unpacking create --name " + name + " " +
               image.string()});

    const auto second = prepare_container(spec, trial, env, {});
    CHECK_FALSE(second.image->unpacked_now());
    CHECK(second.argv == first.argv);
    CHECK(enroot_calls(dir.path).size() == 1);  // reused: no second `enroot create`

    // A rebuilt image (another mtime or size) is a new entry.
    std::ofstream(image, std::ios::app) << "more";
    const auto rebuilt = prepare_container(spec, trial, env, {});
    CHECK(rebuilt.image->unpacked_now());
    CHECK(rebuilt.image->dir() != entry);
    CHECK(enroot_calls(dir.path).size() == 2);
}

TEST_CASE("enroot: a failed create leaves nothing, and what enroot cannot create is refused",
          "[launcher][container][image_cache]") {
    TempDir dir;
    const fs::path enroot = write_fake_enroot(dir.path);
    ImageCacheOptions options;
    options.root = dir.path / "cache";
    const fs::path broken = dir.path / "broken.sqsh";
    std::ofstream(broken) << "x";
    try {
        acquire_enroot_container(broken, enroot, options);
        FAIL("a failed enroot create was used");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::io);
        CHECK_THAT(e.what(), Catch::Contains("enroot create of image " + broken.string()) &&
                                 Catch::Contains("Invalid image format"));
    }
    // Only the (unheld) lock file stays; no half-made entry.
    for (const auto& item : fs::directory_iterator(options.root / std::to_string(::getuid())))
        CHECK(item.path().extension() == ".lock");

    fs::create_directories(dir.path / "tree");
    CHECK_THAT(config_error([&] { acquire_enroot_container(dir.path / "tree", enroot, options); }),
               Catch::Contains("enroot creates containers from a squashfs file"));
    ContainerSpec spec;
    spec.image = "docker://nvcr.io/nvidia/pytorch:24.01-py3";
    spec.runtime = ContainerRuntime::enroot;
    const Environment env = {{"PATH", (dir.path / "bin").string()}};
    CHECK_THAT(config_error([&] { prepare_container(spec, trial, env, {}); }),
               Catch::Contains("enroot runs a squashfs file given by its absolute path"));
    CHECK(enroot_calls(dir.path).size() == 1);  // only the broken image reached enroot
}

TEST_CASE("enroot: least recently used containers no trial holds are evicted",
          "[launcher][container][image_cache]") {
    TempDir dir;
    const fs::path enroot = write_fake_enroot(dir.path);
    ImageCacheOptions options;
    options.root = dir.path / "cache";
    options.max_bytes = 1500;  // one 1000-byte container fits, two do not
    for (const char* name : {"a.sqsh", "b.sqsh"}) std::ofstream(dir.path / name) << name;
    fs::path a_dir;
    {
        const auto a = acquire_enroot_container(dir.path / "a.sqsh", enroot, options);
        a_dir = a.dir();
        const auto b = acquire_enroot_container(dir.path / "b.sqsh", enroot, options);
        CHECK(fs::exists(a_dir / enroot_container_name(a)));  // held by a running trial
    }
    const auto b = acquire_enroot_container(dir.path / "b.sqsh", enroot, options);
    CHECK_FALSE(b.unpacked_now());
    CHECK_FALSE(fs::exists(a_dir));  // released and least recently used: removed
    const auto a_again = acquire_enroot_container(dir.path / "a.sqsh", enroot, options);
    CHECK(a_again.unpacked_now());
    CHECK(enroot_calls(dir.path).size() == 3);  // a, b, then a once more
}

TEST_CASE("enroot container names follow a strict grammar", "[launcher][container]") {
    CHECK(is_enroot_container_name("hpsweep-0123456789abcdef"));
    CHECK_FALSE(is_enroot_container_name("hpsweep-0123456789ABCDEF"));
    CHECK_FALSE(is_enroot_container_name("hpsweep-0123456789abcde"));
    CHECK_FALSE(is_enroot_container_name("hpsweep-../../0123456789"));
    CHECK_FALSE(is_enroot_container_name("torch"));
}

TEST_CASE("runtime versions: --version, but `enroot version`", "[launcher][container]") {
    TempDir dir;
    const fs::path enroot = write_fake_enroot(dir.path);
    CHECK(runtime_version(ContainerRuntime::enroot, enroot) == std::optional<std::string>("3.5.0"));
    // The fake fails on --version, as enroot prints its usage and fails.
    CHECK_FALSE(runtime_version(ContainerRuntime::apptainer, enroot).has_value());
}
