// A scripted in-memory HttpClient for delivery-engine tests.
//
// Every Send() is recorded (request, the time of the call on the given clock) and answered on a
// worker thread of the fake, never on the caller's thread, like the real client. The answer comes
// from a script (a function of the request and its 0-based send index); while "held", requests
// are recorded but not answered until ReleaseHeld() or FailHeld(). The destructor answers every
// request still waiting with kInternal "client shut down" (as the real client does), then joins.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "delivery/http_client.h"

namespace bp::delivery {

class FakeHttpClient final : public HttpClient {
 public:
  using Script = std::function<HttpResult(const HttpRequest& request, size_t index)>;

  struct Recorded {
    HttpRequest request;
    int64_t mono_us = 0;  // clock.MonotonicMicros() when Send() was called
  };

  explicit FakeHttpClient(const Clock& clock) : clock_(clock) {
    RespondWith(200);
    worker_ = std::thread([this] { Work(); });
  }

  ~FakeHttpClient() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      for (auto& p : held_) ready_.push_back(std::move(p));
      held_.clear();
      cv_.notify_all();
    }
    worker_.join();
  }

  FakeHttpClient(const FakeHttpClient&) = delete;
  FakeHttpClient& operator=(const FakeHttpClient&) = delete;

  void Send(HttpRequest request, Done done) override {
    std::lock_guard<std::mutex> lock(mu_);
    size_t index = sent_.size();
    sent_.push_back({request, clock_.MonotonicMicros()});
    Pending p{std::move(request), index, std::move(done)};
    if (hold_ && !stopping_) {
      held_.push_back(std::move(p));
    } else {
      ready_.push_back(std::move(p));
    }
    cv_.notify_all();
  }

  void SetScript(Script script) {
    std::lock_guard<std::mutex> lock(mu_);
    script_ = std::move(script);
  }

  // Every request gets this response.
  void RespondWith(int status, HttpHeaders headers = {}, std::string body = {}) {
    SetScript([status, headers, body](const HttpRequest& req, size_t) {
      return Response(req, status, headers, body);
    });
  }

  // A complete HTTP response to `req`.
  static HttpResult Response(const HttpRequest& req, int status, HttpHeaders headers = {},
                             std::string body = {}) {
    HttpResult r;
    r.kind = HttpResult::Kind::kResponse;
    r.status = status;
    r.host = HostOf(req.url);
    r.headers = std::move(headers);
    r.body_prefix = std::move(body);
    r.duration_us = 1000;
    return r;
  }

  // While held, requests are recorded but not answered.
  void Hold(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = hold;
  }
  // Answers every held request through the script.
  void ReleaseHeld() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& p : held_) ready_.push_back(std::move(p));
    held_.clear();
    cv_.notify_all();
  }
  // Answers every held request with kInternal (as a shut-down client would).
  void FailHeld() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& p : held_) {
      p.fail = true;
      ready_.push_back(std::move(p));
    }
    held_.clear();
    cv_.notify_all();
  }

  size_t SendCount() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_.size();
  }
  // Requests answered so far (their `done` has returned).
  size_t AnsweredCount() const {
    std::lock_guard<std::mutex> lock(mu_);
    return answered_;
  }
  size_t HeldCount() const {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }
  std::vector<Recorded> Sent() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }

  // Waits until at least `n` requests were sent; false on timeout.
  bool WaitForSends(size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return sent_.size() >= n; });
  }
  // Waits until at least `n` requests were answered; false on timeout.
  bool WaitForAnswers(size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return answered_ >= n; });
  }

  static std::string HostOf(const std::string& url) {
    size_t start = url.find("://");
    start = start == std::string::npos ? 0 : start + 3;
    size_t end = url.find_first_of(":/?#", start);
    return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }

 private:
  struct Pending {
    HttpRequest request;
    size_t index = 0;
    Done done;
    bool fail = false;
  };

  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
      if (ready_.empty()) return;  // stopping, nothing left
      Pending p = std::move(ready_.front());
      ready_.pop_front();
      bool fail = p.fail || stopping_;
      Script script = script_;
      lock.unlock();
      HttpResult r;
      if (fail) {
        r.kind = HttpResult::Kind::kInternal;
        r.host = HostOf(p.request.url);
        r.error = "client shut down";
      } else {
        r = script(p.request, p.index);
      }
      p.done(std::move(r));
      lock.lock();
      ++answered_;
      cv_.notify_all();
    }
  }

  const Clock& clock_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Script script_;               // GUARDED_BY(mu_)
  std::vector<Recorded> sent_;  // GUARDED_BY(mu_)
  std::deque<Pending> ready_;   // GUARDED_BY(mu_)
  std::vector<Pending> held_;   // GUARDED_BY(mu_)
  size_t answered_ = 0;         // GUARDED_BY(mu_)
  bool hold_ = false;           // GUARDED_BY(mu_)
  bool stopping_ = false;       // GUARDED_BY(mu_)
  std::thread worker_;
};

}  // namespace bp::delivery
