// A fresh directory under /tmp for one test, removed with everything in it
// when the test ends. One helper for every test that needs real files.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace volley::test {

struct TempDir {
  std::string path;
  // `tag` names the directory (/tmp/volley-<tag>-XXXXXX) so a leftover says
  // which test made it.
  explicit TempDir(const std::string& tag) {
    std::string tmpl = "/tmp/volley-" + tag + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace volley::test
