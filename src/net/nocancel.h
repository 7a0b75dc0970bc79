// sendmsg() and recvmsg() without glibc's thread-cancellation bracket.
//
// glibc's socket wrappers are cancellation points: in a process with more
// than one thread (the gateway always has its control thread), each call
// enables and disables asynchronous cancellation around the syscall. Torii
// never cancels a thread, so that bracket is pure cost on every read and
// write of the data path: 1.1% of a worker's time proxying 1 KiB responses
// (perf record -e cpu-clock: __pthread_disable_asynccancel 0.82%,
// __pthread_enable_asynccancel 0.31%). nginx's single-threaded workers skip
// it by glibc's single-thread test.
//
// These issue the same syscalls through syscall(2), which is not a
// cancellation point. Contract: exactly sendmsg(2) / recvmsg(2), returning
// the byte count or -1 with errno set.
#pragma once

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

namespace torii::net {

inline ssize_t sendmsg_nocancel(int fd, const msghdr* msg, int flags) {
  return ::syscall(SYS_sendmsg, fd, msg, flags);
}

inline ssize_t recvmsg_nocancel(int fd, msghdr* msg, int flags) {
  return ::syscall(SYS_recvmsg, fd, msg, flags);
}

}  // namespace torii::net
