// The ConsoleService implementation class (definitions in console_service.cc, overview.cc,
// dead_letters.cc and console_tools.cc).
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "console/redrive.h"

namespace bp::console {

// Seconds of per-destination start history kept for the overview chart.
inline constexpr size_t kHistorySeconds = 300;

struct DestinationHistory {
  double last_total = -1;   // counter value at the previous sample (-1: none yet)
  std::deque<int> starts;   // starts per second, oldest first
  std::deque<int> limits;   // the limit in force at each sample
  int64_t last_second = 0;  // epoch second of the newest sample
};

class ConsoleServiceImpl final : public ConsoleService {
 public:
  explicit ConsoleServiceImpl(ConsoleDeps deps) : d_(deps), redriver_(deps) {}
  ~ConsoleServiceImpl() override { Stop(); }

  Status Init();
  void HandleAdmin(const http::Request& req, http::Responder respond) override;
  void Stop() override;

 private:
  // overview.cc
  void SampleLoop();
  void Sample(int64_t now_s);
  json::object Overview();
  json::array Destinations();
  // dead_letters.cc
  json::array DeadLetterQueues();
  void ListMessages(const std::string& queue, std::string_view query, http::Responder respond);
  // console_tools.cc
  void TestPattern(const std::string& body, http::Responder respond);
  void ConnectionAction(const std::string& name, const std::string& action, const std::string& body,
                        http::Responder respond);
  void Destination(const std::string& name, http::Responder respond);
  void SetRateLimit(const std::string& name, const std::string& body, http::Responder respond);

  const ConsoleDeps d_;
  Redriver redriver_;

  std::mutex history_mu_;
  std::condition_variable history_cv_;
  std::map<std::string, DestinationHistory> history_;  // GUARDED_BY(history_mu_)
  bool stopping_ = false;                              // GUARDED_BY(history_mu_)
  std::thread sampler_;
};

// Every page of a registry List* call: `key` is the list member ("EventBuses", "Rules", ...).
json::array ListAll(const std::function<StatusOr<json::object>(const json::object&)>& list,
                    json::object in, const char* key);

}  // namespace bp::console
