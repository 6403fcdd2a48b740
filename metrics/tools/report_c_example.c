/* A C trainer using hpsweep/report.h: reports STEPS steps of two metrics.
 *   hpsweep-report-c-example [STEPS]
 * Used by tests/python/test_metrics_helpers.py to check the pipe and stdout paths. */
#include <stdlib.h>

#include "hpsweep/report.h"

int main(int argc, char** argv) {
    const long steps = argc > 1 ? atol(argv[1]) : 3;
    long step;
    for (step = 0; step < steps; ++step) {
        const char* names[2] = {"loss", "acc"};
        double values[2];
        values[0] = 1.0 / (double)(step + 1);
        values[1] = (double)step / (double)steps;
        if (hpsweep_report(step, 2, names, values) != 0) return 1;
    }
    return hpsweep_report1(steps, "final_loss", 0.125) == 0 ? 0 : 1;
}
