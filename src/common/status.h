// Status and StatusOr: the error model used across every module boundary.
//
// A Status is either OK or an error code plus a human-readable message. The codes are chosen so
// that the api/ layer can map each one to exactly one AWS exception name; modules never name AWS
// exception strings themselves except through these codes.
//
// An error may also carry a typed detail: a module's finer kind of error (an SQS error kind, a
// delivery error code) for callers that branch on it, so that nobody parses a message. The
// detail's domain says whose enum its value belongs to; it is never part of message().
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace bp {

enum class StatusCode {
  kOk = 0,
  kValidation,              // ValidationException
  kSerialization,           // SerializationException (wrong JSON types in a request)
  kNotFound,                // ResourceNotFoundException
  kAlreadyExists,           // ResourceAlreadyExistsException
  kLimitExceeded,           // LimitExceededException
  kInvalidEventPattern,     // InvalidEventPatternException
  kConcurrentModification,  // ConcurrentModificationException
  kIllegalStatus,           // IllegalStatusException
  kInvalidState,            // InvalidStateException
  kOperationDisabled,       // OperationDisabledException
  kPolicyLengthExceeded,    // PolicyLengthExceededException
  kThrottled,               // ThrottlingException
  kUnavailable,             // service starting/draining, store full (retryable)
  kIoError,                 // the store or a file failed
  kCorruption,              // stored data could not be decoded
  kInternal,                // InternalException: a bug
};

std::string_view StatusCodeName(StatusCode code);

// Whose enum a Status detail's value is.
enum class DetailDomain : uint8_t {
  kNone = 0,
  kQueue,     // queue::ErrorKind (queue/queue_errors.h)
  kDelivery,  // DeliveryErrorCode (common/delivery_error_code.h)
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status Validation(std::string m) { return {StatusCode::kValidation, std::move(m)}; }
  static Status Serialization(std::string m) { return {StatusCode::kSerialization, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status LimitExceeded(std::string m) { return {StatusCode::kLimitExceeded, std::move(m)}; }
  static Status InvalidEventPattern(std::string m) {
    return {StatusCode::kInvalidEventPattern, std::move(m)};
  }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // The same error with a typed detail, e.g. `Status::Validation(m).WithDetail(domain, v)`.
  Status WithDetail(DetailDomain domain, uint16_t value) && {
    detail_domain_ = domain;
    detail_value_ = value;
    return std::move(*this);
  }
  // The detail's value if this is an error with a detail in `domain`.
  std::optional<uint16_t> Detail(DetailDomain domain) const {
    if (ok() || domain == DetailDomain::kNone || detail_domain_ != domain) return std::nullopt;
    return detail_value_;
  }

  // Marks a status as deliberately ignored.
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  DetailDomain detail_domain_ = DetailDomain::kNone;
  uint16_t detail_value_ = 0;
  std::string message_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : data_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(data_).ok());
  }
  StatusOr(T value) : data_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(data_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(data_); }

  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> data_;
};

}  // namespace bp

#define BP_CONCAT_INNER(a, b) a##b
#define BP_CONCAT(a, b) BP_CONCAT_INNER(a, b)

// Returns early from the enclosing function when `expr` yields a non-OK Status.
#define BP_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::bp::Status bp_status_ = (expr);        \
    if (!bp_status_.ok()) return bp_status_; \
  } while (0)

// `BP_ASSIGN_OR_RETURN(auto x, Foo())`: unwraps a StatusOr or returns its Status.
#define BP_ASSIGN_OR_RETURN(lhs, expr) \
  BP_ASSIGN_OR_RETURN_IMPL(BP_CONCAT(bp_or_, __LINE__), lhs, expr)
#define BP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
