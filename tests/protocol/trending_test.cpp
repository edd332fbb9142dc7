#include "protocol/trending.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace newspush::protocol {
namespace {

TEST(TrendingMessage, CarriesTheListBestFirstWithRoundedScores) {
  TrendingList list{"sports",
                    {{"spo-2", "Le derby", "https://exemple.fr/spo-2", "sports", 12.3456},
                     {"spo-1", "Mercato : l'été", "", "sports", 0.004}},
                    1795890100477};
  std::string text = trending_message(list);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_TRUE(text.starts_with(R"({"type":"trending","category":"sports","items":[)")) << text;
  auto json = nlohmann::json::parse(text);
  ASSERT_EQ(json["items"].size(), 2u);
  EXPECT_EQ(json["items"][0]["id"], "spo-2");
  EXPECT_EQ(json["items"][0]["url"], "https://exemple.fr/spo-2");
  EXPECT_DOUBLE_EQ(json["items"][0]["score"].get<double>(), 12.35);
  EXPECT_EQ(json["items"][1]["title"], "Mercato : l'été");
  EXPECT_FALSE(json["items"][1].contains("url"));  // none
  EXPECT_DOUBLE_EQ(json["items"][1]["score"].get<double>(), 0.0);
  EXPECT_EQ(json["at"], 1795890100477);
}

TEST(TrendingMessage, AnUnknownListHasNoItemsAndNoTime) {
  auto json = nlohmann::json::parse(trending_message({"*", {}, std::nullopt}));
  EXPECT_EQ(json["category"], "*");
  EXPECT_TRUE(json["items"].empty());
  EXPECT_FALSE(json.contains("at"));
}

TEST(TrendingMessage, InvalidUtf8InATitleCannotBreakTheFrame) {
  TrendingList list{"culture", {{"c-1", std::string("Caf\xC3", 4), "", "culture", 1}}, 1};
  auto json = nlohmann::json::parse(trending_message(list));  // valid JSON, valid UTF-8
  EXPECT_EQ(json["items"][0]["id"], "c-1");
}

}  // namespace
}  // namespace newspush::protocol
