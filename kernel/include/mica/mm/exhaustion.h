// Running out of memory, with a message that says what ran out and what would do.
//
// Two cases. The machine is too small for the kernel to boot (its image not in RAM, the
// boot archive loaded over it, too little left for the kernel's tables and threads): the
// kernel says how much memory it needs and stops with power::exit_status::resources. Later,
// a kernel allocation that has no way to fail gracefully (operator new, the kernel page
// tables) fails: a panic that names what ran out and the state of memory. Applications never
// reach either: their requests fail with ENOMEM (vm.h's commit check) and their page faults
// stop at a reserve of pages kept for the kernel (the application is then killed).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::mm {

// Free memory the rest of boot needs once the page allocator is up: threads, stacks and
// tables for `cpus` CPUs (measured: about 100 KiB plus 160 KiB per extra CPU on x86_64),
// with a margin, plus a minimum to run anything at all.
uint64_t boot_reserve_bytes(unsigned cpus);

// The RAM the machine has, for the messages' "give it at least N MiB" (set by early_init).
void note_ram_bytes(uint64_t bytes);

// Stops the machine (exit_status::resources): "mica: error: not enough memory: <what>:
// <needed> needed, <available> available; give the machine at least N MiB (QEMU -m NM)".
[[noreturn]] void boot_memory_short(const char* what, uint64_t needed, uint64_t available);

// After mm::init: stops the machine as above unless boot_reserve_bytes(cpus) are free.
void check_boot_memory(unsigned cpus);

// Panics: "out of memory: <what> (<bytes> bytes); <free> of <total> pages free, heap ...".
[[noreturn]] void kernel_out_of_memory(const char* what, size_t bytes);

}  // namespace mica::mm
