// glibc feature macros that libstdc++ configuration headers test; there is no glibc here.
#pragma once
#define __GLIBC_PREREQ(major, minor) 0
