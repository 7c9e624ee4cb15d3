// Compile-time facts about aarch64 for arch-neutral code (every arch has this header, found
// through its own include directory).
#pragma once

#include <arch/aarch64/page_format.h>
#include <stdint.h>

namespace mica::arch::traits {
inline constexpr uintptr_t frame_alignment = 16;  // AAPCS64 keeps frame records 16-aligned
inline constexpr uintptr_t call_adjust = 4;       // show the BL, not the instruction after it

// Virtual address layout, 39 bits (docs/architecture.md, "Address space"):
//   [0, 128 MiB)            free for applications (QEMU virt's flash, which Mica does not
//                           use): non-PIE binaries load at 4 MiB
//   [128 MiB, 1 GiB)        identity-mapped devices (GIC, UART, virtio-mmio, PCI windows)
//   [1 GiB, 4 GiB or RAM end)  identity-mapped RAM (the direct map: offset 0) and devices
//   [128 GiB, 256 GiB)      free for applications; mmap without a hint starts here
//   [256 GiB, 320 GiB)      kernel stack area (4 KiB pages, guard pages unmapped)
//   [320 GiB, 384 GiB)      device mappings made at run time (mm::vm::map_device: the high
//                           PCIe ECAM, the 64-bit PCI window), Device-nGnRE
//   [384 GiB, 512 GiB)      free for applications
inline constexpr uintptr_t stack_area_base = uintptr_t{256} << 30;
inline constexpr uintptr_t stack_area_size = uintptr_t{64} << 30;
inline constexpr uintptr_t device_map_base = uintptr_t{320} << 30;
inline constexpr uintptr_t device_map_size = uintptr_t{64} << 30;
inline constexpr uintptr_t direct_map_base = 0;
inline constexpr uintptr_t device_identity_start = uintptr_t{128} << 20;
inline constexpr uintptr_t device_identity_end = uintptr_t{4} << 30;
inline constexpr uintptr_t app_space_end = uintptr_t{512} << 30;
inline constexpr uintptr_t mmap_base = uintptr_t{128} << 30;
// Where a position-independent executable goes: below mmap_base, so its break can grow.
inline constexpr uintptr_t pie_base = uintptr_t{16} << 30;
using PageFormat = aarch64::PageFormat;

// The Linux ABI facts that differ by architecture (libc/linux).
inline constexpr uint16_t elf_machine = 183;          // EM_AARCH64
inline constexpr const char* platform_name = "aarch64";  // AT_PLATFORM, uname's machine
inline constexpr int clone_child_tid_arg = 4, clone_tls_arg = 3;  // clone(flags, stack, ptid, tls, ctid)
inline constexpr uint64_t min_signal_stack = 5120;  // MINSIGSTKSZ
// struct epoll_event has its natural layout on arm64 (16 bytes: events, padding, data).
inline constexpr bool epoll_event_packed = false;
}  // namespace mica::arch::traits
