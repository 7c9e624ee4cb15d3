// GCC's <limits.h> includes the C library's after its own; the kernel's adds nothing.
#pragma once
