// Process-level system calls: the one application's lifetime.
#include <mica/linux/syscall.h>
#include <mica/power.h>

using namespace mica;

// exit_group: the application is over; its status is the machine's exit status.
int64_t sys_exit_group(const uint64_t* args) { power::shutdown(static_cast<int>(args[0] & 0xff)); }

// exit of a thread; the last one's status ends the application like exit_group.
int64_t sys_exit(const uint64_t* args) { return sys_exit_group(args); }
