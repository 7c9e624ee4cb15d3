// Frame-pointer stack walking, shared by the architectures: on x86_64 and aarch64 alike a
// frame record is {caller's frame pointer, return address} at the frame pointer.
#pragma once

#include <stdint.h>

namespace mica {

// Visits the return address of each frame from `frame` up, minus `call_adjust` (to point at
// the call instruction where that is useful). Frames must be aligned to `alignment` and move
// up the stack; anything else ends the walk, so a corrupt stack cannot fault the walker.
// `readable(frame)` may end the walk earlier: at a frame it must not read (the tracer stays
// on kernel stacks, out of application memory that may not be mapped).
template <typename Visit, typename Readable>
void walk_frames(uintptr_t frame, uintptr_t alignment, uintptr_t call_adjust, Visit visit, Readable readable) {
    constexpr uintptr_t lowest_frame = 0x1000;
    constexpr int max_frames = 64;
    for (int i = 0; i < max_frames; ++i) {
        if (frame < lowest_frame || (frame & (alignment - 1)) || !readable(frame)) return;
        auto* record = reinterpret_cast<const uintptr_t*>(frame);
        uintptr_t next = record[0], ret = record[1];
        if (!ret) return;
        visit(ret - call_adjust);
        if (next <= frame) return;
        frame = next;
    }
}

template <typename Visit>
void walk_frames(uintptr_t frame, uintptr_t alignment, uintptr_t call_adjust, Visit visit) {
    walk_frames(frame, alignment, call_adjust, visit, [](uintptr_t) { return true; });
}

}  // namespace mica
