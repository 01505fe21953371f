// Loading (or, in dev mode, generating) the 32-byte master key that seals connection secrets.
#pragma once

#include <string>

#include "common/status.h"

namespace bp::auth {

struct MasterKeyOptions {
  // An operator-provided key file. Must be a regular file without group/other permissions
  // (mode & 077 == 0) holding 32 raw bytes, 64 hex characters, or base64 of 32 bytes (a trailing
  // newline is allowed for the text forms).
  std::string key_file;
  // Environment variable consulted when key_file is empty: 64 hex characters or base64 of 32 bytes.
  std::string env_var = "BRIDGEPORT_MASTER_KEY";
  // Used when neither key_file nor the environment variable is set: the key lives in
  // `<data_dir>/master.key` (generated on first start, reused afterwards). Empty: no generation.
  std::string data_dir;
};

// Returns the 32 raw key bytes. Precedence: key_file, then env_var, then <data_dir>/master.key.
// Generation creates the file with mode 0600 atomically (written to a temporary file, fsynced,
// then hard-linked into place so a crash never leaves a partial key) and fsyncs the directory;
// if another process created it first, that key is used. Errors (kValidation for bad content or
// permissions, kIoError for OS failures) say which source was used and what is wrong, never the
// key.
StatusOr<std::string> LoadMasterKey(const MasterKeyOptions& options);

}  // namespace bp::auth
