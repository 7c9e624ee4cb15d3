// AF_UNIX: local sockets in the kernel (net/unix/), independent of the network stack, so a
// kernel built without networking still has socketpair and local sockets. Registered in
// the family table (socket.cc).
#pragma once

#include <mica/net/socket.h>

namespace mica::net {

int unix_create(int type, int protocol, Socket** out);
int unix_create_pair(int type, int protocol, Socket** first, Socket** second);

}  // namespace mica::net
