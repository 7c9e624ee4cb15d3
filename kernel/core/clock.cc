#include <mica/clock.h>

namespace mica::clock {
namespace {
const Calibrator* registered = nullptr;  // set by a platform driver during boot
}
void register_calibrator(const Calibrator& c) { registered = &c; }
const Calibrator* calibrator() { return registered; }
}  // namespace mica::clock
