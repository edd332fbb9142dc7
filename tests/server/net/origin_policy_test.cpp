#include "server/net/origin_policy.hpp"

#include <gtest/gtest.h>

namespace newspush {
namespace {

TEST(OriginPolicy, NoPatternAllowsEveryOrigin) {
  OriginPolicy policy;
  EXPECT_FALSE(policy.restricted());
  EXPECT_TRUE(policy.allows("https://anything.example"));
}

TEST(OriginPolicy, ExactOriginsMatchWholeAndCaseInsensitively) {
  OriginPolicy policy;
  ASSERT_EQ(policy.add("https://www.Example.org"), "");
  ASSERT_EQ(policy.add("http://127.0.0.1:8080/"), "");  // a trailing slash is tolerated
  EXPECT_TRUE(policy.allows("https://www.example.org"));
  EXPECT_TRUE(policy.allows("HTTPS://WWW.EXAMPLE.ORG"));
  EXPECT_TRUE(policy.allows("http://127.0.0.1:8080"));
  EXPECT_FALSE(policy.allows("http://www.example.org"));
  EXPECT_FALSE(policy.allows("https://www.example.org:8443"));
  EXPECT_FALSE(policy.allows("https://www.example.org.evil.com"));
  EXPECT_FALSE(policy.allows("http://127.0.0.1:80800"));
  EXPECT_FALSE(policy.allows("null"));
}

TEST(OriginPolicy, AWildcardCoversEverySubdomainButNotTheDomainItself) {
  OriginPolicy policy;
  ASSERT_EQ(policy.add("https://*.example.org"), "");
  EXPECT_TRUE(policy.allows("https://news.example.org"));
  EXPECT_TRUE(policy.allows("https://a.b.example.org"));
  EXPECT_FALSE(policy.allows("https://example.org"));
  EXPECT_FALSE(policy.allows("https://.example.org"));
  EXPECT_FALSE(policy.allows("https://a..example.org"));  // '.' ends the label before the suffix
  EXPECT_FALSE(policy.allows("http://news.example.org"));
  EXPECT_FALSE(policy.allows("https://news.example.org:8443"));
  EXPECT_FALSE(policy.allows("https://evil.org/.example.org"));
  EXPECT_FALSE(policy.allows("https://notexample.org"));
}

TEST(OriginPolicy, ARequestWithoutOriginIsNotFromABrowserAndPasses) {
  OriginPolicy policy;
  ASSERT_EQ(policy.add("https://www.example.org"), "");
  EXPECT_TRUE(policy.allows(""));
}

TEST(OriginPolicy, MalformedPatternsAreRefusedWithAReason) {
  for (const char* bad : {"www.example.org", "https://", "https://*.", "https://a.org/path",
                          "://x.org", "https://a b.org",
                          // Found by fuzz/origin_fuzz: the scheme was not checked at all.
                          "https:?/evil.org/http://a.org", "1http://a.org", "ht tp://a.org"})
    EXPECT_NE(OriginPolicy().add(bad), "") << bad;
}

}  // namespace
}  // namespace newspush
