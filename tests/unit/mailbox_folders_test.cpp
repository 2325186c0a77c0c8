// Maildir++ folders: names validated, create/rename (with children)/delete/list.
#include "mailbox/folders.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "temp_dir.hpp"

namespace volley::mailbox {
namespace {

namespace fs = std::filesystem;

TEST(Folders, NamesAreValidated) {
  for (const char* ok : {"Junk", "Archive.2024", "Sent Items", "&AOk-t&AOk-", "a-b_c+d"})
    EXPECT_TRUE(validate_folder_name(ok)) << ok;
  for (const char* bad : {"", "INBOX", "inbox", ".Junk", "Junk.", "a..b", "a/b", "../x", "a\\b", "a*", "a%", "~x",
                          "tab\there", "\xc3\xa9t\xc3\xa9"})
    EXPECT_FALSE(validate_folder_name(bad)) << bad;
  EXPECT_FALSE(validate_folder_name(std::string(kMaxFolderName + 1, 'a')));
  EXPECT_EQ(*folder_path("/m/box", "Junk"), "/m/box/.Junk");
}

TEST(Folders, CreateRenameDeleteList) {
  test::TempDir t("folders");
  const std::string box = t.path + "/box";
  FileSystem& fsys = posix_file_system();
  ASSERT_TRUE(create_folder(fsys, box, "Archive"));
  ASSERT_TRUE(create_folder(fsys, box, "Archive.2024"));
  ASSERT_TRUE(create_folder(fsys, box, "Junk"));
  EXPECT_EQ(create_folder(fsys, box, "Junk").error().code, ErrorCode::AlreadyExists);
  for (const char* sub : {"/cur", "/new", "/tmp", "/maildirfolder"}) EXPECT_TRUE(fs::exists(box + "/.Archive" + std::string(sub)));
  fs::create_directories(box + "/cur");  // the mailbox's own dirs are not folders
  EXPECT_EQ(*list_folders(box), (std::vector<std::string>{"Archive", "Archive.2024", "Junk"}));

  EXPECT_EQ(rename_folder(fsys, box, "Archive", "Junk").error().code, ErrorCode::AlreadyExists);
  EXPECT_EQ(rename_folder(fsys, box, "Nope", "X").error().code, ErrorCode::NotFound);
  EXPECT_FALSE(rename_folder(fsys, box, "Archive", "Archive.Sub"));
  ASSERT_TRUE(rename_folder(fsys, box, "Archive", "Old"));
  EXPECT_EQ(*list_folders(box), (std::vector<std::string>{"Junk", "Old", "Old.2024"}));

  ASSERT_TRUE(delete_folder(fsys, box, "Old"));
  EXPECT_EQ(*list_folders(box), (std::vector<std::string>{"Junk", "Old.2024"}));
  EXPECT_EQ(delete_folder(fsys, box, "Old").error().code, ErrorCode::NotFound);
  EXPECT_EQ(fs::exists(box + "/..volley-trash." + std::to_string(::getpid()) + ".Old"), false);
}

}  // namespace
}  // namespace volley::mailbox
