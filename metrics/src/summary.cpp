#include "hpsweep/metrics/trial_file.hpp"
