// Boost configuration for the kernel (BOOST_USER_CONFIG): freestanding, no exceptions, RTTI
// or threads. The stdlib/platform descriptions replace Boost's probes of a hosted system.
#pragma once
#define BOOST_NO_EXCEPTIONS
#define BOOST_NO_RTTI
#define BOOST_NO_TYPEID
#define BOOST_DISABLE_THREADS
#define BOOST_DISABLE_ASSERTS
#define BOOST_STDLIB_CONFIG "boost-stdlib.hpp"
#define BOOST_PLATFORM_CONFIG "boost-platform.hpp"
