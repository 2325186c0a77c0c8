// Queue ids: 20 characters of base32hex (0-9, A-V), sortable by creation time
// and unique across restarts and threads: 52 bits of microseconds since the
// epoch, 28 bits of a process-random start advanced atomically per id, and
// 20 bits of random fill chosen once per process.
// Plain ASCII without look-alike punctuation, so ids are safe in file names,
// logs and Received headers.
#pragma once

#include <string>

namespace volley::queue {

std::string make_queue_id();
bool is_valid_queue_id(std::string_view id);

}  // namespace volley::queue
