// The on-disk record of the queue log. Pure encode/decode, no I/O.
//
//   offset 0  u32  magic "VQR1" (0x31525156, little-endian)
//          4  u32  payload length
//          8  u32  CRC-32 (zlib) of type byte + payload
//         12  u8   type
//         13  ...  payload
//
// Message payload: u32 envelope length, envelope text (envelope.hpp form),
// then the content bytes. Delete payload: the queue id. Update payload: the
// whole envelope text of a message already in the log (recipient states,
// attempts, next attempt); the newest update of an id wins, the content
// stays in the message record. StoredMessage payload (a large message whose
// body was streamed to its own file, body-<id>, in the queue directory):
// u32 envelope length, envelope text, u64 body size, u32 CRC-32 of the body,
// then the head (the trace headers the server prepended); the content is the
// head followed by the body file's bytes.
// A record is valid only as a whole (magic, length within the file, CRC), so
// a torn write at the tail of the log is recognised and dropped at recovery.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "queue/envelope.hpp"

namespace volley::queue {

inline constexpr uint32_t kRecordMagic = 0x31525156;
inline constexpr size_t kRecordHeader = 13;
// No record may claim more than this (a corrupt length must not make
// recovery allocate gigabytes): the largest message plus envelope room.
inline constexpr uint32_t kMaxRecordPayload = 1u << 30;

enum class RecordType : uint8_t { Message = 1, Delete = 2, Update = 3, StoredMessage = 4 };

std::string encode_message_record(const Message& m);
std::string encode_delete_record(std::string_view id);
std::string encode_update_record(const Envelope& env);

// Where a StoredMessage's body is and how to check it.
struct StoredBody {
  uint64_t size = 0;
  uint32_t crc = 0;  // CRC-32 (zlib) of the body file's bytes
};
std::string encode_stored_message_record(const Envelope& env, std::string_view head, StoredBody body);
// CRC-32 (zlib) continued over more bytes; start with crc32_update(0, {}).
uint32_t crc32_update(uint32_t crc, std::string_view bytes);

struct RecordView {
  RecordType type;
  std::string_view payload;
  size_t total_size;  // header + payload
};

enum class DecodeStatus { Ok, NeedMore, Corrupt };

// Decodes the record at the start of `bytes`. NeedMore: the bytes end inside
// the record (at the tail of a file that means a torn write).
DecodeStatus decode_record(std::string_view bytes, RecordView& out);

// Splits a Message payload; false if malformed.
bool decode_message_payload(std::string_view payload, Envelope& env, std::string_view& content);
// Splits a StoredMessage payload; false if malformed.
bool decode_stored_message_payload(std::string_view payload, Envelope& env, std::string_view& head, StoredBody& body);

}  // namespace volley::queue
