#include "common/status.h"

#include <gtest/gtest.h>

namespace bp {
namespace {

StatusOr<int> Half(int v) {
  if (v % 2 != 0) return Status::Validation("odd");
  return v / 2;
}

StatusOr<int> Quarter(int v) {
  BP_ASSIGN_OR_RETURN(int h, Half(v));
  return Half(h);
}

TEST(StatusTest, OkAndError) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = Status::NotFound("gone");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "NotFound: gone");
}

TEST(StatusTest, AssignOrReturnPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), StatusCode::kValidation);
  EXPECT_EQ(Quarter(3).status().message(), "odd");
}

TEST(StatusTest, DetailBelongsToItsDomainAndSurvivesCopies) {
  Status s = Status::Validation("bad").WithDetail(DetailDomain::kQueue, 7);
  EXPECT_EQ(s.code(), StatusCode::kValidation);
  EXPECT_EQ(s.message(), "bad");  // the detail is not part of the message
  EXPECT_EQ(s.Detail(DetailDomain::kQueue), 7);
  EXPECT_FALSE(s.Detail(DetailDomain::kDelivery).has_value());
  EXPECT_FALSE(s.Detail(DetailDomain::kNone).has_value());
  StatusOr<int> carried = s;
  EXPECT_EQ(carried.status().Detail(DetailDomain::kQueue), 7);
  EXPECT_FALSE(Status::Validation("bad").Detail(DetailDomain::kQueue).has_value());
}

}  // namespace
}  // namespace bp
