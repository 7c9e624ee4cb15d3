// lwIP's MEMCPY (lwipopts.h): a plain memcpy, except for the application range a socket
// send declared (app_copy.h), which is copied with the checked application copy.
#include "app_copy.h"

#include <mica/mm/vm.h>
#include <mica/net/net.h>
#include <stdint.h>
#include <string.h>

namespace mica::net {
namespace {

// Guarded by the core lock: the AppCopyWindow alive now (at most one: its owner holds the
// lock while lwIP copies).
struct Window {
    uintptr_t base = 0;
    size_t length = 0;  // 0: no window
    bool faulted = false;
} window;

}  // namespace

AppCopyWindow::AppCopyWindow(const void* base, size_t length) {
    window.base = reinterpret_cast<uintptr_t>(base);
    window.length = length;
    window.faulted = false;
}

AppCopyWindow::~AppCopyWindow() { window.length = 0; }

bool AppCopyWindow::faulted() const { return window.faulted; }

}  // namespace mica::net

extern "C" void* mica_lwip_memcpy(void* dst, const void* src, size_t length) {
    using mica::net::window;
    // One unsigned comparison: outside the window (or no window) is a kernel copy.
    if (reinterpret_cast<uintptr_t>(src) - window.base < window.length) {
        if (mica::mm::vm::copy_from_app(dst, src, length) < 0) {
            memset(dst, 0, length);
            window.faulted = true;
        }
        return dst;
    }
    return memcpy(dst, src, length);
}
