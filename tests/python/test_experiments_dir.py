"""The site config's experiments_dir: where the CLI puts a user's new experiments and looks
for them first. `%u` is the user name; `~/` the user's home; $HPSWEEP_HOME still overrides
it; a bad value is refused naming the file and line. No cluster needed: `hpsweep list`
says where it searched."""

import json
import os
import pwd
import subprocess
import tempfile
import unittest

BUILD_DIR = os.environ.get("HPSWEEP_BUILD_DIR", "build")
HPSWEEP = os.path.join(BUILD_DIR, "bin", "hpsweep")
CONFIG_EXIT_CODE = 3


class ExperimentsDir(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.TemporaryDirectory()
        self.addCleanup(self.work.cleanup)
        self.home = os.path.join(self.work.name, "home")
        os.mkdir(self.home)
        self.site_file = os.path.join(self.work.name, "hpsweep.conf")
        self.user = pwd.getpwuid(os.getuid()).pw_name

    def list_json(self, site_text, **extra_env):
        with open(self.site_file, "w") as site:
            site.write(site_text)
        env = {k: v for k, v in os.environ.items() if k != "HPSWEEP_HOME"}
        env.update(HOME=self.home, HPSWEEP_SITE_CONFIG=self.site_file, **extra_env)
        return subprocess.run([HPSWEEP, "--json", "list"], capture_output=True, text=True,
                              timeout=60, cwd=self.work.name, env=env)

    def searched(self, result):
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)["searched"]

    def test_the_default_is_each_users_home(self):
        self.assertEqual(self.searched(self.list_json(""))[0],
                         os.path.join(self.home, "hpsweep-runs"))

    def test_a_site_directory_with_the_user_name(self):
        site_dir = os.path.join(self.work.name, "scratch", "%u", "runs")
        searched = self.searched(self.list_json(f"experiments_dir = {site_dir}\n"))
        self.assertEqual(searched[0], site_dir.replace("%u", self.user))
        # Experiments in the old places are still found.
        self.assertIn(os.path.join(self.home, "hpsweep-runs"), searched)

    def test_hpsweep_home_overrides_the_site(self):
        own = os.path.join(self.work.name, "mine")
        searched = self.searched(self.list_json("experiments_dir = /scratch/%u\n",
                                                HPSWEEP_HOME=own))
        self.assertEqual(searched[:2], [own, f"/scratch/{self.user}"])

    def test_a_bad_value_is_refused_with_file_and_line(self):
        for value, why in [("/scratch/%s", "'%u' (the user name) is the only '%' form"),
                           ("/scratch/../%u", "'..' is not allowed"),
                           ("scratch/%u", "expected an absolute path")]:
            with self.subTest(value=value):
                result = self.list_json(f"# site\nexperiments_dir = {value}\n")
                self.assertEqual(result.returncode, CONFIG_EXIT_CODE, result.stderr)
                self.assertIn(f"{self.site_file}:2:", result.stderr)
                self.assertIn("experiments_dir", result.stderr)
                self.assertIn(why, result.stderr)
                self.assertEqual(result.stdout, "")


if __name__ == "__main__":
    unittest.main()
