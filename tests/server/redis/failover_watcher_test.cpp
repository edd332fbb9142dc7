// The +switch-master payload a sentinel publishes: "NAME OLD-IP OLD-PORT NEW-IP NEW-PORT".
#include "server/redis/failover_watcher.hpp"

#include <gtest/gtest.h>

namespace newspush::redis {
namespace {

TEST(FailoverWatcher, ParsesASwitchAnnouncement) {
  std::string master, old_primary, new_primary;
  ASSERT_TRUE(FailoverWatcher::parse_switch("newspush 127.0.0.1 6379 127.0.0.2 6380", &master,
                                            &old_primary, &new_primary));
  EXPECT_EQ(master, "newspush");
  EXPECT_EQ(old_primary, "127.0.0.1:6379");
  EXPECT_EQ(new_primary, "127.0.0.2:6380");
  // IPv6 addresses in the form AsyncRedisConnection::address() gives, to compare with it.
  ASSERT_TRUE(
      FailoverWatcher::parse_switch("m ::1 6379 fe80::2 6380", &master, &old_primary, &new_primary));
  EXPECT_EQ(old_primary, "[::1]:6379");
  EXPECT_EQ(new_primary, "[fe80::2]:6380");
}

TEST(FailoverWatcher, RefusesMalformedAnnouncements) {
  std::string master, old_primary, new_primary;
  for (const char* payload : {"", "newspush", "newspush 127.0.0.1 6379 127.0.0.2",
                              "newspush 127.0.0.1 6379 127.0.0.2 6380 extra"})
    EXPECT_FALSE(FailoverWatcher::parse_switch(payload, &master, &old_primary, &new_primary))
        << payload;
}

}  // namespace
}  // namespace newspush::redis
