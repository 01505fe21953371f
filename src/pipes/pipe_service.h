// PipeService: the EventBridge Pipes control plane (CRUD, states, tags) and the runners.
//
// Each operation takes the decoded REST request (path name + JSON body or query) and returns the
// AWS response object. Errors: kValidation → ValidationException, kNotFound → NotFoundException,
// kAlreadyExists / kConcurrentModification → ConflictException, kLimitExceeded →
// ServiceQuotaExceededException.
//
// States: a change is written (fsynced) in its transitional state (CREATING, STARTING, STOPPING,
// UPDATING, DELETING) before the call returns; the control thread then stops/starts the runner
// and writes the final state (RUNNING, STOPPED, CREATE_FAILED/START_FAILED/UPDATE_FAILED with a
// StateReason, or deletes the record). A restart resumes any transition found in the store, so
// states survive restarts and kill -9.
//
// Threads: all public methods are thread-safe (one mutex over the records). One control thread
// performs transitions; each running pipe has a PipeRunner thread.
#pragma once

#include <boost/json/object.hpp>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "pipes/pipe_runner.h"

namespace bp::pipes {

struct PipeServiceOptions {
  int max_pipes = 1000;
};

class PipeService {
 public:
  using Json = boost::json::object;
  using Query = std::map<std::string, std::string>;

  // Loads every stored pipe and starts the control thread (which resumes runners).
  static StatusOr<std::unique_ptr<PipeService>> Open(PipeDeps deps, PipeServiceOptions options);
  ~PipeService();

  StatusOr<Json> CreatePipe(const std::string& name, const Json& body);
  StatusOr<Json> DescribePipe(const std::string& name);
  StatusOr<Json> UpdatePipe(const std::string& name, const Json& body);
  StatusOr<Json> DeletePipe(const std::string& name);
  StatusOr<Json> ListPipes(const Query& query);
  StatusOr<Json> StartPipe(const std::string& name);
  StatusOr<Json> StopPipe(const std::string& name);
  StatusOr<Json> TagResource(const std::string& arn, const Json& body);
  StatusOr<Json> UntagResource(const std::string& arn, const std::vector<std::string>& keys);
  StatusOr<Json> ListTagsForResource(const std::string& arn);

  // Stops every runner (abandoning outstanding calls) and the control thread.
  void Stop();

 private:
  struct Entry {
    Json record;
    std::unique_ptr<PipeRunner> runner;
  };

  PipeService(PipeDeps deps, PipeServiceOptions options);
  Status Load();
  void ControlLoop();
  // Advances one pipe's transition (control thread; takes and releases mu_).
  void Advance(const std::string& name);
  // Callers hold mu_.
  Status Persist(const Json& record);
  // Persists a changed record, publishes it and hands the transition to the control thread.
  StatusOr<Json> CommitChange(const std::string& name, Entry& e, Json record);
  Entry* Find(const std::string& name);
  StatusOr<Entry*> FindForChange(const std::string& name);
  std::string NameFromArn(const std::string& arn) const;
  void Poke(const std::string& name);
  void SetStateGauges(const std::string& name, std::string_view state);

  PipeDeps d_;
  const PipeServiceOptions options_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>> pipes_;  // GUARDED_BY(mu_)
  std::set<std::string> pending_;                        // GUARDED_BY(mu_)
  bool stopping_ = false;                                // GUARDED_BY(mu_)
  std::condition_variable cv_;
  std::thread control_;
};

}  // namespace bp::pipes
