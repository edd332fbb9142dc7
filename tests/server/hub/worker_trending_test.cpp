// Which connections of a worker get a trending list, and what the worker keeps for newcomers.
// Recording connections stand in for sessions: the hub only sees the Connection interface.
#include <gtest/gtest.h>

#include "server/hub/hub.hpp"

namespace newspush {
namespace {

struct RecordingConnection : Connection {
  std::vector<std::string> lists;  // categories received, in order
  void deliver(const EventPtr&) override {}
  void deliver_trending(const TrendingPtr& list) override { lists.push_back(list->category); }
  void flush() override {}
  void shut_down() override {}
};

TrendingPtr list_of(std::string category) {
  return std::make_shared<TrendingUpdate>(TrendingUpdate{category, "{}", {}});
}

class WorkerTrending : public ::testing::Test {
 protected:
  void join(RecordingConnection& c, std::vector<std::string> categories,
            std::vector<std::string> requested = {}) {
    worker.index().add(&c);
    for (const auto& category : categories) worker.index().subscribe(&c, category);
    for (const auto& category : requested) worker.trending_requests().add(&c, category);
  }
  Worker worker;
};

TEST_F(WorkerTrending, ListsGoToTheirCategoryAndToThoseWhoAskedEachOnce) {
  RecordingConnection sports, sports_and_overall, overall_only, everything, everything_plus_sports;
  join(sports, {"sports"});
  join(sports_and_overall, {"sports"}, {"*", "sports"});
  join(overall_only, {}, {"*"});
  join(everything, {"*"});
  join(everything_plus_sports, {"*", "sports"}, {"sports"});

  worker.fan_out_trending(list_of("sports"));
  worker.fan_out_trending(list_of("*"));
  worker.fan_out_trending(list_of("culture"));

  EXPECT_EQ(sports.lists, std::vector<std::string>{"sports"});
  EXPECT_EQ(sports_and_overall.lists, (std::vector<std::string>{"sports", "*"}));
  EXPECT_EQ(overall_only.lists, std::vector<std::string>{"*"});
  // A "*" subscriber gets the overall list, not every category's.
  EXPECT_EQ(everything.lists, std::vector<std::string>{"*"});
  EXPECT_EQ(everything_plus_sports.lists, (std::vector<std::string>{"sports", "*"}));
}

TEST_F(WorkerTrending, KeepsTheNewestListOfEachCategoryForNewcomers) {
  EXPECT_EQ(worker.trending("sports"), nullptr);
  auto first = list_of("sports"), second = list_of("sports");
  worker.fan_out_trending(first);
  worker.fan_out_trending(second);
  EXPECT_EQ(worker.trending("sports"), second);
}

TEST_F(WorkerTrending, TheListsAConnectionReceives) {
  RecordingConnection c, all;
  join(c, {"sports", "culture"}, {"*", "sports"});
  join(all, {"*", "sports"});
  EXPECT_EQ(worker.trending_lists_of(&c), (std::vector<std::string>{"*", "culture", "sports"}));
  EXPECT_EQ(worker.trending_lists_of(&all), std::vector<std::string>{"*"});
}

}  // namespace
}  // namespace newspush
