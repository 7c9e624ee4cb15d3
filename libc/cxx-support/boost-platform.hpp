// Boost platform description for the kernel (see boost-user.hpp).
#pragma once
#define BOOST_PLATFORM "Mica kernel"
