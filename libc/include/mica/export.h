// MICA_EXPORT marks a symbol as part of the application ABI: it stays in the kernel's
// dynamic symbol table when CONFIG_HIDE_SYMBOLS compiles everything else hidden.
#pragma once

#define MICA_EXPORT __attribute__((visibility("default")))
