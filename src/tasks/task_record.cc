#include "tasks/task_record.h"

#include <cstring>

#include "store/store.h"

namespace bp::tasks {

namespace {

constexpr char kVersion = 1;

void PutU32(std::string& out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}
void PutU64(std::string& out, uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out.append(b, 8);
}
void PutStr(std::string& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  bool U32(uint32_t* v) {
    if (d_.size() < 4) return false;
    std::memcpy(v, d_.data(), 4);
    d_.remove_prefix(4);
    return true;
  }
  bool U64(uint64_t* v) {
    if (d_.size() < 8) return false;
    std::memcpy(v, d_.data(), 8);
    d_.remove_prefix(8);
    return true;
  }
  bool Str(std::string* s, bool keep = true) {
    uint32_t n;
    if (!U32(&n) || d_.size() < n) return false;
    if (keep) s->assign(d_.data(), n);
    d_.remove_prefix(n);
    return true;
  }
  bool Byte(char* c) {
    if (d_.empty()) return false;
    *c = d_[0];
    d_.remove_prefix(1);
    return true;
  }

 private:
  std::string_view d_;
};

}  // namespace

std::string TaskKey(uint64_t seq) {
  std::string key = "t";
  store::AppendBigEndian64(key, seq);
  return key;
}

std::optional<uint64_t> SeqFromTaskKey(std::string_view key) {
  if (key.size() != 9 || key[0] != 't') return std::nullopt;
  return store::ReadBigEndian64(key.substr(1));
}

std::string EncodeTask(const TaskRecord& t) {
  std::string out;
  out.reserve(64 + t.bus.size() + t.rule.size() + t.target_id.size() + t.event_id.size() +
              t.last_error_message.size() + t.event_json.size());
  out.push_back(kVersion);
  PutU64(out, t.seq);
  PutU64(out, static_cast<uint64_t>(t.ingestion_ms));
  PutU64(out, static_cast<uint64_t>(t.due_ms));
  PutU32(out, static_cast<uint32_t>(t.retries));
  PutU32(out, static_cast<uint32_t>(t.hops));
  out.push_back(t.oauth_resend ? 1 : 0);
  PutStr(out, t.bus);
  PutStr(out, t.rule);
  PutStr(out, t.target_id);
  PutStr(out, t.event_id);
  PutStr(out, t.last_error_code);
  PutStr(out, t.last_error_message);
  PutStr(out, t.event_json);
  return out;
}

std::optional<TaskRecord> DecodeTask(std::string_view data, bool with_event) {
  Reader r(data);
  TaskRecord t;
  char version, resend;
  uint64_t ing, due;
  uint32_t retries, hops;
  if (!r.Byte(&version) || version != kVersion || !r.U64(&t.seq) || !r.U64(&ing) || !r.U64(&due) ||
      !r.U32(&retries) || !r.U32(&hops) || !r.Byte(&resend) || !r.Str(&t.bus) || !r.Str(&t.rule) ||
      !r.Str(&t.target_id) || !r.Str(&t.event_id) || !r.Str(&t.last_error_code) ||
      !r.Str(&t.last_error_message) || !r.Str(&t.event_json, with_event)) {
    return std::nullopt;
  }
  t.ingestion_ms = static_cast<int64_t>(ing);
  t.due_ms = static_cast<int64_t>(due);
  t.retries = static_cast<int32_t>(retries);
  t.hops = static_cast<int32_t>(hops);
  t.oauth_resend = resend != 0;
  return t;
}

}  // namespace bp::tasks
