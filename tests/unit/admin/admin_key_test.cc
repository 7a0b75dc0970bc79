// The admin key bootstrap: a key generated once with mode 0600 and read back
// later; key files others can read, empty or garbled ones are refused with
// an error naming the file and the fix.
#include "admin/admin_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace torii::admin {
namespace {

class AdminKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/torii-admin-key-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/admin_key";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write_file(const std::string& content, mode_t mode) {
    std::ofstream(path_) << content;
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
  }

  std::string dir_;
  std::string path_;
};

bool is_lower_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST_F(AdminKeyTest, first_start_generates_a_random_key_with_mode_0600) {
  bool generated = false;
  auto key = load_or_generate_admin_key(path_, generated);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_TRUE(generated);
  EXPECT_EQ(key->size(), kGeneratedKeyLength);
  EXPECT_TRUE(is_lower_hex(*key)) << *key;

  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  std::ifstream in(path_);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, *key);
}

TEST_F(AdminKeyTest, second_start_reads_the_same_key_back) {
  bool generated = false;
  auto first = load_or_generate_admin_key(path_, generated);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(generated);
  auto second = load_or_generate_admin_key(path_, generated);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(generated);
  EXPECT_EQ(*second, *first);
}

TEST_F(AdminKeyTest, two_fresh_installs_get_different_keys) {
  bool generated = false;
  auto a = load_or_generate_admin_key(path_, generated);
  auto b = load_or_generate_admin_key(dir_ + "/other_key", generated);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST_F(AdminKeyTest, operator_written_key_is_used_and_whitespace_trimmed) {
  write_file("  my-own-admin-key-0123456789\n\n", 0600);
  bool generated = true;
  auto key = load_or_generate_admin_key(path_, generated);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_FALSE(generated);
  EXPECT_EQ(*key, "my-own-admin-key-0123456789");
}

TEST_F(AdminKeyTest, refuses_a_key_file_others_can_read) {
  write_file("0123456789abcdef0123456789abcdef\n", 0644);
  bool generated = true;
  auto key = load_or_generate_admin_key(path_, generated);
  ASSERT_FALSE(key.ok());
  EXPECT_FALSE(generated);
  EXPECT_NE(key.error().message.find(path_), std::string::npos) << key.error().message;
  EXPECT_NE(key.error().message.find("chmod 600 " + path_), std::string::npos)
      << key.error().message;
  EXPECT_NE(key.error().message.find("0644"), std::string::npos) << key.error().message;
}

TEST_F(AdminKeyTest, refuses_group_readable_too) {
  write_file("0123456789abcdef0123456789abcdef\n", 0640);
  bool generated = false;
  EXPECT_FALSE(load_or_generate_admin_key(path_, generated).ok());
}

TEST_F(AdminKeyTest, refuses_an_empty_key_file) {
  write_file("\n", 0600);
  bool generated = false;
  auto key = load_or_generate_admin_key(path_, generated);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.error().message.find("is empty"), std::string::npos) << key.error().message;
  EXPECT_NE(key.error().message.find(path_), std::string::npos);
}

TEST_F(AdminKeyTest, refuses_a_garbled_key_file) {
  bool generated = false;
  write_file("two words here and more\n", 0600);
  EXPECT_FALSE(load_or_generate_admin_key(path_, generated).ok());
  write_file(std::string("0123456789abcdef\x01\x02", 18), 0600);
  EXPECT_FALSE(load_or_generate_admin_key(path_, generated).ok());
  write_file("short\n", 0600);  // weak
  auto key = load_or_generate_admin_key(path_, generated);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.error().message.find("not hold a valid key"), std::string::npos)
      << key.error().message;
}

TEST_F(AdminKeyTest, refuses_a_directory_and_a_symlink) {
  bool generated = false;
  std::filesystem::create_directory(path_);
  EXPECT_FALSE(load_or_generate_admin_key(path_, generated).ok());
  std::filesystem::remove(path_);
  const std::string target = dir_ + "/target";
  std::ofstream(target) << "0123456789abcdef0123456789abcdef\n";
  ::chmod(target.c_str(), 0600);
  std::filesystem::create_symlink(target, path_);
  auto key = load_or_generate_admin_key(path_, generated);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.error().message.find("symbolic link"), std::string::npos) << key.error().message;
}

TEST_F(AdminKeyTest, missing_directory_is_a_clear_error) {
  bool generated = false;
  auto key = load_or_generate_admin_key(dir_ + "/nope/admin_key", generated);
  ASSERT_FALSE(key.ok());
  EXPECT_FALSE(generated);
  EXPECT_NE(key.error().message.find(dir_ + "/nope/admin_key"), std::string::npos);
  EXPECT_NE(key.error().message.find("cannot create"), std::string::npos) << key.error().message;
}

}  // namespace
}  // namespace torii::admin
