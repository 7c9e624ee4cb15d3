// The tracing options of the kernel command line (docs/tracing.md "Kernel options"):
// --trace=PATTERN[,...], --trace-list, --trace-backtrace, --trace-buffer=KIB, --profile=HZ.
#pragma once

#include <mica/cmdline.h>

namespace mica::trace {

cmdline::OptionTable command_line_options();

}  // namespace mica::trace
