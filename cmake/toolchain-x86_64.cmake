# Toolchain for x86_64 kernels.
set(MICA_TARGET x86_64)
set(MICA_TARGET_HOST_NAMES "x86_64|AMD64")
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake)

# Kernel code never touches SSE/AVX/x87 state, so interrupts need not save it; no red zone
# because kernel code can be interrupted on its own stack by exceptions (IST covers apps).
set(MICA_ARCH_FLAGS -mgeneral-regs-only -mno-red-zone -mcmodel=small -march=x86-64)
set(MICA_ENTRY_SYMBOL pvh_start32)
