// The kernel's random generator, behind getrandom, /dev/random and /dev/urandom: ChaCha20
// with fast key erasure (mica/linux/random.h). Seeded at first use from cycle-counter
// jitter, which is weak; an entropy device (virtio-rng) mixes in real random bytes, after
// which hardware_seeded() is true. Safe from any context (a spinlock, interrupts off).
#pragma once

#include <stddef.h>

namespace mica::random {

void fill(void* buffer, size_t length);
// Mixes `length` bytes into the generator's key; `from_hardware` when they come from a
// real entropy source.
void add_entropy(const void* data, size_t length, bool from_hardware);
bool hardware_seeded();

}  // namespace mica::random
