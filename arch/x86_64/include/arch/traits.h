// Compile-time facts about x86_64 for arch-neutral code (every arch has this header, found
// through its own include directory).
#pragma once

#include <arch/x86_64/page_format.h>
#include <stdint.h>

namespace mica::arch::traits {
inline constexpr uintptr_t frame_alignment = 8;  // frame pointers are 8-byte aligned
inline constexpr uintptr_t call_adjust = 0;      // return addresses are printed as they are

// Virtual address layout (docs/architecture.md, "Address space"):
//   [0, low_identity_end)   kernel image and low memory, identity-mapped (page 0 unmapped)
//   [low_identity_end, 1 GiB)   free for applications: non-PIE binaries load at 4 MiB
//   [1 GiB, 4 GiB)          identity-mapped devices (local APIC, PCI and virtio-mmio windows)
//   [512 GiB, 576 GiB)      kernel stack area (4 KiB pages, guard pages unmapped)
//   [576 GiB, 640 GiB)      device mappings made at run time (mm::vm::map_device: 64-bit
//                           PCI BARs above 4 GiB), uncached
//   [1 TiB, 128 TiB)        free for applications; mmap without a hint starts at 1 TiB
//   [direct_map_base, +RAM) all of RAM; the page allocator hands out these addresses
inline constexpr uintptr_t stack_area_base = uintptr_t{512} << 30;
inline constexpr uintptr_t stack_area_size = uintptr_t{64} << 30;
inline constexpr uintptr_t device_map_base = uintptr_t{576} << 30;
inline constexpr uintptr_t device_map_size = uintptr_t{64} << 30;
inline constexpr uintptr_t direct_map_base = 0xffff800000000000;
inline constexpr uintptr_t device_identity_start = uintptr_t{1} << 30;
inline constexpr uintptr_t device_identity_end = uintptr_t{4} << 30;
inline constexpr uintptr_t app_space_end = uintptr_t{128} << 40;  // the lower canonical half
inline constexpr uintptr_t mmap_base = uintptr_t{1} << 40;
// Where a position-independent executable goes (Linux's choice without randomisation): far
// from mmap_base, so its break can grow.
inline constexpr uintptr_t pie_base = 0x555555554000;
using PageFormat = x86::PageFormat;

// The Linux ABI facts that differ by architecture (libc/linux).
inline constexpr uint16_t elf_machine = 62;         // EM_X86_64
inline constexpr const char* platform_name = "x86_64";  // AT_PLATFORM, uname's machine
inline constexpr int clone_child_tid_arg = 3, clone_tls_arg = 4;  // clone(flags, stack, ptid, ctid, tls)
inline constexpr uint64_t min_signal_stack = 2048;  // MINSIGSTKSZ
// struct epoll_event is packed on x86_64 (12 bytes: events, then data unaligned).
inline constexpr bool epoll_event_packed = true;
}  // namespace mica::arch::traits
