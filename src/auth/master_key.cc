#include "auth/master_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "auth/encoding.h"
#include "common/ids.h"

namespace bp::auth {
namespace {

constexpr size_t kKeySize = 32;
constexpr const char* kKeyFileName = "master.key";

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// Text forms: 64 hex chars or base64 of 32 bytes, surrounding whitespace ignored.
StatusOr<std::string> DecodeTextKey(std::string_view text, const std::string& source) {
  while (!text.empty() && std::strchr(" \t\r\n", text.back()) != nullptr) text.remove_suffix(1);
  while (!text.empty() && std::strchr(" \t\r\n", text.front()) != nullptr) text.remove_prefix(1);
  if (text.size() == 2 * kKeySize) {
    if (auto raw = HexDecode(text)) return *raw;
  }
  if (auto raw = Base64Decode(text); raw && raw->size() == kKeySize) return *raw;
  return Status::Validation(source +
                            ": master key must be 64 hex characters or base64 of 32 bytes");
}

StatusOr<std::string> ReadAll(int fd, const std::string& path) {
  std::string data;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(Errno("cannot read master key file", path));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > 4096) break;  // far larger than any valid key
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  return data;
}

StatusOr<std::string> LoadKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::IoError(Errno("cannot open master key file", path));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Status::IoError(Errno("cannot stat master key file", path));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Validation("master key file " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::Validation("master key file " + path + " has mode " + mode +
                              "; it must not be accessible by group or others (chmod 600)");
  }
  auto data = ReadAll(fd, path);
  ::close(fd);
  if (!data.ok()) return data.status();
  std::string& bytes = *data;
  if (bytes.size() == kKeySize) return bytes;  // raw form
  auto key = DecodeTextKey(bytes, "master key file " + path);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  if (!key.ok()) {
    return Status::Validation(key.status().message() + " (or exactly 32 raw bytes; file has " +
                              std::to_string(bytes.size()) + " bytes)");
  }
  return key;
}

Status WriteAllAndSync(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(Errno("cannot write", path));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd) != 0) return Status::IoError(Errno("cannot fsync", path));
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(Errno("cannot open directory", dir));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::IoError(Errno("cannot fsync directory", dir));
  return Status::Ok();
}

// Creates <dir>/master.key if it does not exist. Returns OK if it exists afterwards.
Status GenerateKeyFile(const std::string& dir, const std::string& path) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IoError(Errno("cannot create data directory", dir));
  }
  std::string tmp = path + ".tmp-" + NewUuid();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::IoError(Errno("cannot create", tmp));
  // The umask can only remove bits; fchmod makes 0600 explicit.
  unsigned char raw[kKeySize];
  Status st = Status::Ok();
  if (::fchmod(fd, 0600) != 0) st = Status::IoError(Errno("cannot chmod", tmp));
  if (st.ok() && RAND_bytes(raw, kKeySize) != 1) st = Status::Internal("RAND_bytes failed");
  std::string text;
  if (st.ok()) {
    text = HexEncode(std::string_view(reinterpret_cast<const char*>(raw), kKeySize)) + "\n";
    st = WriteAllAndSync(fd, text, tmp);
  }
  OPENSSL_cleanse(raw, sizeof(raw));
  OPENSSL_cleanse(text.data(), text.size());
  ::close(fd);
  if (st.ok() && ::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    st = Status::IoError(Errno("cannot link master key into place at", path));
  }
  ::unlink(tmp.c_str());
  if (!st.ok()) return st;
  return SyncDir(dir);
}

}  // namespace

StatusOr<std::string> LoadMasterKey(const MasterKeyOptions& options) {
  if (!options.key_file.empty()) return LoadKeyFile(options.key_file);
  if (!options.env_var.empty()) {
    if (const char* env = std::getenv(options.env_var.c_str()); env != nullptr && *env != '\0') {
      return DecodeTextKey(env, "environment variable " + options.env_var);
    }
  }
  if (options.data_dir.empty()) {
    return Status::Validation(
        "no master key configured: set a key file, " +
        (options.env_var.empty() ? std::string("the environment") : options.env_var) +
        ", or a data directory to generate one in");
  }
  std::string path = options.data_dir + "/" + kKeyFileName;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Status::IoError(Errno("cannot stat", path));
    BP_RETURN_IF_ERROR(GenerateKeyFile(options.data_dir, path));
  }
  return LoadKeyFile(path);
}

}  // namespace bp::auth
