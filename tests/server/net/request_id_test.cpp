#include "server/net/request_id.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace newspush {
namespace {

TEST(RequestId, SaneIncomingIdsAreKept) {
  for (const std::string& id : std::vector<std::string>{
           "abc-123", "f47ac10b-58cc-4372-a567-0e02b2c3d479",
           "Root=1-67891233-abcdef012345678912345678", "dGVzdA==", "a_b.c:d+e/f@g",
           std::string(kMaxRequestIdLength, 'x')}) {
    EXPECT_TRUE(is_acceptable_request_id(id)) << id;
    EXPECT_EQ(request_id_for(id), id);
  }
}

TEST(RequestId, OthersAreReplacedByANewOne) {
  for (const std::string& id : std::vector<std::string>{
           std::string(), std::string(kMaxRequestIdLength + 1, 'x'), std::string("has space"),
           std::string("quote\""), std::string("a\nb"), std::string("semi;colon"),
           std::string("caf\xC3\xA9"), std::string("nul\0x", 5)}) {
    EXPECT_FALSE(is_acceptable_request_id(id)) << id;
    const std::string replaced = request_id_for(id);
    EXPECT_NE(replaced, id);
    EXPECT_TRUE(is_acceptable_request_id(replaced)) << replaced;
  }
}

TEST(RequestId, NewOnesAreUniqueShortAndShareTheProcessPrefix) {
  std::set<std::string> seen;
  const std::string first = new_request_id();
  const std::string prefix = first.substr(0, first.find('-') + 1);
  EXPECT_EQ(prefix.size(), 9u) << first;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = new_request_id();
    EXPECT_TRUE(is_acceptable_request_id(id)) << id;
    EXPECT_EQ(id.rfind(prefix, 0), 0u) << id;
    EXPECT_LE(id.size(), 15u) << "kept in std::string's inline buffer: " << id;
    EXPECT_TRUE(seen.insert(id).second) << "repeated: " << id;
  }
}

}  // namespace
}  // namespace newspush
