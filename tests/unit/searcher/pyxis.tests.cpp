#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/searcher/pyxis.hpp"
#include "hpsweep/searcher/slurm_submission.hpp"

using namespace hpsweep;
using namespace hpsweep::searcher;

namespace {

ExperimentConfig pyxis_experiment(const std::string& image) {
    ExperimentConfig c;
    c.name = "exp";
    c.source = "exp.yaml";
    c.entrypoint = {"python3", "train.py"};
    c.container.image_cpu = c.container.image_cuda = image;
    c.container.runtime = "pyxis";
    c.locations["container"] = "exp.yaml:7:3";
    return c;
}

SiteConfig site_without_file() {
    SiteConfig site;
    site.datastore_root = "/shared/datastores";
    site.cache_dir = "/var/cache/hpsweep";
    return site;
}

}  // namespace

TEST_CASE("pyxis is the experiment's runtime, or the site's when the experiment names none",
          "[searcher][pyxis]") {
    SiteConfig site;
    ExperimentConfig bare;
    CHECK_FALSE(uses_pyxis(bare, site));
    auto named = pyxis_experiment("nvcr.io#nvidia/pytorch:24.01-py3");
    CHECK(uses_pyxis(named, site));
    auto unnamed = named;
    unnamed.container.runtime.clear();
    CHECK_FALSE(uses_pyxis(unnamed, site));
    site.container_pyxis = true;
    CHECK(uses_pyxis(unnamed, site));
    auto apptainer = named;
    apptainer.container.runtime = "apptainer";  // the experiment's own choice wins
    CHECK_FALSE(uses_pyxis(apptainer, site));
    site.container_pyxis = false;
    CHECK_FALSE(pyxis_step(unnamed, site, "/runs/exp-1", "/home/u/proj").has_value());
}

TEST_CASE("the pyxis step mounts the trial's directories and sets the working directory",
          "[searcher][pyxis]") {
    auto c = pyxis_experiment("docker://nvcr.io#nvidia/pytorch:24.01-py3");
    c.container.mounts = {"/data/digits:/data:ro", "/scratch", "/models:ro"};
    SiteConfig site = site_without_file();
    site.loaded_from = "/etc/hpsweep/hpsweep.conf";
    const auto step = pyxis_step(c, site, "/home/u/hpsweep-runs/exp-1", "/home/u/proj");
    REQUIRE(step.has_value());
    CHECK(step->image == "nvcr.io#nvidia/pytorch:24.01-py3");  // pyxis adds docker:// itself
    CHECK(step->workdir == "/home/u/proj");
    CHECK(step->mounts ==
          std::vector<std::string>{
              "/home/u/proj:/home/u/proj", "/home/u/hpsweep-runs/exp-1:/home/u/hpsweep-runs/exp-1",
              "/shared/datastores:/shared/datastores", "/var/cache/hpsweep:/var/cache/hpsweep",
              "/etc/hpsweep/hpsweep.conf:/etc/hpsweep/hpsweep.conf:ro", "/data/digits:/data:ro",
              "/scratch:/scratch", "/models:/models:ro"});
    // An experiment directory inside the submit directory is visible through it.
    const auto inside =
        pyxis_step(c, site_without_file(), "/home/u/proj/runs/exp-1", "/home/u/proj");
    CHECK(inside->mounts[0] == "/home/u/proj:/home/u/proj");
    CHECK(inside->mounts[1] == "/shared/datastores:/shared/datastores");
    CHECK(pyxis_srun_options(*step)[0] == "--container-image=nvcr.io#nvidia/pytorch:24.01-py3");
    CHECK(pyxis_srun_options(*step)[2] == "--container-workdir=/home/u/proj");
    CHECK_THAT(pyxis_srun_options(*step)[1],
               Catch::StartsWith("--container-mounts=/home/u/proj:/home/u/proj,/home/u/"));

    const auto local = pyxis_step(pyxis_experiment("/shared/images/torch.sqsh"),
                                  site_without_file(), "/r/e", "/w");
    CHECK(local->image == "/shared/images/torch.sqsh");
}

