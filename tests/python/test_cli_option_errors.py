"""Every numeric option and argument of every hpsweep command, given a value it does not
accept, is refused with a message a person can read:

    hpsweep: error: --nodes must be an integer >= 1, got '0'

exit code 2 (usage), and nothing of CLI11's own wording (`Value 0 not in range 0.000000 to
1797693...`, `Could not convert`). The commands and options are read from `--help`, so a new
option is covered without editing this test. A mistyped option before `hpsweep run`'s SCRIPT
is refused with the nearest option instead of being run as the program.
No cluster needed: every command is refused while its arguments are parsed."""

import json
import os
import re
import subprocess
import tempfile
import unittest

from cli_help import help_entries

BUILD_DIR = os.environ.get("HPSWEEP_BUILD_DIR", "build")
HPSWEEP = os.path.join(BUILD_DIR, "bin", "hpsweep")
USAGE_EXIT_CODE = 2
NUMERIC_TYPES = ("INT", "UINT", "FLOAT", "NUMBER")


def run(*args):
    return subprocess.run([HPSWEEP, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HPSWEEP_HOME": "/nonexistent/hpsweep-home"})


def commands(path=()):
    """Every subcommand path, nested ones included."""
    text = run(*path, "--help").stdout
    found = []
    for name, _ in help_entries(text, "Subcommands:"):
        found.append(path + (name,))
        found += commands(path + (name,))
    return found


class NumericOptionErrors(unittest.TestCase):
    bad_values = ["two", "1.5", "", "99999999999999999999999", "-7"]

    def check_refused(self, argv, shown_name, value):
        result = run(*argv)
        what = "hpsweep " + " ".join(repr(a) if not a or " " in a else a for a in argv)
        self.assertEqual(result.returncode, USAGE_EXIT_CODE, f"{what}: {result.stderr}")
        pattern = rf"^hpsweep: error: {re.escape(shown_name)} must be an integer " \
                  rf"(>= -?\d+|from -?\d+ to \d+), got '{re.escape(value)}'$"
        self.assertRegex(result.stderr.splitlines()[0] if result.stderr else "", pattern,
                         f"{what}: {result.stderr}")
        self.assertNotIn("not in range", result.stderr, what)
        self.assertNotIn("Could not convert", result.stderr, what)
        self.assertEqual(result.stdout, "", what)

    def test_every_numeric_option_of_every_command(self):
        checked = []
        for path in commands():
            text = run(*path, "--help").stdout
            for names, value_type in help_entries(text, "Options:"):
                if not value_type.startswith(NUMERIC_TYPES):
                    continue
                option = [n for n in names.split(",") if n.startswith("--")][0]
                for value in self.bad_values:
                    with self.subTest(command=path, option=option, value=value):
                        self.check_refused([*path, option, value], option, value)
                    if value and not value.startswith("-"):
                        with self.subTest(command=path, option=option + "=", value=value):
                            self.check_refused([*path, f"{option}={value}"], option, value)
                checked.append((path, option))
            preceding = []
            for name, value_type in help_entries(text, "Positionals:"):
                if value_type.startswith(NUMERIC_TYPES):
                    for value in ("two", "1.5", "99999999999999999999999"):
                        with self.subTest(command=path, argument=name, value=value):
                            self.check_refused([*path, *preceding, value], name, value)
                    checked.append((path, name))
                preceding.append("x")
        # The options the issue names, so a change in --help cannot make this test vacuous.
        for expected in [(("run",), "--nodes"), (("run",), "--gpus"),
                         (("run",), "--max-concurrent"), (("session",), "--nodes"),
                         (("cluster", "up"), "--nodes"), (("datastore", "stage"), "--threads"),
                         (("logs",), "trial")]:
            self.assertIn(expected, checked)

    def test_the_examples_of_the_issue(self):
        for argv, message in [
            (["run", "--nodes", "0", "train.py"], "--nodes must be an integer >= 1, got '0'"),
            (["run", "--gpus", "two", "train.py"], "--gpus must be an integer >= 0, got 'two'"),
            (["run", "--max-concurrent", "-1", "train.py"],
             "--max-concurrent must be an integer >= 0, got '-1'"),
            (["cluster", "up", "--nodes", "17"],
             "--nodes must be an integer from 1 to 16, got '17'"),
        ]:
            with self.subTest(argv=argv):
                result = run(*argv)
                self.assertEqual(result.returncode, USAGE_EXIT_CODE, result.stderr)
                self.assertEqual(result.stderr.splitlines()[0], "hpsweep: error: " + message)

    def test_help_says_what_a_numeric_option_accepts(self):
        text = run("run", "--help").stdout
        self.assertRegex(text, r"--nodes INT:>= 1 ")
        self.assertRegex(run("datastore", "stage", "--help").stdout, r"--threads UINT:1 to 64 ")


def mistyped(option):
    """OPTION with one letter of its name dropped: '--nodes' -> '--ndes'."""
    name = option[2:]
    return "--" + name[:1] + name[2:] if len(name) > 2 else None


class MistypedOptionInEveryCommand(unittest.TestCase):
    """Every command refuses a mistyped option with the nearest of its options, and points to
    its own --help (the commands and options are read from --help)."""

    def test_every_command_suggests_the_option_meant(self):
        checked = []
        for path in commands():
            text = run(*path, "--help").stdout
            names = [n for entry, _ in help_entries(text, "Options:") for n in entry.split(",")
                     if n.startswith("--") and n not in ("--help", "--version")]
            # A typo no other option (the command's, or hpsweep's own) is as near to.
            others = names + ["--json", "--verbose", "--version", "--help"]
            typo = next(((mistyped(n), n) for n in names if mistyped(n) and min(
                (edit_distance(mistyped(n), m) for m in others if m != n), default=99) > 2),
                        None)
            # A command with no option of its own still takes hpsweep's (--json).
            word, meant = typo or ("--jsn", "--json")
            with self.subTest(command=path, word=word):
                result = run(*path, word, "x")
                self.assertEqual(result.returncode, USAGE_EXIT_CODE, result.stderr)
                lines = result.stderr.splitlines()
                self.assertEqual(lines[0], f"hpsweep: error: unknown option '{word}' "
                                           f"(did you mean '{meant}'?)", result.stderr)
                self.assertIn(f"Run 'hpsweep {' '.join(path)} --help' for usage.", lines)
                self.assertEqual(result.stdout, "")
            checked.append(path)
        # A change in --help must not make this test vacuous.
        self.assertGreater(len(checked), 20)
        for expected in [("run",), ("submit",), ("status",), ("results",), ("list",),
                         ("cluster", "up"), ("cluster", "env"), ("datastore", "stage"),
                         ("session",)]:
            self.assertIn(expected, checked)

    def test_a_global_option_is_suggested_under_a_subcommand(self):
        result = run("list", "--jsn")
        self.assertEqual(result.returncode, USAGE_EXIT_CODE, result.stderr)
        self.assertEqual(result.stderr.splitlines()[0],
                         "hpsweep: error: unknown option '--jsn' (did you mean '--json'?)")


def edit_distance(a, b):
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


class MistypedOptionBeforeScript(unittest.TestCase):
    def test_a_mistyped_option_is_refused_with_the_nearest_one(self):
        for word, nearest in [("--gpu", "--gpus"), ("--node", "--nodes"),
                              ("--max-concurent", "--max-concurrent"), ("--dryrun", "--dry-run"),
                              ("--num-trial=4", "--num-trials")]:
            with self.subTest(word=word):
                result = run("run", word, "2", "train.py")
                self.assertEqual(result.returncode, USAGE_EXIT_CODE, result.stderr)
                self.assertEqual(
                    result.stderr.splitlines()[0],
                    f"hpsweep: error: unknown option '{word.split('=')[0]}' "
                    f"(did you mean '{nearest}'?)")
                self.assertEqual(result.stdout, "")

    def test_a_word_far_from_every_option_gets_no_suggestion(self):
        result = run("run", "--frobnicate", "train.py")
        self.assertEqual(result.returncode, USAGE_EXIT_CODE, result.stderr)
        self.assertEqual(result.stderr.splitlines()[0],
                         "hpsweep: error: unknown option '--frobnicate'")

    def test_options_after_script_still_belong_to_the_program(self):
        with tempfile.TemporaryDirectory() as home:
            # The script must exist: a missing one is refused before anything is planned.
            with open(os.path.join(home, "train.py"), "w") as script:
                script.write("print('training')\n")
            result = subprocess.run(
                [HPSWEEP, "run", "--dry-run", "--json", "train.py", "--gpu", "[1, 2]"],
                capture_output=True, text=True, timeout=60, cwd=home,
                env={**os.environ, "HPSWEEP_HOME": os.path.join(home, "runs")})
        self.assertEqual(result.returncode, 0, result.stderr)
        plan = json.loads(result.stdout)
        self.assertEqual(plan["num_trials"], 2, plan)


if __name__ == "__main__":
    unittest.main()
