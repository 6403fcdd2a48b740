#!/usr/bin/env python3
"""Write scikit-learn's bundled digits as a small dataset directory for the datastore
example (no download): OUT/digits.csv (64 pixel columns scaled to 0..16, then the label)
and OUT/README.txt.

    /usr/bin/python3 examples/datastore/make_digits_csv.py digits-data
"""
import csv
import os
import sys

from sklearn.datasets import load_digits


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_digits_csv.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    digits = load_digits()
    with open(os.path.join(out, "digits.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"p{i}" for i in range(64)] + ["label"])
        for pixels, label in zip(digits.data, digits.target):
            writer.writerow([int(v) for v in pixels] + [int(label)])
    with open(os.path.join(out, "README.txt"), "w") as f:
        f.write("scikit-learn's 8x8 digits: 1797 rows, 64 pixels (0..16) and a label.\n")
    print(f"wrote {len(digits.target)} rows to {os.path.join(out, 'digits.csv')}")


if __name__ == "__main__":
    main()
