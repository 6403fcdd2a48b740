"""`hpsweep --help`, every subcommand's --help, the docs and the bash completion agree.

- every `hpsweep WORD` the docs (README.md, docs/*.md, examples/**/README.md) name as a
  command is a subcommand in `hpsweep --help`, and every subcommand in `hpsweep --help` is
  in the command table of docs/user-guide.md;
- every subcommand, nested ones included, answers --help with its own usage line;
- the options in docs/user-guide.md's option tables of `hpsweep run` and `hpsweep session`
  exist in their --help, and every option their --help lists is documented in the guide;
- `hpsweep completion bash`, sourced in bash, completes `hpsweep ses<TAB>` to `session`,
  `hpsweep run --ma<TAB>` to exactly the --ma* options of `hpsweep run --help`, nested
  subcommands (`hpsweep datastore cr<TAB>`), and nothing of its own after `--`.
No cluster needed."""

import glob
import os
import re
import subprocess
import unittest

from cli_help import help_names

BUILD_DIR = os.environ.get("HPSWEEP_BUILD_DIR", "build")
SOURCE_DIR = os.environ.get("HPSWEEP_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HPSWEEP = os.path.join(BUILD_DIR, "bin", "hpsweep")


def run(*args, check=True):
    result = subprocess.run([HPSWEEP, *args], capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"hpsweep {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def subcommands(path):
    return help_names(run(*path, "--help").stdout, "Subcommands:")


def option_entries(path):
    """Each option of `hpsweep PATH --help` as the set of its long names (aliases together:
    {'--num_trials', '--num-trials'})."""
    entries = []
    for entry in help_names(run(*path, "--help").stdout, "Options:"):
        names = {name for name in entry.split(",") if name.startswith("--")}
        if names and names != {"--help"}:
            entries.append(names)
    return entries


def long_options(path):
    return set().union(*option_entries(path))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def doc_files():
    files = [os.path.join(SOURCE_DIR, "README.md")]
    files += sorted(glob.glob(os.path.join(SOURCE_DIR, "docs", "*.md")))
    files += sorted(glob.glob(os.path.join(SOURCE_DIR, "examples", "**", "README.md"), recursive=True))
    return files


def code_texts(markdown):
    """The code in a markdown file: fenced blocks (comment lines dropped) and inline spans."""
    texts, in_block = [], False
    for line in markdown.splitlines():
        if line.strip().startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            if not line.lstrip().startswith("#"):
                texts.append(line.lstrip("$ ").split(" # ")[0])
        else:
            texts += re.findall(r"`([^`]+)`", line)
    return texts


def table_options(markdown, heading):
    """`--options` in the first column of the first table after the heading."""
    section = markdown.split(heading, 1)[1]
    options, in_table = set(), False
    for line in section.splitlines():
        if line.startswith("|"):
            in_table = True
            first_cell = line.split("|")[1]
            options.update(re.findall(r"`(--[a-z][a-z_-]*)", first_cell))
            options.update(re.findall(r"(?<=[`, ])(--[a-z][a-z_-]*)", first_cell))
        elif in_table:
            break
    return options


class HelpAndDocs(unittest.TestCase):
    def test_docs_name_only_real_subcommands_and_the_guide_names_them_all(self):
        commands = set(subcommands([]))
        self.assertIn("session", commands)
        self.assertIn("completion", commands)
        # `hpsweep WORD` where WORD is lower-case: a subcommand (hpsweep-launch, hpsweep.so and
        # hpsweep.report() do not match: the word must follow a space).
        named = {}
        for path in doc_files():
            for code in code_texts(read(path)):
                # In command position: at the start, after a pipe, `;`, `&&` or `$(`; not a
                # word being completed (`hpsweep ses<TAB>`).
                for word in re.findall(r"(?:^|[;|&]\s*|\$\()hpsweep ([a-z][a-z-]*)\b(?!<)",
                                       code.strip(), re.M):
                    named.setdefault(word, set()).add(os.path.relpath(path, SOURCE_DIR))
        unknown = {w: sorted(f) for w, f in named.items() if w not in commands}
        self.assertEqual(unknown, {}, "docs name commands that `hpsweep --help` does not list")
        guide = read(os.path.join(SOURCE_DIR, "docs", "user-guide.md"))
        table = guide.split("## Commands", 1)[1].split("\n## ", 1)[0]
        in_table = set(re.findall(r"^\| `hpsweep ([a-z-]+)", table, re.M))
        self.assertEqual(in_table, commands, "docs/user-guide.md's command table vs hpsweep --help")

    def test_every_subcommand_answers_help(self):
        pending, seen = [[c] for c in subcommands([])], 0
        while pending:
            path = pending.pop()
            text = run(*path, "--help").stdout
            self.assertIn("Usage: hpsweep " + " ".join(path), text)
            pending += [path + [c] for c in help_names(text, "Subcommands:")]
            seen += 1
        self.assertGreater(seen, 25)

    def test_run_and_session_options_match_the_guide(self):
        guide = read(os.path.join(SOURCE_DIR, "docs", "user-guide.md"))
        for command, heading in (("run", "## `hpsweep run` (Grid style)"),
                                 ("session", "## `hpsweep session`: interactive allocations")):
            with self.subTest(command=command):
                in_table, in_help = table_options(guide, heading), long_options([command])
                self.assertTrue(in_table)
                self.assertEqual(in_table - in_help, set(), "in the guide's table, not in --help")
                documented = set(re.findall(r"(--[a-z][a-z_-]*)", guide))
                undocumented = [sorted(names) for names in option_entries([command])
                                if not names & documented]
                self.assertEqual(undocumented, [], "in --help, not in the guide")


class BashCompletion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.script = run("completion", "bash").stdout

    def complete(self, *words):
        """COMPREPLY for the command line `hpsweep WORDS...`, the last word being completed."""
        line = ["hpsweep", *words]
        program = (self.script + "\nCOMP_WORDS=(" + " ".join(f"'{w}'" for w in line) + ")\n"
                   f"COMP_CWORD={len(line) - 1}\n_hpsweep\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n")
        result = subprocess.run(["bash", "--norc", "--noprofile", "-c", program],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        return [w for w in result.stdout.split("\n") if w]

    def test_subcommand(self):
        self.assertEqual(self.complete("ses"), ["session"])

    def test_run_options(self):
        expected = sorted(o for o in long_options(["run"]) if o.startswith("--ma"))
        self.assertTrue(expected)
        self.assertEqual(sorted(self.complete("run", "--ma")), expected)

    def test_nested_and_after_options(self):
        self.assertEqual(self.complete("datastore", "cr"), ["create"])
        self.assertEqual(self.complete("session", "l"), ["list"])
        # After an option that takes a value, and after `--`, bash completes file names.
        self.assertEqual(self.complete("session", "--time", ""), [])
        self.assertEqual(self.complete("session", "--", "ses"), [])
        # Global options work at the top level; the hidden internal step is not offered.
        self.assertIn("--json", self.complete("--j"))
        self.assertNotIn("_step", self.complete("session", ""))

    def test_unsupported_shell(self):
        result = run("completion", "fish", check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("unsupported shell 'fish'", result.stderr)


if __name__ == "__main__":
    unittest.main()
