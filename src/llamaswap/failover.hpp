// Private: how the router reads a failed call (docs/decisions/0008, "Failures").
#pragma once

#include <majordomo/error.hpp>

namespace majordomo::llamaswap::detail {

/// The host provably never got the request: no connection was made, or its write failed (the
/// transport sets diagnostics::request_not_sent). The call may go to another host.
bool never_sent(const error& e) noexcept;

/// The connection died without an answer after the request went out: the host is probably gone,
/// but it may have acted on the call, so the call is not sent elsewhere.
bool lost_after_sending(const error& e) noexcept;

} // namespace majordomo::llamaswap::detail
