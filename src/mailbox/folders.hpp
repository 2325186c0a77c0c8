// Maildir++ folders (the layout Dovecot and Courier use): the folder
// "Archive.2024" of a mailbox is the Maildir <mailbox>/.Archive.2024 with an
// empty "maildirfolder" file; '.' separates the hierarchy, and a child lives
// beside its parent (".Archive" and ".Archive.2024"), not inside it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/file_system.hpp"
#include "util/result.hpp"

namespace volley::mailbox {

inline constexpr size_t kMaxFolderName = 200;  // ".<name>" plus Dovecot's suffixes stay under NAME_MAX

// A folder name as stored (IMAP's modified UTF-7 is ASCII): 1..200 bytes,
// '.'-separated non-empty parts, printable ASCII without '/', '\', '*',
// '%' or '~'; never "INBOX" (any case), which is the mailbox itself.
// ErrorCode::Invalid when refused.
Result<void> validate_folder_name(std::string_view name);

// <maildir>/.<name> after validation.
Result<std::string> folder_path(std::string_view maildir, std::string_view name);

// Creates the folder (tmp/, new/, cur/ and maildirfolder). AlreadyExists if it does.
Result<void> create_folder(FileSystem& fs, const std::string& maildir, std::string_view name);

// Renames the folder and every child (".From.X" -> ".To.X"). NotFound if
// `from` does not exist, AlreadyExists if `to` (or a child's new name) does.
Result<void> rename_folder(FileSystem& fs, const std::string& maildir, std::string_view from, std::string_view to);

// Deletes the folder and its messages; its children stay (as IMAP DELETE
// does). It is first renamed out of sight, so a crash midway leaves no
// half-deleted folder visible.
Result<void> delete_folder(FileSystem& fs, const std::string& maildir, std::string_view name);

// The folders of a mailbox, sorted by name.
Result<std::vector<std::string>> list_folders(const std::string& maildir);

}  // namespace volley::mailbox
