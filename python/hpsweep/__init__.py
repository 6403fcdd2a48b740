"""hpsweep: report metrics from a training script (stdlib only).

    import hpsweep
    hpsweep.report(step=10, val_loss=0.25, val_acc=0.91)

Under hpsweep-launch, HPSWEEP_METRICS_FD names a pipe the launcher reads: each report is one
line ``HPSWEEP_METRIC {"step": 10, "val_loss": 0.25, ...}`` written there in a single
os.write (short lines are atomic on a pipe). Without the variable the same line is printed
on stdout, which the launcher also reads, so a script works the same under hpsweep, under
plain sbatch and on a laptop.

Only rank 0 reports by default (the RANK variable set for DDP); pass ``all_ranks=True`` or
set HPSWEEP_REPORT_ALL_RANKS=1 to report from every rank.
"""

import json
import numbers
import os
import re
import sys

__all__ = ["report", "MetricError", "is_valid_metric_name"]

MARKER = "HPSWEEP_METRIC"
_NAME = re.compile(r"[A-Za-z0-9_.:/-]{1,128}")
_PIPE_BUF = 4096


class MetricError(ValueError):
    """A metric name or value that the launcher would reject."""


def _is_reporting_rank(all_ranks):
    if all_ranks or os.environ.get("HPSWEEP_REPORT_ALL_RANKS") == "1":
        return True
    return os.environ.get("RANK", "0") in ("", "0")


def _number(name, value):
    # numpy and torch scalars: 0-d values with .item()
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise MetricError(f"metric {name!r}: value {value!r} is not a number")
    return float(value)


def is_valid_metric_name(name):
    """The launcher's metric-name rule (common/include/hpsweep/metric_name.hpp), which
    tests/python/test_metric_name_rule.py compares with this copy."""
    return (_NAME.fullmatch(name) is not None and name not in ("step", ".", "..")
            and not name.startswith("/") and not name.endswith("/"))


def format_line(step=None, **metrics):
    """The line report() writes, without the newline (useful for tests and logs)."""
    if not metrics:
        raise MetricError("report() needs at least one metric")
    payload = {}
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise MetricError(f"step must be a non-negative integer, got {step!r}")
        payload["step"] = int(step)
    for name, value in metrics.items():
        if not is_valid_metric_name(name):
            raise MetricError(f"invalid metric name {name!r} (allowed: letters, digits, _ . : / -)")
        number = _number(name, value)
        # json.dumps writes NaN/Infinity, which the launcher accepts.
        payload[name] = number
    return MARKER + " " + json.dumps(payload, separators=(",", ":"))


def report(step=None, all_ranks=False, **metrics):
    """Report metric values for one step. Returns True when a line was written."""
    if not _is_reporting_rank(all_ranks):
        return False
    line = format_line(step, **metrics) + "\n"
    fd_text = os.environ.get("HPSWEEP_METRICS_FD", "")
    if fd_text:
        try:
            fd = int(fd_text)
        except ValueError:
            fd = -1
        if fd >= 0:
            data = line.encode("utf-8")
            if len(data) > _PIPE_BUF:
                raise MetricError(f"metric line is {len(data)} bytes; at most {_PIPE_BUF} (report fewer metrics per call)")
            while data:
                written = os.write(fd, data)
                data = data[written:]
            return True
    sys.stdout.write(line)
    sys.stdout.flush()
    return True
