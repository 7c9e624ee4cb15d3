#include <arch/arch.h>
#include <mica/linux/random.h>
#include <mica/random.h>
#include <mica/sched/spinlock.h>
#include <string.h>

namespace mica::random {
namespace {
// Owned here, guarded by `lock`: the one generator and whether an entropy device fed it.
abi::ChaChaRng generator;
sched::Spinlock lock;
bool from_device = false;

void seed_from_cycles() {
    constexpr int samples_count = 32, spins = 16;
    uint64_t samples[samples_count];
    for (uint64_t& s : samples) {
        uint64_t a = arch::cycles();
        for (int spin = 0; spin < spins; ++spin) arch::cpu_relax();
        s = a ^ (arch::cycles() << 17) ^ reinterpret_cast<uintptr_t>(&s);
    }
    generator.seed(samples, sizeof(samples));
}
}  // namespace

void fill(void* buffer, size_t length) {
    sched::SpinGuard guard(lock);
    if (!generator.seeded()) seed_from_cycles();
    generator.fill(buffer, length);
}

void add_entropy(const void* data, size_t length, bool from_hardware) {
    sched::SpinGuard guard(lock);
    if (!generator.seeded()) seed_from_cycles();
    generator.seed(data, length);
    if (from_hardware) from_device = true;
}

bool hardware_seeded() {
    sched::SpinGuard guard(lock);
    return from_device;
}

}  // namespace mica::random
