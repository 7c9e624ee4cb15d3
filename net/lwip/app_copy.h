// Copies lwIP makes from application memory (net/lwip/app_copy.cc). A TCP send hands lwIP's
// tcp_write a pointer into the application's buffer, so its data is copied once, straight
// into the segments; tcp_write copies with MEMCPY (lwipopts.h), which checks the range a
// socket declared here. Private to net/.
#pragma once

#include <stddef.h>

namespace mica::net {

// While one exists (its owner holds the core lock, which makes it the only one), lwIP's
// copies out of [base, base + length) go through the checked application copy: a fault
// leaves zeros in the destination and sets faulted() instead of stopping the kernel.
class AppCopyWindow {
public:
    AppCopyWindow(const void* base, size_t length);
    ~AppCopyWindow();
    AppCopyWindow(const AppCopyWindow&) = delete;
    AppCopyWindow& operator=(const AppCopyWindow&) = delete;
    bool faulted() const;
};

}  // namespace mica::net
