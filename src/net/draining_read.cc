#include "net/draining_read.h"

#if defined(TORII_DRAINING_READ)
#include <boost/asio/detail/epoll_reactor.hpp>
#endif

namespace torii::net {

#if defined(TORII_DRAINING_READ)
namespace {

using boost::asio::detail::epoll_reactor;
using DescriptorState = epoll_reactor::descriptor_state;

// The reactor keeps the flag and its lock private. An explicit template
// instantiation may name private members (C++20 [temp.spec.general]/6):
// Expose<Tag, &Class::member> defines, once, a function that hands out the
// member pointer to code that names Tag.
template <class Tag, typename Tag::type Member>
struct Expose {
  friend typename Tag::type member_of(Tag) { return Member; }
};

struct TrySpeculative {
  using type = bool (DescriptorState::*)[epoll_reactor::max_ops];
  friend type member_of(TrySpeculative);
};
template struct Expose<TrySpeculative, &DescriptorState::try_speculative_>;

struct DescriptorMutex {
  using type = boost::asio::detail::conditionally_enabled_mutex DescriptorState::*;
  friend type member_of(DescriptorMutex);
};
template struct Expose<DescriptorMutex, &DescriptorState::mutex_>;

// basic_socket keeps its implementation protected: a member pointer named
// through a derived class reaches it.
struct SocketImpl : TcpSocket {
  static auto& of(TcpSocket& s) { return s.*(&SocketImpl::impl_); }
};

}  // namespace

bool may_have_input(TcpSocket& s) {
  if (!s.is_open()) return true;
  DescriptorState* state = SocketImpl::of(s).get_implementation().reactor_data_;
  if (state == nullptr) return true;
  boost::asio::detail::conditionally_enabled_mutex::scoped_lock lock(state->*member_of(DescriptorMutex{}));
  return (state->*member_of(TrySpeculative{}))[epoll_reactor::read_op];
}

#else

bool may_have_input(TcpSocket&) { return true; }

#endif

}  // namespace torii::net
