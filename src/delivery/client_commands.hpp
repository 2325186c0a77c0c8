// Command lines the outbound client sends (RFC 5321 4.1 with the ESMTP
// parameters of RFC 1870, 6152, 6531, 3461, 4954, 3030) and the DATA payload.
// Every function returns complete lines ending in CRLF. Values interpolated
// into a command (addresses, names) have control bytes removed, so nothing
// stored in the queue can ever inject a second command line.
// xtext (RFC 3461 4) encoding is smtp::encode_xtext from smtp/command.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "queue/envelope.hpp"
#include "delivery/client_capabilities.hpp"

namespace volley::delivery {

inline constexpr std::string_view kDataCommand = "DATA\r\n";
inline constexpr std::string_view kQuitCommand = "QUIT\r\n";
inline constexpr std::string_view kRsetCommand = "RSET\r\n";
inline constexpr std::string_view kNoopCommand = "NOOP\r\n";
inline constexpr std::string_view kStartTlsCommand = "STARTTLS\r\n";
inline constexpr std::string_view kAuthLoginCommand = "AUTH LOGIN\r\n";

std::string ehlo_command(std::string_view name);
std::string helo_command(std::string_view name);

// "MAIL FROM:<sender>[ SIZE=n][ BODY=8BITMIME][ SMTPUTF8][ RET=FULL|HDRS][ ENVID=xtext]\r\n"
//  - SIZE=content_size only if caps.size;
//  - BODY=8BITMIME if the client declared it (env.eight_bit) or the content
//    has 8-bit bytes (`eight_bit_content`, from scan_content), and caps.eight_bit_mime;
//  - SMTPUTF8 if envelope_needs_smtputf8(env) and caps.smtputf8;
//  - RET / ENVID only if caps.dsn and set on the envelope (RET only FULL or HDRS).
std::string mail_from_command(const queue::Envelope& env, uint64_t content_size, const ServerCapabilities& caps,
                              bool eight_bit_content = false);

// "RCPT TO:<address>[ NOTIFY=NEVER|SUCCESS,FAILURE,DELAY][ ORCPT=type;value]\r\n"
// DSN parameters only when caps.dsn and set on the recipient. ORCPT values:
// "rfc822" (and other atom types) as xtext; "utf-8" as utf-8-addr-xtext
// (RFC 6533 3: "\x{HEX}" for non-ASCII and '+', '=', '\'). An ORCPT that
// cannot be expressed (bad type, invalid UTF-8) is left out: it is optional.
std::string rcpt_to_command(const queue::Recipient& rcpt, const ServerCapabilities& caps);

// "AUTH PLAIN <base64(\0user\0password)>\r\n" (RFC 4616, initial response RFC 4954 4).
std::string auth_plain_command(std::string_view user, std::string_view password);
// A base64 answer to a 334 challenge (AUTH LOGIN user name, then password).
std::string sasl_response(std::string_view value);

// "BDAT <size>[ LAST]\r\n" (RFC 3030); the chunk's bytes follow unchanged.
std::string bdat_command(uint64_t chunk_size, bool last);

// Appends `content` as the DATA payload, ending with ".\r\n":
//  - line endings are normalised to CRLF: CRLF stays, a bare LF and a bare CR
//    each become CRLF. Bare CR is a line break too (not passed through), so the
//    receiver sees CRLF-only data and no CR/LF mix it could read as an early
//    end of data (SMTP smuggling). The queue holds CRLF-only content, so for
//    it this changes nothing.
//  - every line starting with '.' gets one more '.' (RFC 5321 4.5.2);
//  - content not ending in a line break gets a CRLF before the final ".\r\n";
//    empty content gives just ".\r\n" (an empty message).
void append_data_payload(std::string& out, std::string_view content);

}  // namespace volley::delivery
