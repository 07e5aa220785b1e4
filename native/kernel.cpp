// errorkb's native kernel: the regex pass and the lexical pass of a lookup, each in one call.
//
// It does what the Python engines do (src/errorkb/match/engine.py: LiteralTable, Verifier,
// PrefilterEngine; src/errorkb/index/store.py: IndexStore.lexical), step for step, so that both
// give the same answers; tests/test_native.py holds them to it. The Python code stays the
// reference: change it first, then this file, and bump kVersion with every change here.
//
// Every call runs with the GIL held (pybind11's default; nothing here releases it), so the
// patterns compiled on first use need no lock.

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <re2/re2.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace {

constexpr int kVersion = 2;

std::string_view view_of(const py::bytes& data) {
  char* buffer = nullptr;
  Py_ssize_t size = 0;
  if (PyBytes_AsStringAndSize(data.ptr(), &buffer, &size) != 0) throw py::error_already_set();
  return {buffer, static_cast<size_t>(size)};
}

// A new reference, or throws the Python error set.
py::object owned(PyObject* object) {
  if (object == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(object);
}

// Aho-Corasick over bytes: which of a set of distinct, non-empty strings occur in a text.
class Automaton {
 public:
  explicit Automaton(const std::vector<std::string>& words) {
    // The trie, built in sorted order (each word shares with the one before it the path of
    // their common prefix), so every state's edges come out in byte order; then flattened.
    std::vector<int> order(words.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    if (!std::is_sorted(words.begin(), words.end()))
      std::sort(order.begin(), order.end(), [&words](int a, int b) { return words[a] < words[b]; });
    struct Edge {
      int parent, child;
      unsigned char byte;
    };
    std::vector<Edge> edges;
    std::vector<int> path{0};  // the states along the previous word
    const std::string* previous = nullptr;
    word_.push_back(-1);
    for (int number : order) {
      const std::string& word = words[number];
      if (word.empty()) continue;
      size_t common = 0;
      if (previous != nullptr) {
        size_t most = std::min(previous->size(), word.size());
        while (common < most && (*previous)[common] == word[common]) ++common;
      }
      path.resize(common + 1);
      for (size_t depth = common; depth < word.size(); ++depth) {
        int state = static_cast<int>(word_.size());
        word_.push_back(-1);
        edges.push_back({path.back(), state, static_cast<unsigned char>(word[depth])});
        path.push_back(state);
      }
      word_[path.back()] = number;  // a repeated word keeps its last number
      previous = &word;
    }
    size_t states = word_.size();
    start_.assign(states + 1, 0);
    for (const Edge& edge : edges) ++start_[edge.parent + 1];
    for (size_t i = 0; i < states; ++i) start_[i + 1] += start_[i];
    byte_.resize(edges.size());
    next_.resize(edges.size());
    std::vector<int> filled(start_.begin(), start_.end() - 1);
    for (const Edge& edge : edges) {  // in byte order per state, as they were made
      byte_[filled[edge.parent]] = edge.byte;
      next_[filled[edge.parent]++] = edge.child;
    }
    // Failure links breadth first; `output_`: the nearest state down the failure links that
    // ends a word (0: none, as the root ends none).
    fail_.assign(states, 0);
    output_.assign(states, 0);
    std::fill(std::begin(root_), std::end(root_), 0);
    std::vector<int> queue;
    queue.reserve(states);
    for (int e = start_[0]; e < start_[1]; ++e) {
      root_[byte_[e]] = next_[e];
      queue.push_back(next_[e]);
    }
    for (size_t i = 0; i < queue.size(); ++i) {
      int state = queue[i];
      for (int e = start_[state]; e < start_[state + 1]; ++e) {
        int next = next_[e];
        int fail = step(fail_[state], byte_[e]);
        fail_[next] = fail;
        output_[next] = word_[fail] >= 0 ? fail : output_[fail];
        queue.push_back(next);
      }
    }
  }

  template <class Emit>
  void scan(std::string_view text, Emit&& emit) const {
    int state = 0;
    for (unsigned char c : text) {
      state = step(state, c);
      if (word_[state] >= 0) emit(word_[state]);
      for (int out = output_[state]; out != 0; out = output_[out]) emit(word_[out]);
    }
  }

 private:
  int child(int state, unsigned char c) const {
    auto first = byte_.begin() + start_[state];
    auto last = byte_.begin() + start_[state + 1];
    auto found = std::lower_bound(first, last, c);
    return found != last && *found == c ? next_[found - byte_.begin()] : -1;
  }

  int step(int state, unsigned char c) const {
    while (state != 0) {
      int next = child(state, c);
      if (next >= 0) return next;
      state = fail_[state];
    }
    return root_[c];
  }

  std::vector<int> word_, start_, next_, fail_, output_;
  std::vector<unsigned char> byte_;
  int root_[256];
};

using Alternative = std::vector<std::vector<std::string>>;  // sets: a match holds one of each

struct Pattern {
  std::string regex;
  bool case_sensitive = false;
  bool tried = false;  // compiled (or refused) on first use
  std::unique_ptr<RE2> re;
  std::map<int, std::string> names;
};

// Whether `text` holds `part`.
bool holds(std::string_view text, const std::string& part) {
  return memmem(text.data(), text.size(), part.data(), part.size()) != nullptr;
}

// The regex pass (engine.py's PrefilterEngine, LiteralTable and Verifier in one).
class RegexPass {
 public:
  RegexPass(const std::vector<std::string>& literals, std::vector<std::vector<int>> direct,
            std::vector<std::vector<std::pair<int, Alternative>>> gated, std::vector<int> always,
            const std::vector<std::tuple<int, std::string, bool>>& specs, int limit,
            py::object hit_type)
      : automaton_(literals), direct_(std::move(direct)), gated_(std::move(gated)),
        always_(std::move(always)), limit_(limit), hit_type_(std::move(hit_type)) {
    if (direct_.size() != literals.size() || gated_.size() != literals.size())
      throw py::value_error("direct and gated need one entry per literal");
    if (!PyType_Check(hit_type_.ptr()) ||
        !PyType_IsSubtype(reinterpret_cast<PyTypeObject*>(hit_type_.ptr()), &PyTuple_Type))
      throw py::type_error("hit_type must be a tuple type");
    for (const auto& [key, regex, case_sensitive] : specs) {
      auto pattern = std::make_unique<Pattern>();
      pattern->regex = regex;
      pattern->case_sensitive = case_sensitive;
      patterns_[key] = std::move(pattern);
    }
  }

  // The candidate keys, sorted: patterns whose literals `lowered` holds, and `always`.
  std::vector<int> candidates(const py::bytes& lowered) const {
    std::string_view low = view_of(lowered);
    std::vector<int> found;
    automaton_.scan(low, [&found](int number) { found.push_back(number); });
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    std::vector<int> keys(always_);
    for (int number : found) {
      keys.insert(keys.end(), direct_[number].begin(), direct_[number].end());
      for (const auto& [key, rest] : gated_[number]) {
        bool every = std::all_of(rest.begin(), rest.end(), [low](const auto& strings) {
          return std::any_of(strings.begin(), strings.end(),
                             [low](const std::string& s) { return holds(low, s); });
        });
        if (every) keys.push_back(key);
      }
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return keys;
  }

  // (hits, refused): the hits of the candidates (or of `keys`) over `data`, the UTF-8 of the
  // input (`lowered`: of the input lower-cased), as hit_type(key, start, end, groups, named)
  // with character offsets; `refused`: keys this RE2 cannot compile, for the caller to run.
  py::tuple search(const py::bytes& data, const py::bytes& lowered,
                   std::optional<std::vector<int>> keys) {
    std::vector<int> chosen;
    if (keys) {
      chosen = std::move(*keys);
      std::sort(chosen.begin(), chosen.end());
      chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
    } else {
      chosen = candidates(lowered);
    }
    std::string_view text = view_of(data);
    py::list hits, refused;
    std::vector<int> chars;  // character offset of each byte offset, for non-ASCII input
    bool ascii = std::all_of(text.begin(), text.end(),
                             [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (!ascii) {
      chars.resize(text.size() + 1);
      int count = 0;
      for (size_t i = 0; i < text.size(); ++i) {
        chars[i] = count;
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++count;
      }
      chars[text.size()] = count;
    }
    std::vector<re2::StringPiece> groups;
    for (int key : chosen) {
      auto found = patterns_.find(key);
      if (found == patterns_.end()) continue;
      Pattern& pattern = *found->second;
      const RE2* re = compiled(pattern);
      if (re == nullptr) {
        refused.append(key);
        continue;
      }
      groups.assign(re->NumberOfCapturingGroups() + 1, re2::StringPiece());
      int count = 0;
      size_t position = 0, end = text.size();
      while (position <= end) {
        if (!re->Match(text, position, end, RE2::UNANCHORED, groups.data(),
                       static_cast<int>(groups.size())))
          break;
        size_t start = groups[0].data() - text.data();
        size_t stop = start + groups[0].size();
        if (stop > start) {
          hits.append(hit(key, ascii ? start : chars[start], ascii ? stop : chars[stop], text,
                          groups, pattern.names));
          if (++count >= limit_) break;
        }
        size_t next_line = text.find('\n', stop);  // a match may start at the newline itself
        if (next_line == std::string_view::npos) break;
        position = std::max(next_line, position + 1);
      }
    }
    return py::make_tuple(hits, refused);
  }

  int compile_all() {
    int count = 0;
    for (auto& [key, pattern] : patterns_) {
      if (!pattern->tried) {
        compiled(*pattern);
        ++count;
      }
    }
    return count;
  }

  size_t size() const { return patterns_.size(); }

 private:
  static const RE2* compiled(Pattern& pattern) {
    if (!pattern.tried) {
      pattern.tried = true;
      RE2::Options options;
      options.set_case_sensitive(pattern.case_sensitive);
      options.set_log_errors(false);
      options.set_max_mem(8 << 20);
      auto re = std::make_unique<RE2>(pattern.regex, options);
      if (re->ok()) {
        pattern.names = re->CapturingGroupNames();
        pattern.re = std::move(re);
      }
    }
    return pattern.re.get();
  }

  // hit_type(key, start, end, groups, named): the non-empty groups, and those of them named.
  py::object hit(int key, size_t start, size_t stop, std::string_view text,
                 const std::vector<re2::StringPiece>& groups,
                 const std::map<int, std::string>& names) const {
    py::list values, named;
    for (size_t i = 1; i < groups.size(); ++i) {
      const re2::StringPiece& group = groups[i];
      if (group.data() == nullptr || group.empty()) continue;
      py::object value = owned(PyUnicode_DecodeUTF8(group.data(),
                                                    static_cast<Py_ssize_t>(group.size()),
                                                    "replace"));
      values.append(value);
      auto name = names.find(static_cast<int>(i));
      if (name != names.end()) named.append(py::make_tuple(py::str(name->second), value));
    }
    py::tuple fields = py::make_tuple(key, start, stop, py::tuple(values), py::tuple(named));
    py::tuple args = py::make_tuple(fields);
    auto* type = reinterpret_cast<PyTypeObject*>(hit_type_.ptr());
    return owned(PyTuple_Type.tp_new(type, args.ptr(), nullptr));
  }

  Automaton automaton_;
  std::vector<std::vector<int>> direct_;
  std::vector<std::vector<std::pair<int, Alternative>>> gated_;
  std::vector<int> always_;
  std::unordered_map<int, std::unique_ptr<Pattern>> patterns_;
  int limit_;
  py::object hit_type_;
};

// The lexical pass (store.py's IndexStore.lexical): canons sharing words with the query.
class Lexicon {
 public:
  // `postings`: word -> keys of the canons whose terms hold it (the inverse of every canon's
  // terms: the index writes both from one list); `weights`: word -> idf; `keys`: every canon.
  Lexicon(const py::dict& postings, const py::dict& weights, double unknown, int common,
          const std::vector<int>& keys)
      : unknown_(unknown), common_(common) {
    PyObject *word, *value;
    Py_ssize_t position = 0;
    while (PyDict_Next(postings.ptr(), &position, &word, &value)) {
      int id = word_id(utf8(word));
      std::vector<int>& list = postings_[id];
      PyObject* items = PySequence_Fast(value, "postings must map words to lists of keys");
      if (items == nullptr) throw py::error_already_set();
      py::object owner = py::reinterpret_steal<py::object>(items);
      Py_ssize_t size = PySequence_Fast_GET_SIZE(items);
      list.reserve(size);
      for (Py_ssize_t i = 0; i < size; ++i) {
        long key = PyLong_AsLong(PySequence_Fast_GET_ITEM(items, i));
        if (key == -1 && PyErr_Occurred()) throw py::error_already_set();
        list.push_back(static_cast<int>(key));
        terms_[static_cast<int>(key)].push_back(id);
      }
    }
    position = 0;
    while (PyDict_Next(weights.ptr(), &position, &word, &value)) {
      double weight = PyFloat_AsDouble(value);
      if (weight == -1.0 && PyErr_Occurred()) throw py::error_already_set();
      weights_[word_id(utf8(word))] = weight;
    }
    for (int key : keys) terms_[key];  // a canon without terms is a canon all the same
    for (auto& [key, ids] : terms_) std::sort(ids.begin(), ids.end());
  }

  // (key, share) for the best `limit` canons (and every key of `hits` that is a canon), as
  // IndexStore.lexical gives them; `floor_share`: least_share, or NEAREST_SHARE when None.
  py::list query(const std::vector<std::string>& query_terms, size_t limit,
                 const std::vector<int>& hits, std::optional<double> least_share,
                 double nearest_share) const {
    struct Word {
      double weight;
      std::string_view text;
      int id;
    };
    std::vector<Word> weighted;
    for (const auto& term : query_terms) {  // distinct, in order, the first 40
      if (weighted.size() >= 40) break;
      if (std::any_of(weighted.begin(), weighted.end(),
                      [&term](const Word& w) { return w.text == term; }))
        continue;
      auto known = ids_.find(term);
      int id = known == ids_.end() ? -1 : known->second;
      auto weight = id < 0 ? weights_.end() : weights_.find(id);
      weighted.push_back({weight == weights_.end() ? unknown_ : weight->second, term, id});
    }
    py::list result;
    if (weighted.empty()) return result;
    std::sort(weighted.begin(), weighted.end(), [](const Word& a, const Word& b) {
      return a.weight != b.weight ? a.weight > b.weight : a.text > b.text;
    });
    double total = 0.0;
    for (const auto& w : weighted) total += w.weight;
    double reach = total;
    double floor = (least_share ? *least_share : nearest_share) * total;
    std::vector<std::pair<int, double>> covered;  // in the order canons were first found
    std::unordered_map<int, size_t> position;
    size_t brought = 0;
    static const std::vector<int> kNone;
    for (const auto& w : weighted) {
      auto found = w.id < 0 ? postings_.end() : postings_.find(w.id);
      const std::vector<int>& keys = found == postings_.end() ? kNone : found->second;
      if (reach < floor || keys.size() > static_cast<size_t>(common_)) break;
      for (int key : keys) {
        auto [at, fresh] = position.try_emplace(key, covered.size());
        if (fresh) covered.emplace_back(key, 0.0);
        covered[at->second].second += w.weight;
      }
      reach -= w.weight;
      ++brought;
    }
    if (least_share) {
      std::vector<std::pair<int, double>> kept;
      for (const auto& item : covered)
        if (item.second + reach >= floor) kept.push_back(item);
      covered.swap(kept);
    }
    if (brought < weighted.size()) {
      for (auto& [key, value] : covered) {
        const std::vector<int>& canon_terms = terms_of(key);
        double extra = 0.0;
        bool shared = false;
        for (size_t i = brought; i < weighted.size(); ++i) {
          if (holds_word(canon_terms, weighted[i].id)) {
            extra += weighted[i].weight;
            shared = true;
          }
        }
        if (shared) value += extra;
      }
    }
    std::stable_sort(covered.begin(), covered.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    if (covered.size() > limit) covered.resize(limit);
    if (least_share) {
      covered.erase(std::remove_if(covered.begin(), covered.end(),
                                   [floor](const auto& item) { return item.second < floor; }),
                    covered.end());
    }
    std::vector<int> shown;
    for (const auto& item : covered) shown.push_back(item.first);
    for (int key : hits) {
      if (std::find(shown.begin(), shown.end(), key) != shown.end()) continue;
      auto canon_terms = terms_.find(key);
      if (canon_terms == terms_.end()) continue;
      shown.push_back(key);
      double value = 0.0;
      for (const auto& w : weighted)
        if (holds_word(canon_terms->second, w.id)) value += w.weight;
      covered.emplace_back(key, value);
    }
    for (const auto& [key, value] : covered) result.append(py::make_tuple(key, value / total));
    return result;
  }

 private:
  int word_id(std::string_view word) {
    auto [at, fresh] = ids_.try_emplace(std::string(word), static_cast<int>(ids_.size()));
    return at->second;
  }

  static std::string_view utf8(PyObject* text) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(text, &size);
    if (data == nullptr) throw py::error_already_set();
    return {data, static_cast<size_t>(size)};
  }

  const std::vector<int>& terms_of(int key) const {
    static const std::vector<int> kNone;
    auto found = terms_.find(key);
    return found == terms_.end() ? kNone : found->second;
  }

  static bool holds_word(const std::vector<int>& sorted_ids, int id) {
    return id >= 0 && std::binary_search(sorted_ids.begin(), sorted_ids.end(), id);
  }

  std::unordered_map<std::string, int> ids_;
  std::unordered_map<int, std::vector<int>> postings_;
  std::unordered_map<int, double> weights_;
  std::unordered_map<int, std::vector<int>> terms_;
  double unknown_;
  int common_;
};

}  // namespace

PYBIND11_MODULE(_kernel, module) {
  module.doc() = "errorkb's native regex and lexical passes (see native/kernel.cpp).";
  module.attr("VERSION") = kVersion;
  py::class_<RegexPass>(module, "RegexPass")
      .def(py::init<const std::vector<std::string>&, std::vector<std::vector<int>>,
                    std::vector<std::vector<std::pair<int, Alternative>>>, std::vector<int>,
                    const std::vector<std::tuple<int, std::string, bool>>&, int, py::object>(),
           py::arg("literals"), py::arg("direct"), py::arg("gated"), py::arg("always"),
           py::arg("specs"), py::arg("limit"), py::arg("hit_type"))
      .def("candidates", &RegexPass::candidates, py::arg("lowered"))
      .def("search", &RegexPass::search, py::arg("data"), py::arg("lowered"),
           py::arg("keys") = py::none())
      .def("compile_all", &RegexPass::compile_all)
      .def("__len__", &RegexPass::size);
  py::class_<Lexicon>(module, "Lexicon")
      .def(py::init<const py::dict&, const py::dict&, double, int, const std::vector<int>&>(),
           py::arg("postings"), py::arg("weights"), py::arg("unknown"), py::arg("common"),
           py::arg("keys"))
      .def("query", &Lexicon::query, py::arg("terms"), py::arg("limit"), py::arg("hits"),
           py::arg("least_share"), py::arg("nearest_share"));
}
