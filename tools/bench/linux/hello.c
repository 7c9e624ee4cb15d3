/*
 * hello.c - the programs tools/bench/dynamic starts: built static (the reference point), and
 * dynamically linked against glibc and musl, so the differences are the dynamic linking.
 */
#include <stdio.h>

int main(void)
{
	puts("hello");
	return 0;
}
