"""hpsweep-launch parses its arguments with the same CLI library as hpsweep: a mistyped option
is refused with the nearest one instead of being run as the program, a number it does not
accept says what it accepts, and the command after the options (or after --) keeps its own
flags. No cluster needed: the launcher is run with --explain or a plain command."""

import os
import subprocess
import unittest

BUILD_DIR = os.environ.get("HPSWEEP_BUILD_DIR", "build")
LAUNCH = os.path.join(BUILD_DIR, "bin", "hpsweep-launch")
USAGE_EXIT_CODE = 2


def launch(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    return subprocess.run([LAUNCH, *args], capture_output=True, text=True, timeout=60, env=env)


class LaunchOptionErrors(unittest.TestCase):
    def refused(self, args, message):
        result = launch(*args)
        self.assertEqual(result.returncode, USAGE_EXIT_CODE, result.stderr)
        lines = result.stderr.splitlines()
        self.assertEqual(lines[0], "hpsweep-launch: error: " + message, result.stderr)
        self.assertIn("Run 'hpsweep-launch --help' for usage.", lines)
        self.assertEqual(result.stdout, "")

    def test_a_mistyped_option_gets_the_nearest_one(self):
        self.refused(["--polcy", "none", "--", "true"],
                     "unknown option '--polcy' (did you mean '--policy'?)")
        self.refused(["--gpus-per-tsk=2", "true"],
                     "unknown option '--gpus-per-tsk' (did you mean '--gpus-per-task'?)")
        self.refused(["--frobnicate", "true"], "unknown option '--frobnicate'")

    def test_numbers_say_what_they_accept(self):
        self.refused(["--ntasks", "0", "--explain"], "--ntasks must be an integer >= 1, got '0'")
        self.refused(["--gpus-per-task=-1", "--", "true"],
                     "--gpus-per-task must be an integer >= 0, got '-1'")
        self.refused(["--experiment", "x", "--trial", "two"],
                     "--trial must be an integer >= 0, got 'two'")
        self.refused(["--master-port", "70000", "--", "true"],
                     "--master-port must be an integer from 1 to 65535, got '70000'")

    def test_the_checks_across_options_stay(self):
        self.refused([], "nothing to run: give -- COMMAND, --experiment EXP --trial ID, "
                         "or --explain")
        self.refused(["--trial", "1"], "--trial needs --experiment")
        self.refused(["--policy", "far", "--", "true"],
                     "--policy 'far': expected closest, none or verbose")
        self.refused(["--experiment", "x"], "--experiment needs --trial ID (or run inside a job "
                     "array: $SLURM_ARRAY_TASK_ID + --trial-offset)")

    def test_the_command_keeps_its_own_flags(self):
        for args in (["--policy=none", "echo", "--policy", "x"],
                     ["--policy", "none", "--", "echo", "--policy", "x"]):
            with self.subTest(args=args):
                result = launch(*args)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertEqual(result.stdout, "--policy x\n")

    def test_help_and_version(self):
        result = launch("--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        for option in ("--experiment", "--trial-offset", "--pack-first", "--policy",
                       "--gpu-isolation", "--port-range", "--container-mount", "--explain",
                       "--quiet"):
            self.assertIn(option, result.stdout)
        result = launch("--version")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.startswith("hpsweep-launch "), result.stdout)


if __name__ == "__main__":
    unittest.main()
