/* First link pass: an empty symbol table (tools/gen-ksyms.py writes the real one). */
    .section .ksyms, "a"
    .balign 8
    .globl mica_ksyms
    .hidden mica_ksyms
mica_ksyms:
    .quad 0

    .section .note.GNU-stack, "", @progbits
