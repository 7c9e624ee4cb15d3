// Driver registration: an explicit table (drivers/registry.cc) built from driver-config.h,
// so a kernel contains and initialises exactly the drivers its profile selects.
#pragma once

namespace mica::drivers {

enum class Phase {
    console,   // before anything else prints
    platform,  // exit methods, clock calibration: before the command line is acted on
    bus,       // device discovery, once memory is up
};

struct Driver {
    const char* name;
    Phase phase;
    // Returns false when the hardware is absent (not an error: one kernel, many machines).
    bool (*init)();
};

void init(Phase phase);
void set_verbose(bool on);
bool verbose();

}  // namespace mica::drivers
