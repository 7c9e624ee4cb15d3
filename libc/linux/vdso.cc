// Mapping the vDSO into a process (mica/linux/vdso.h). The image is a copy, not a shared
// mapping of the kernel's bytes: the application runs in the kernel's address space, but the
// address-space code has no way to map pages it does not own into a process (and a page
// that the process can write with mprotect must not be the kernel's). Two pages per process,
// copied once per execve.
#include <mica/clock.h>
#include <mica/linux/vdso.h>
#include <mica/mm/vm.h>

extern "C" const uint8_t mica_vdso_image_start[], mica_vdso_image_end[];  // vdso_image.S

namespace mica::abi {
namespace {
constexpr size_t page = 4096;
constexpr int64_t e_nomem = 12;
}  // namespace

intptr_t map_vdso() {
    size_t image = static_cast<size_t>(mica_vdso_image_end - mica_vdso_image_start);
    size_t image_span = (image + page - 1) & ~(page - 1);
    // One range for both, so the [vvar] page is where the image expects it (its linker script
    // puts it one page below the ELF header); then the first page becomes its own area.
    intptr_t at = mm::vm::map_anonymous(0, page + image_span, mm::prot_read | mm::prot_write, false,
                                        mm::VmaKind::vdso);
    if (at < 0) return at;
    uintptr_t vvar = static_cast<uintptr_t>(at), base = vvar + page;
    const clock::ClockData* data = clock::data();
    bool ok = mm::vm::map_anonymous(vvar, page, mm::prot_read | mm::prot_write, true, mm::VmaKind::vvar) == at &&
              mm::vm::copy_to_app(reinterpret_cast<void*>(vvar), &data, sizeof data) == 0 &&
              mm::vm::copy_to_app(reinterpret_cast<void*>(base), mica_vdso_image_start, image) == 0 &&
              mm::vm::protect(vvar, page, mm::prot_read) == 0 &&
              mm::vm::protect(base, image_span, mm::prot_read | mm::prot_exec) == 0;
    if (!ok) {  // out of memory part way
        mm::vm::unmap(vvar, page + image_span);
        return -e_nomem;
    }
    return static_cast<intptr_t>(base);
}

}  // namespace mica::abi
