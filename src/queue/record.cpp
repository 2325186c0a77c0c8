#include "queue/record.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace volley::queue {
namespace {

void put_u32(std::string& out, uint32_t v) {
  char b[4] = {static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff), static_cast<char>((v >> 16) & 0xff),
               static_cast<char>((v >> 24) & 0xff)};
  out.append(b, 4);
}

uint32_t get_u32(const char* p) {
  auto u = [&](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[i])); };
  return u(0) | (u(1) << 8) | (u(2) << 16) | (u(3) << 24);
}

uint32_t checksum(std::string_view typed_payload) { return crc32_update(0, typed_payload); }

std::string frame(RecordType type, std::string_view payload_a, std::string_view payload_b = {}) {
  std::string rec;
  rec.reserve(kRecordHeader + payload_a.size() + payload_b.size());
  put_u32(rec, kRecordMagic);
  put_u32(rec, static_cast<uint32_t>(payload_a.size() + payload_b.size()));
  put_u32(rec, 0);  // CRC placeholder
  rec += static_cast<char>(type);
  rec.append(payload_a);
  rec.append(payload_b);
  uint32_t crc = checksum(std::string_view(rec).substr(12));
  std::string c;
  put_u32(c, crc);
  rec.replace(8, 4, c);
  return rec;
}
}  // namespace

uint32_t crc32_update(uint32_t crc_in, std::string_view bytes) {
  uLong crc = crc_in;
  // zlib takes uInt lengths: feed in pieces so 4 GiB never overflows.
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    uInt n = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(p), n);
    p += n;
    left -= n;
  }
  return static_cast<uint32_t>(crc);
}

std::string encode_message_record(const Message& m) {
  std::string env = serialize_envelope(m.envelope);
  std::string head;
  put_u32(head, static_cast<uint32_t>(env.size()));
  head += env;
  return frame(RecordType::Message, head, m.content);
}

std::string encode_stored_message_record(const Envelope& env, std::string_view head, StoredBody body) {
  std::string text = serialize_envelope(env);
  std::string fixed;
  put_u32(fixed, static_cast<uint32_t>(text.size()));
  fixed += text;
  put_u32(fixed, static_cast<uint32_t>(body.size & 0xffffffffu));
  put_u32(fixed, static_cast<uint32_t>(body.size >> 32));
  put_u32(fixed, body.crc);
  return frame(RecordType::StoredMessage, fixed, head);
}

std::string encode_delete_record(std::string_view id) { return frame(RecordType::Delete, id); }

std::string encode_update_record(const Envelope& env) { return frame(RecordType::Update, serialize_envelope(env)); }

DecodeStatus decode_record(std::string_view bytes, RecordView& out) {
  if (bytes.size() < kRecordHeader) return DecodeStatus::NeedMore;
  if (get_u32(bytes.data()) != kRecordMagic) return DecodeStatus::Corrupt;
  uint32_t len = get_u32(bytes.data() + 4);
  if (len > kMaxRecordPayload) return DecodeStatus::Corrupt;
  uint8_t type = static_cast<uint8_t>(bytes[12]);
  if (type < static_cast<uint8_t>(RecordType::Message) || type > static_cast<uint8_t>(RecordType::StoredMessage))
    return DecodeStatus::Corrupt;
  if (bytes.size() < kRecordHeader + static_cast<size_t>(len)) return DecodeStatus::NeedMore;
  if (checksum(bytes.substr(12, 1 + static_cast<size_t>(len))) != get_u32(bytes.data() + 8)) return DecodeStatus::Corrupt;
  out.type = static_cast<RecordType>(type);
  out.payload = bytes.substr(kRecordHeader, len);
  out.total_size = kRecordHeader + len;
  return DecodeStatus::Ok;
}

bool decode_message_payload(std::string_view payload, Envelope& env, std::string_view& content) {
  if (payload.size() < 4) return false;
  uint32_t env_len = get_u32(payload.data());
  if (env_len > payload.size() - 4) return false;
  if (!parse_envelope(payload.substr(4, env_len), env)) return false;
  content = payload.substr(4 + env_len);
  return true;
}

bool decode_stored_message_payload(std::string_view payload, Envelope& env, std::string_view& head, StoredBody& body) {
  std::string_view rest;
  if (!decode_message_payload(payload, env, rest) || rest.size() < 12) return false;
  body.size = static_cast<uint64_t>(get_u32(rest.data())) | (static_cast<uint64_t>(get_u32(rest.data() + 4)) << 32);
  body.crc = get_u32(rest.data() + 8);
  head = rest.substr(12);
  return true;
}

}  // namespace volley::queue
