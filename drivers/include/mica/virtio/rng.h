// virtio-rng (the entropy device): its bytes seed the kernel's random generator when the
// device is probed (mica/random.h) and on request.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::virtio {

// Fills `buffer` with `length` bytes from entropy device `index` (0: the first found),
// waiting at most `timeout_ns` for each request. Bytes read, or -errno (-ENODEV: no such
// device, -ETIMEDOUT: the device did not answer, -EIO: it broke the protocol).
int64_t rng_read(size_t index, void* buffer, size_t length, uint64_t timeout_ns);
size_t rng_device_count();

// Boot self-test (--test-rng): reads 4 KiB through every entropy device and checks the
// bytes look random; prints a line per device. True when there is at least one and all pass.
bool rng_self_test();

}  // namespace mica::virtio
