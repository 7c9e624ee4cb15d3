/* The vDSO image (cmake/vdso.cmake builds it for this architecture), embedded whole: map_vdso
   (vdso.cc) copies it into each process. MICA_VDSO_IMAGE is its path in the build directory. */
    .section .rodata.mica_vdso, "a"
    .balign 16
    .globl mica_vdso_image_start
    .hidden mica_vdso_image_start
mica_vdso_image_start:
    .incbin MICA_VDSO_IMAGE
    .globl mica_vdso_image_end
    .hidden mica_vdso_image_end
mica_vdso_image_end:

    .section .note.GNU-stack, "", %progbits
