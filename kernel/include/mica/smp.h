// Bringing up the other CPUs the firmware describes.
#pragma once

namespace mica {
struct BootInfo;
}

namespace mica::smp {

// Starts every secondary CPU in `boot` (at most `limit`), waiting up to a second for each
// to join the scheduler; returns how many CPUs are online afterwards.
unsigned start_secondaries(const BootInfo& boot, unsigned limit);

}  // namespace mica::smp
