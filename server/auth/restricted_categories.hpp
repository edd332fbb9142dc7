#pragma once
// Subscriber-only categories (issue 15). One pattern syntax serves both sides of the rule:
// `--restricted-category` says which categories need a token, and a token's `categories` claim
// says which of those its reader may receive.
//
// A pattern is an exact category slug ("live-blog", [a-z0-9-]{1,32}) or a prefix of one followed
// by '*' ("premium-*": every category starting with "premium-", "premium-" itself included).
// A bare "*" is refused on both sides: one stray flag or claim would close, or open, every
// category at once; name the prefixes instead.
//
// Both classes are filled at start-up (or once per verified token) and only read afterwards, so
// concurrent readers need no lock. Matching compares a few short strings: it runs once per
// subscribe and once per recipient of a restricted event.
#include <string>
#include <string_view>
#include <vector>

namespace newspush::auth {

class CategoryPatterns {
 public:
  // Whether `pattern` is an exact slug or a prefix pattern as described above.
  static bool is_valid_pattern(std::string_view pattern);

  // Empty when added (a duplicate is accepted and kept once); otherwise a one-line reason, and
  // nothing is added.
  std::string add(std::string_view pattern);

  // Whether any pattern covers `category` (a slug; "*" is not a category and matches nothing).
  bool matches(std::string_view category) const;

  bool empty() const { return exact_.empty() && prefixes_.empty(); }
  // Every pattern, exact slugs first then prefix patterns with their '*', each sorted: for logs
  // and tests.
  std::vector<std::string> patterns() const;

 private:
  std::vector<std::string> exact_;     // sorted, unique: binary search
  std::vector<std::string> prefixes_;  // without the '*', sorted, unique
};

class RestrictedCategories {
 public:
  // One `--restricted-category` value. Same contract as CategoryPatterns::add.
  std::string add(std::string_view pattern) { return patterns_.add(pattern); }

  // False when no category is restricted (the default): every category is public.
  bool any() const { return !patterns_.empty(); }
  bool restricted(std::string_view category) const { return patterns_.matches(category); }

  // May a reader whose token grants `granted` receive `category`? An anonymous reader (or one
  // whose token has no `categories`) passes an empty set: public categories only.
  bool allows(std::string_view category, const CategoryPatterns& granted) const {
    return !restricted(category) || granted.matches(category);
  }

  const CategoryPatterns& patterns() const { return patterns_; }

 private:
  CategoryPatterns patterns_;
};

}  // namespace newspush::auth
