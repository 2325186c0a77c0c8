// A login's password check as every protocol does it (SMTP AUTH, POP3, later
// IMAP): the check on the blocking pool (yescrypt is slow by design), then,
// when it failed, the shared per-address delay (auth::AuthThrottle) before
// the caller may answer.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>
#include <memory>
#include <string>

#include "auth/sasl.hpp"
#include "inbound/intake.hpp"
#include "util/result.hpp"

namespace volley::inbound {

// Resumes on `ex`. Ok: the user's canonical address; errors as Authenticator::check.
asio::awaitable<Result<std::string>> check_login(std::shared_ptr<const Snapshot> snap, asio::thread_pool& pool,
                                                 asio::any_io_executor ex, auth::Credentials credentials,
                                                 std::string client_ip);

}  // namespace volley::inbound
