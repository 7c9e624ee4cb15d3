// Clock calibration hook: a timer driver with a known frequency (the PIT on x86) offers to
// measure the CPU's cycle counter when the architecture cannot read its frequency directly.
#pragma once

#include <stdint.h>

namespace mica::clock {

struct Calibrator {
    const char* name;
    // Returns counter ticks per second, or 0 when the reference timer is absent.
    uint64_t (*measure)(uint64_t (*counter)());
};

void register_calibrator(const Calibrator& calibrator);
const Calibrator* calibrator();

}  // namespace mica::clock
