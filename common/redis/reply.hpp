#pragma once
// A Redis reply copied out of hiredis, so it can outlive the callback and cross threads.
#include <string>
#include <vector>

struct redisReply;

namespace newspush::redis {

struct Reply {
  enum class Type { nil, integer, string, status, error, array };
  Type type = Type::nil;
  long long integer = 0;
  std::string text;  // string, status and error replies
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::error; }
  static Reply error(std::string message) {
    Reply reply;
    reply.type = Type::error;
    reply.text = std::move(message);
    return reply;
  }
};

// A null reply (connection lost) becomes an error reply saying so.
Reply copy_reply(const redisReply* reply);

}  // namespace newspush::redis
