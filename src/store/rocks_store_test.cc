#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "store/store.h"

namespace bp::store {
namespace {

class RocksStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bp_store_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Store> Open() {
    auto s = OpenRocksStore({.path = dir_.string()});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(s).value();
  }
  std::filesystem::path dir_;
};

TEST_F(RocksStoreTest, WriteGetScanAcrossReopen) {
  {
    auto store = Open();
    WriteBatch b;
    b.Put(Family::kMeta, "bus/a", "1");
    b.Put(Family::kMeta, "bus/b", "2");
    b.Put(Family::kTasks, "bus/a", "task");
    ASSERT_TRUE(store->Write(std::move(b)).ok());
  }
  auto store = Open();
  auto v = store->Get(Family::kMeta, "bus/a");
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ(**v, "1");
  auto missing = store->Get(Family::kEvents, "bus/a");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  std::vector<std::string> keys;
  ASSERT_TRUE(store
                  ->Scan(Family::kMeta, "bus/", PrefixEnd("bus/"),
                         [&](auto k, auto) {
                           keys.emplace_back(k);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"bus/a", "bus/b"}));
}

TEST_F(RocksStoreTest, DeleteAndDeleteRange) {
  auto store = Open();
  WriteBatch b;
  for (int i = 0; i < 10; ++i) b.Put(Family::kTasks, "t/" + std::to_string(i), "x");
  ASSERT_TRUE(store->Write(std::move(b)).ok());
  WriteBatch d;
  d.Delete(Family::kTasks, "t/0");
  d.DeleteRange(Family::kTasks, "t/1", "t/5");
  ASSERT_TRUE(store->Write(std::move(d)).ok());
  int count = 0;
  ASSERT_TRUE(store
                  ->Scan(Family::kTasks, "", "",
                         [&](auto, auto) {
                           ++count;
                           return true;
                         })
                  .ok());
  EXPECT_EQ(count, 5);
}

TEST_F(RocksStoreTest, ConcurrentAsyncWritesAllComplete) {
  auto store = Open();
  constexpr int kThreads = 4, kPerThread = 200;
  std::atomic<int> done{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        WriteBatch b;
        b.Put(Family::kEvents, std::to_string(t) + "/" + std::to_string(i), "v");
        store->WriteAsync(std::move(b), [&](Status s) {
          if (!s.ok()) failed++;
          done++;
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  store.reset();  // drains the queue before closing
  EXPECT_EQ(done.load(), kThreads * kPerThread);
  EXPECT_EQ(failed.load(), 0);
  auto reopened = Open();
  int count = 0;
  ASSERT_TRUE(reopened
                  ->Scan(Family::kEvents, "", "",
                         [&](auto, auto) {
                           ++count;
                           return true;
                         })
                  .ok());
  EXPECT_EQ(count, kThreads * kPerThread);
}

TEST(KeyEncodingTest, BigEndianOrdersNumerically) {
  std::string a, b;
  AppendBigEndian64(a, 255);
  AppendBigEndian64(b, 256);
  EXPECT_LT(a, b);
  EXPECT_EQ(ReadBigEndian64(b), 256u);
  EXPECT_EQ(PrefixEnd("ab"), "ac");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
}

}  // namespace
}  // namespace bp::store
