"""Reading the `hpsweep ... --help` text CLI11 prints, shared by the CLI's Python tests."""


def help_entries(text, title):
    """(name, type) of each entry under a CLI11 help section ('Subcommands:', 'Options:',
    'Positionals:'); type is the upper-case value word CLI11 prints ('INT', 'TEXT:...') or ''."""
    entries, inside = [], False
    for line in text.splitlines():
        if line.strip() == title:
            inside = True
            continue
        if inside:
            if not line.startswith(" "):
                if line.strip():
                    break
                continue
            words = line.split()
            value_type = words[1] if len(words) > 1 and words[1].split(":")[0].isupper() else ""
            entries.append((words[0], value_type))
    return entries


def help_names(text, title):
    """The names listed under a CLI11 help section."""
    return [name for name, _ in help_entries(text, title)]