TEST_CASE("image forms and mounts pyxis cannot take are refused at the setting",
          "[searcher][pyxis]") {
    const SiteConfig site = site_without_file();
    auto refused = [&](const std::string& image) {
        return [&site, image] { pyxis_step(pyxis_experiment(image), site, "/r/e", "/w"); };
    };
    CHECK_THROWS_AS(refused("/img/torch.sif")(), Error);
    CHECK_THROWS_WITH(
        refused("/img/torch.sif")(),
        Catch::StartsWith("exp.yaml:7:3: container image /img/torch.sif cannot run with "
                          "pyxis: a .sif image is Apptainer's"));
    CHECK_THROWS_WITH(refused("/img/torch.tar.gz")(),
                      Catch::Contains("a tarball is Charliecloud's"));
    CHECK_THROWS_WITH(refused("/")(), Catch::Contains("a directory is Charliecloud's"));
    CHECK_THROWS_WITH(refused("/img/torch.img")(), Catch::Contains("must be a squashfs file"));
    CHECK_THROWS_WITH(refused("torch.sqsh")(), Catch::Contains("by its absolute path"));
    CHECK_THROWS_WITH(refused("podman://localhost/torch")(),
                      Catch::Contains("pyxis imports registry images only, not podman://"));
    CHECK_THROWS_WITH(refused("library://u/c/torch")(), Catch::Contains("not library://"));
    CHECK_THROWS_WITH(refused("ubuntu:22.04,x")(), Catch::Contains("',' are not allowed"));

    auto with_args = pyxis_experiment("ubuntu:22.04");
    with_args.container.args = {"--writable"};
    CHECK_THROWS_WITH(pyxis_step(with_args, site, "/r/e", "/w"),
                      Catch::StartsWith("exp.yaml:7:3: container.args"));
    auto comma = pyxis_experiment("ubuntu:22.04");
    CHECK_THROWS_WITH(pyxis_step(comma, site, "/r/a,b", "/w"),
                      Catch::Contains("cannot mount /r/a,b with pyxis"));
}

TEST_CASE("with pyxis the batch script gives srun the image and the launcher --no-container",
          "[searcher][pyxis][slurm_submission]") {
    auto c = pyxis_experiment("nvcr.io#nvidia/pytorch:24.01-py3");
    const auto step = pyxis_step(c, site_without_file(), "/runs/exp-1", "/home/u/proj");
    for (long pack : {1L, 16L}) {
        c.resources.trials_per_task = pack;
        const std::string script =
            render_batch_script(c, "/runs/exp-1", "/usr/bin/hpsweep-launch", step);
        const std::string srun =
            "srun '--container-image=nvcr.io#nvidia/pytorch:24.01-py3' "
            "--container-mounts=/home/u/proj:/home/u/proj,/runs/exp-1:/runs/exp-1,"
            "/shared/datastores:/shared/datastores,/var/cache/hpsweep:/var/cache/hpsweep "
            "--container-workdir=/home/u/proj \\\n"
            "        /usr/bin/hpsweep-launch --no-container --experiment /runs/exp-1 ";
        CHECK_THAT(script, Catch::Contains("        " + srun + "--trial \"$RUN_TRIAL\" &\n"));
        CHECK_THAT(script, Catch::Contains("        " + srun + "--pack-first \"$TRIAL_ID\" \\\n"));
        CHECK_THAT(script, Catch::Contains("# pyxis: srun runs each step in the image "
                                           "nvcr.io#nvidia/pytorch:24.01-py3"));
        const auto dir = std::filesystem::temp_directory_path() /
                         ("hpsweep-pyxis-test-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
        write_file_atomic(dir / "submit.sh", script);
        const int status = std::system(("bash -n '" + (dir / "submit.sh").string() + "'").c_str());
        std::filesystem::remove_all(dir);
        CHECK(status == 0);
    }
    // Without pyxis the script is unchanged: no --container-* options, no --no-container.
    const std::string bare = render_batch_script(c, "/runs/exp-1", "/usr/bin/hpsweep-launch");
    CHECK(bare.find("--container") == std::string::npos);
    CHECK(bare.find("--no-container") == std::string::npos);
}
