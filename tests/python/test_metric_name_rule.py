"""The Python helper's metric-name rule (python/hpsweep) is a copy of the C++ rule
(common/include/hpsweep/metric_name.hpp): every name the one accepts, the other accepts."""

import json
import tempfile
import unittest

from metrics_testlib import ingest

import hpsweep

NAMES = [
    "loss", "val_loss", "val/loss:top-1.5", "a-b", "A9", "x" * 128,
    "", "step", ".", "..", "/abs", "abs/", "a b", "x" * 129, "loss!", "a=b", "é", "a\\b",
    "loss\n", "\nloss", "lo\tss", "a,b", "{x}",
]


def python_accepts(name):
    return hpsweep.is_valid_metric_name(name)


def cpp_accepts(name):
    """Whether the launcher's recorder takes a metric line with this name."""
    with tempfile.TemporaryDirectory() as tmp:
        line = "HPSWEEP_METRIC " + json.dumps({name: 1.0})
        counters = ingest(tmp + "/metrics.h5", [line])
        return counters["malformed_lines"] == 0


class MetricNameRule(unittest.TestCase):
    def test_python_and_cpp_agree(self):
        for name in NAMES:
            with self.subTest(name=name):
                self.assertEqual(python_accepts(name), cpp_accepts(name))

    def test_the_rule_is_not_trivial(self):
        self.assertTrue(python_accepts("val/loss:top-1.5"))
        self.assertFalse(python_accepts("step"))
        self.assertFalse(python_accepts("loss\n"))

    def test_report_refuses_what_the_rule_refuses(self):
        with self.assertRaisesRegex(hpsweep.MetricError, "invalid metric name"):
            hpsweep.format_line(1, **{"loss\n": 1.0})


if __name__ == "__main__":
    unittest.main()
