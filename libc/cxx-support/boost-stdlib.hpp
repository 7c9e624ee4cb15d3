// Boost standard-library description for the kernel (see boost-user.hpp).
#pragma once
#define BOOST_STDLIB "libstdc++ headers, freestanding"
#define BOOST_NO_CXX11_HDR_MUTEX
#define BOOST_NO_CXX11_HDR_THREAD
