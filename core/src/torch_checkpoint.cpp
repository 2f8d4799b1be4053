#include "neuralart/torch_checkpoint.h"

#include <torch/torch.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#include "neuralart/error.h"
#include "neuralart/tensor_file.h"

namespace neuralart {
namespace {

// Little-endian integers at p (the caller checked the bounds).
uint64_t le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// ---------------------------------------------------------------------------
// Pickle: a value, and an interpreter for the opcodes torch.save writes.

struct Value {
  enum class Kind : uint8_t {
    None,
    Bool,
    Int,
    BigInt,  // an integer wider than 64 bits: its little-endian bytes in s
    Float,
    String,  // str and bytes alike
    Tuple,
    List,
    Dict,
    Global,   // "module.name" in s
    Storage,  // a flat tensor of the storage's dtype
    Tensor,
  };
  Kind kind = Kind::None;
  int64_t i = 0;  // Bool, Int; the arena index of a Tuple, List or Dict
  double f = 0.0;
  std::shared_ptr<const std::string> s;  // shared: memo gets copy values
  torch::Tensor tensor;
};

std::string describe(const Value& v) {
  switch (v.kind) {
    case Value::Kind::None:
      return "None";
    case Value::Kind::Bool:
      return "a bool";
    case Value::Kind::Int:
    case Value::Kind::BigInt:
      return "an int";
    case Value::Kind::Float:
      return "a float";
    case Value::Kind::String:
      return "a string";
    case Value::Kind::Tuple:
      return "a tuple";
    case Value::Kind::List:
      return "a list";
    case Value::Kind::Dict:
      return "a dict";
    case Value::Kind::Global:
      return "'" + *v.s + "'";
    case Value::Kind::Storage:
      return "a storage";
    case Value::Kind::Tensor:
      return "a tensor";
  }
  return "a value";
}

// The storage classes a torch.save file names, and their element types.
const std::map<std::string, torch::ScalarType>& storage_types() {
  static const std::map<std::string, torch::ScalarType> types = {
      {"torch.FloatStorage", torch::kFloat32},
      {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},
      {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},
      {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},
      {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},
      {"torch.BoolStorage", torch::kBool},
  };
  return types;
}

// Values created per pickle: far more than any state dict's pickle holds
// (a few per tensor), and a bound on what a hostile one can make us keep.
constexpr size_t kMaxValues = size_t(1) << 22;

class Unpickler {
 public:
  // Called with the pickled persistent id of each storage (BINPERSID).
  using PersistentLoad = std::function<Value(Unpickler&, const Value&)>;

  Unpickler(const uint8_t* data, size_t size, size_t pos, std::string origin,
            PersistentLoad persistent_load = nullptr)
      : data_(data),
        size_(size),
        pos_(pos),
        origin_(std::move(origin)),
        persistent_load_(std::move(persistent_load)) {}

  // Runs to the STOP opcode and returns the pickled value.
  Value load();
  size_t position() const { return pos_; }

  // Containers live in arenas owned here (values hold indices), so deep or
  // self-referencing containers cost no recursion and leak nothing.
  const std::vector<Value>& items(const Value& v) const {
    return seqs_.at(static_cast<size_t>(v.i));
  }
  const std::vector<std::pair<Value, Value>>& pairs(const Value& v) const {
    return dicts_.at(static_cast<size_t>(v.i));
  }
  [[noreturn]] void corrupt(const std::string& what) const {
    fail_bundle(origin_, "corrupt pickle at byte " + std::to_string(op_pos_) +
                             ": " + what);
  }
  const std::string& origin() const { return origin_; }

 private:
  const uint8_t* take(size_t n) {
    if (n > size_ - pos_)
      fail_bundle(origin_, "truncated: the pickle at byte " +
                               std::to_string(op_pos_) + " runs past the end");
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint64_t uint(int bytes) { return le(take(bytes), bytes); }
  std::string string(uint64_t n) {
    if (n > size_ - pos_)
      fail_bundle(origin_, "truncated: a string at byte " +
                               std::to_string(op_pos_) + " runs past the end");
    const auto* p = reinterpret_cast<const char*>(take(n));
    return std::string(p, n);
  }
  std::string line() {
    const uint8_t* start = data_ + pos_;
    const void* nl = std::memchr(start, '\n', size_ - pos_);
    if (!nl)
      fail_bundle(origin_, "truncated: an unterminated name in the pickle");
    const size_t n = static_cast<const uint8_t*>(nl) - start;
    pos_ += n + 1;
    return std::string(reinterpret_cast<const char*>(start), n);
  }

  void push(Value v) {
    if (++created_ > kMaxValues)
      corrupt("more than " + std::to_string(kMaxValues) + " objects");
    stack_.push_back(std::move(v));
  }
  Value pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back()))
      corrupt("stack underflow");
    Value v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Value& top() {
    if (stack_.empty()) corrupt("stack underflow");
    return stack_.back();
  }
  // The values pushed since the last MARK, which is dropped.
  std::vector<Value> pop_mark() {
    if (marks_.empty()) corrupt("no MARK");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Value> out(std::make_move_iterator(stack_.begin() + m),
                           std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return out;
  }
  Value make_seq(Value::Kind kind, std::vector<Value> items) {
    Value v;
    v.kind = kind;
    v.i = static_cast<int64_t>(seqs_.size());
    seqs_.push_back(std::move(items));
    return v;
  }
  Value make_dict() {
    Value v;
    v.kind = Value::Kind::Dict;
    v.i = static_cast<int64_t>(dicts_.size());
    dicts_.emplace_back();
    return v;
  }
  Value make_int(int64_t i) {
    Value v;
    v.kind = Value::Kind::Int;
    v.i = i;
    return v;
  }
  Value make_string(std::string s) {
    Value v;
    v.kind = Value::Kind::String;
    v.s = std::make_shared<const std::string>(std::move(s));
    return v;
  }
  std::vector<Value>& list_at(Value& v) {
    if (v.kind != Value::Kind::List) corrupt("APPEND to " + describe(v));
    return seqs_.at(static_cast<size_t>(v.i));
  }
  std::vector<std::pair<Value, Value>>& dict_at(Value& v) {
    if (v.kind != Value::Kind::Dict) corrupt("SETITEM on " + describe(v));
    return dicts_.at(static_cast<size_t>(v.i));
  }
  void memo_put(uint64_t key) {
    if (memo_.size() > kMaxValues) corrupt("memo too large");
    memo_[key] = top();
  }
  Value memo_get(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) corrupt("memo entry " + std::to_string(key));
    return it->second;
  }
  Value call(const Value& fn, const Value& args);
  Value rebuild_tensor(const std::vector<Value>& args);

  const uint8_t* data_;
  size_t size_;
  size_t pos_;
  size_t op_pos_ = 0;
  std::string origin_;
  PersistentLoad persistent_load_;
  std::vector<Value> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value> memo_;
  std::vector<std::vector<Value>> seqs_;
  std::vector<std::vector<std::pair<Value, Value>>> dicts_;
  size_t created_ = 0;
};

Value Unpickler::load() {
  using K = Value::Kind;
  for (;;) {
    op_pos_ = pos_;
    const uint8_t op = *take(1);
    switch (op) {
      case 0x80: {  // PROTO
        const auto version = uint(1);
        if (version > 5)
          corrupt("pickle protocol " + std::to_string(version) +
                  " (at most 5 is known)");
        break;
      }
      case 0x95:  // FRAME: a length hint
        take(8);
        break;
      case '.':  // STOP
        if (stack_.size() != 1 || !marks_.empty())
          corrupt("STOP with " + std::to_string(stack_.size()) +
                  " values on the stack");
        return pop();
      case '(':  // MARK
        marks_.push_back(stack_.size());
        break;
      case '0':  // POP
        pop();
        break;
      case '1':  // POP_MARK
        pop_mark();
        break;
      case '2':  // DUP
        push(top());
        break;
      case 'N':
        push(Value{});
        break;
      case 0x88:    // NEWTRUE
      case 0x89: {  // NEWFALSE
        Value v;
        v.kind = K::Bool;
        v.i = op == 0x88;
        push(v);
        break;
      }
      case 'J':  // BININT
        push(make_int(static_cast<int32_t>(uint(4))));
        break;
      case 'K':  // BININT1
        push(make_int(static_cast<int64_t>(uint(1))));
        break;
      case 'M':  // BININT2
        push(make_int(static_cast<int64_t>(uint(2))));
        break;
      case 0x8a: {  // LONG1: n bytes, two's complement, little-endian
        const auto n = uint(1);
        const uint8_t* p = take(n);
        if (n > 8) {
          Value v;
          v.kind = K::BigInt;
          v.s = std::make_shared<const std::string>(
              reinterpret_cast<const char*>(p), n);
          push(v);
          break;
        }
        uint64_t u = n ? le(p, static_cast<int>(n)) : 0;
        if (n && n < 8 && (p[n - 1] & 0x80)) u |= ~uint64_t(0) << (8 * n);
        push(make_int(static_cast<int64_t>(u)));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        const uint8_t* p = take(8);
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | p[k];
        Value v;
        v.kind = K::Float;
        std::memcpy(&v.f, &bits, sizeof bits);
        push(v);
        break;
      }
      case 'X':  // BINUNICODE
      case 'B':  // BINBYTES
        push(make_string(string(uint(4))));
        break;
      case 'T': {  // BINSTRING (signed length)
        const auto n = static_cast<int32_t>(uint(4));
        if (n < 0) corrupt("negative string length");
        push(make_string(string(static_cast<uint64_t>(n))));
        break;
      }
      case 0x8c:  // SHORT_BINUNICODE
      case 'U':   // SHORT_BINSTRING
      case 'C':   // SHORT_BINBYTES
        push(make_string(string(uint(1))));
        break;
      case 0x8d:  // BINUNICODE8
      case 0x8e:  // BINBYTES8
        push(make_string(string(uint(8))));
        break;
      case ')':  // EMPTY_TUPLE
        push(make_seq(K::Tuple, {}));
        break;
      case 't':  // TUPLE
        push(make_seq(K::Tuple, pop_mark()));
        break;
      case 0x85:  // TUPLE1
      case 0x86:  // TUPLE2
      case 0x87: {
        std::vector<Value> items(op - 0x84);
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        push(make_seq(K::Tuple, std::move(items)));
        break;
      }
      case ']':  // EMPTY_LIST
        push(make_seq(K::List, {}));
        break;
      case 'l':  // LIST
        push(make_seq(K::List, pop_mark()));
        break;
      case 'a': {  // APPEND
        Value v = pop();
        list_at(top()).push_back(std::move(v));
        break;
      }
      case 'e': {  // APPENDS
        auto items = pop_mark();
        auto& list = list_at(top());
        for (auto& v : items) list.push_back(std::move(v));
        break;
      }
      case '}':  // EMPTY_DICT
        push(make_dict());
        break;
      case 'd':    // DICT
      case 'u': {  // SETITEMS
        auto items = pop_mark();
        if (items.size() % 2) corrupt("odd number of dict items");
        if (op == 'd') push(make_dict());
        auto& dict = dict_at(top());
        for (size_t k = 0; k < items.size(); k += 2)
          dict.emplace_back(std::move(items[k]), std::move(items[k + 1]));
        break;
      }
      case 's': {  // SETITEM
        Value v = pop();
        Value k = pop();
        dict_at(top()).emplace_back(std::move(k), std::move(v));
        break;
      }
      case 'q':  // BINPUT
        memo_put(uint(1));
        break;
      case 'r':  // LONG_BINPUT
        memo_put(uint(4));
        break;
      case 0x94:  // MEMOIZE
        memo_put(memo_.size());
        break;
      case 'h':  // BINGET
        push(memo_get(uint(1)));
        break;
      case 'j':  // LONG_BINGET
        push(memo_get(uint(4)));
        break;
      case 'c': {  // GLOBAL "module\nname\n"
        std::string module = line();
        std::string name = line();
        Value v;
        v.kind = K::Global;
        v.s = std::make_shared<const std::string>(module + "." + name);
        push(v);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Value name = pop();
        Value module = pop();
        if (name.kind != K::String || module.kind != K::String)
          corrupt("STACK_GLOBAL without strings");
        Value v;
        v.kind = K::Global;
        v.s = std::make_shared<const std::string>(*module.s + "." + *name.s);
        push(v);
        break;
      }
      case 'R': {  // REDUCE
        Value args = pop();
        Value fn = pop();
        push(call(fn, args));
        break;
      }
      case 'b': {  // BUILD: an OrderedDict's attributes (_metadata)
        Value state = pop();
        const auto kind = top().kind;
        if (kind != K::Dict && kind != K::Tensor)
          corrupt("BUILD on " + describe(top()));
        break;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args), e.g. a pickled model
        Value args = pop();
        Value cls = pop();
        push(call(cls, args));
        break;
      }
      case 'Q': {  // BINPERSID: a storage
        Value pid = pop();
        if (!persistent_load_) corrupt("a persistent id where none belongs");
        push(persistent_load_(*this, pid));
        break;
      }
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail_bundle(origin_,
                    std::string("pickle opcode ") + hex + " at byte " +
                        std::to_string(op_pos_) +
                        " is not one torch.save writes for a state dict "
                        "(only tensors and plain containers are read)");
      }
    }
  }
}

Value Unpickler::call(const Value& fn, const Value& args) {
  if (fn.kind != Value::Kind::Global) corrupt("REDUCE on " + describe(fn));
  if (args.kind != Value::Kind::Tuple)
    corrupt("REDUCE with " + describe(args) + " as arguments");
  const auto& name = *fn.s;
  const auto& a = items(args);
  if (name == "collections.OrderedDict") {
    Value dict = make_dict();
    if (a.empty()) return dict;
    // Python 2 pickles an OrderedDict as OrderedDict([[key, value], ...]).
    if (a.size() != 1 ||
        (a[0].kind != Value::Kind::List && a[0].kind != Value::Kind::Tuple))
      corrupt("OrderedDict with arguments other than its items");
    for (const auto& item : items(a[0])) {
      if ((item.kind != Value::Kind::List && item.kind != Value::Kind::Tuple) ||
          items(item).size() != 2)
        corrupt("OrderedDict item that is not a pair");
      dicts_.at(static_cast<size_t>(dict.i))
          .emplace_back(items(item)[0], items(item)[1]);
    }
    return dict;
  }
  if (name == "torch._utils._rebuild_tensor_v2" ||
      name == "torch._utils._rebuild_tensor")
    return rebuild_tensor(a);
  if (name == "torch._utils._rebuild_parameter" ||
      name == "torch._utils._rebuild_parameter_with_state") {
    if (a.empty() || a[0].kind != Value::Kind::Tensor)
      corrupt(name + " without a tensor");
    return a[0];
  }
  fail_bundle(
      origin_,
      "holds a pickled '" + name +
          "' object, which is not read (only tensors and plain "
          "containers are; a whole pickled model must be saved again as "
          "its state dict: torch.save(model.state_dict(), FILE))");
}

// _rebuild_tensor(_v2)(storage, offset, size, stride, ...): a view.
Value Unpickler::rebuild_tensor(const std::vector<Value>& a) {
  using K = Value::Kind;
  if (a.size() < 4 || a[0].kind != K::Storage || a[1].kind != K::Int ||
      a[2].kind != K::Tuple || a[3].kind != K::Tuple)
    corrupt("malformed tensor (storage, offset, size, stride)");
  const auto& storage = a[0].tensor;
  const auto& size_v = items(a[2]);
  const auto& stride_v = items(a[3]);
  if (size_v.size() != stride_v.size() || size_v.size() > 64)
    corrupt("tensor sizes and strides differ in length");
  std::vector<int64_t> sizes, strides;
  int64_t numel = 1, last = a[1].i;  // the highest element index used
  bool empty = false;
  for (size_t d = 0; d < size_v.size(); ++d) {
    if (size_v[d].kind != K::Int || stride_v[d].kind != K::Int ||
        size_v[d].i < 0 || stride_v[d].i < 0)
      corrupt("tensor sizes and strides must be integers >= 0");
    sizes.push_back(size_v[d].i);
    strides.push_back(stride_v[d].i);
    if (size_v[d].i == 0) empty = true;
  }
  Value v;
  v.kind = K::Tensor;
  if (empty) {
    v.tensor = torch::empty(sizes, storage.options());
    return v;
  }
  for (size_t d = 0; d < sizes.size(); ++d) {
    int64_t reach = 0;
    if (__builtin_mul_overflow(sizes[d] - 1, strides[d], &reach) ||
        __builtin_add_overflow(last, reach, &last) ||
        __builtin_mul_overflow(numel, sizes[d], &numel))
      corrupt("tensor extent overflows");
  }
  // A view inside its storage, and no bigger than it (no broadcast views:
  // a state dict does not need them, and they could ask for any size).
  if (a[1].i < 0 || last >= storage.numel() || numel > storage.numel())
    fail_bundle(origin_, "a tensor of shape " +
                             c10::str(c10::IntArrayRef(sizes)) +
                             " does not fit its storage of " +
                             std::to_string(storage.numel()) + " elements");
  v.tensor = storage.as_strided(sizes, strides, a[1].i);
  return v;
}

// A persistent id's parts: ('storage', torch.XStorage, key, location,
// numel[, view]); checks the common ones.
struct StorageRef {
  std::string key;
  torch::ScalarType dtype;
  int64_t numel;
  size_t bytes;
};

StorageRef storage_ref(Unpickler& u, const Value& pid, size_t parts) {
  using K = Value::Kind;
  if (pid.kind != K::Tuple) u.corrupt("persistent id is " + describe(pid));
  const auto& p = u.items(pid);
  if (p.size() != parts || p[0].kind != K::String || *p[0].s != "storage" ||
      p[1].kind != K::Global || p[2].kind != K::String || p[4].kind != K::Int)
    u.corrupt("malformed storage reference");
  auto it = storage_types().find(*p[1].s);
  if (it == storage_types().end())
    fail_bundle(u.origin(), "storage type '" + *p[1].s + "' is not supported");
  StorageRef ref{*p[2].s, it->second, p[4].i, 0};
  const auto elem = c10::elementSize(ref.dtype);
  if (ref.numel < 0 || static_cast<uint64_t>(ref.numel) >
                           std::numeric_limits<uint64_t>::max() / elem)
    u.corrupt("storage size " + std::to_string(ref.numel));
  ref.bytes = static_cast<size_t>(ref.numel) * elem;
  return ref;
}

// The dict of names to tensors a pickle produced.
TorchStateDict to_state_dict(const Unpickler& u, const Value& root,
                             const std::string& format) {
  if (root.kind != Value::Kind::Dict)
    fail_bundle(u.origin(),
                "holds " + describe(root) +
                    ", not a state dict (a dict of names to tensors)");
  TorchStateDict sd;
  sd.format = format;
  std::map<std::string, size_t> index;
  for (const auto& [k, v] : u.pairs(root)) {
    if (k.kind != Value::Kind::String)
      fail_bundle(u.origin(), "holds a dict whose key is " + describe(k) +
                                  ", not a state dict (names to tensors)");
    if (v.kind != Value::Kind::Tensor)
      fail_bundle(u.origin(), "entry '" + *k.s + "' is " + describe(v) +
                                  ", not a tensor: not a state dict (names to "
                                  "tensors)");
    auto [it, fresh] = index.emplace(*k.s, sd.entries.size());
    if (fresh)
      sd.entries.emplace_back(*k.s, v.tensor);
    else  // as Python: a repeated key keeps its place, takes the new value
      sd.entries[it->second].second = v.tensor;
  }
  return sd;
}

// ---------------------------------------------------------------------------
// The zip serialisation: an uncompressed zip of ARCHIVE/data.pkl and
// ARCHIVE/data/KEY (one per storage). Our own reader of the central
// directory, so that no size the archive declares is allocated before it
// is checked against the file (LibTorch's PyTorchStreamReader allocates
// each record as declared).

struct ZipEntry {
  size_t offset;  // of the data
  size_t size;
  uint32_t crc;
  bool stored;  // not compressed
};

std::map<std::string, ZipEntry> zip_directory(const uint8_t* data, size_t size,
                                              const std::string& origin) {
  auto bad = [&](const std::string& what) {
    fail_bundle(origin, "corrupt zip archive: " + what);
  };
  // The end-of-central-directory record: 22 bytes and a comment.
  if (size < 22) bad("too short");
  size_t eocd = size - 22;
  const size_t lowest = size > 22 + 0xFFFF ? size - 22 - 0xFFFF : 0;
  while (le(data + eocd, 4) != 0x06054b50) {
    if (eocd == lowest) bad("no end of central directory (truncated?)");
    --eocd;
  }
  const uint64_t count = le(data + eocd + 10, 2);
  const uint64_t dir_size = le(data + eocd + 12, 4);
  const uint64_t dir_offset = le(data + eocd + 16, 4);
  if (count == 0xFFFF || dir_size == 0xFFFFFFFF || dir_offset == 0xFFFFFFFF)
    fail_bundle(
        origin,
        "is a zip64 archive (over 4 GiB or 65535 entries), which is not "
        "supported");
  if (dir_offset > eocd || dir_size > eocd - dir_offset)
    bad("central directory outside the file");
  std::map<std::string, ZipEntry> entries;
  size_t p = dir_offset;
  const size_t end = dir_offset + dir_size;
  for (uint64_t n = 0; n < count; ++n) {
    if (end - p < 46 || le(data + p, 4) != 0x02014b50)
      bad("malformed central directory entry");
    const auto method = le(data + p + 10, 2);
    const auto crc = static_cast<uint32_t>(le(data + p + 16, 4));
    const auto packed = le(data + p + 20, 4);
    const auto unpacked = le(data + p + 24, 4);
    const auto name_len = le(data + p + 28, 2);
    const auto extra_len = le(data + p + 30, 2);
    const auto comment_len = le(data + p + 32, 2);
    const auto local = le(data + p + 42, 4);
    if (end - p - 46 < name_len + extra_len + comment_len)
      bad("central directory entry runs past its end");
    std::string name(reinterpret_cast<const char*>(data + p + 46), name_len);
    p += 46 + name_len + extra_len + comment_len;
    // The local header: 30 bytes, its own name and extra field lengths.
    if (local > size || size - local < 30 || le(data + local, 4) != 0x04034b50)
      bad("entry '" + name + "' has no local header");
    const size_t start =
        local + 30 + le(data + local + 26, 2) + le(data + local + 28, 2);
    if (start > size || size - start < packed)
      bad("entry '" + name + "' runs past the end of the file (truncated?)");
    entries[name] =
        ZipEntry{start, static_cast<size_t>(packed), static_cast<uint32_t>(crc),
                 method == 0 && packed == unpacked};
  }
  return entries;
}

TorchStateDict parse_zip(const uint8_t* data, size_t size,
                         const std::string& origin) {
  const auto entries = zip_directory(data, size, origin);
  // The records sit in one folder (the archive's name): find data.pkl.
  std::string prefix;
  for (const auto& [name, e] : entries) {
    const auto slash = name.find('/');
    if (slash != std::string::npos && name.substr(slash) == "/data.pkl") {
      prefix = name.substr(0, slash + 1);
      break;
    }
  }
  if (prefix.empty()) {
    fail_bundle(origin,
                "is a zip archive without data.pkl: not a torch.save file");
  }
  const auto code = entries.lower_bound(prefix + "code/");
  if (entries.count(prefix + "constants.pkl") ||
      (code != entries.end() && code->first.rfind(prefix + "code/", 0) == 0))
    fail_bundle(origin,
                "is a TorchScript module, not a state dict (the styletransfer "
                "element loads TorchScript files directly)");
  // Entries may overlap in a hostile archive: those read must together
  // still fit in the file (which also bounds the CRC work).
  uint64_t read = 0;
  auto record = [&](const std::string& name) -> const ZipEntry& {
    auto it = entries.find(prefix + name);
    if (it == entries.end())
      fail_bundle(origin, "zip archive lacks '" + prefix + name + "'");
    const auto& e = it->second;
    if (!e.stored)
      fail_bundle(origin, "zip entry '" + prefix + name +
                              "' is compressed; torch.save stores entries "
                              "uncompressed, and only such archives are read");
    read += e.size;
    if (read > size)
      fail_bundle(origin, "corrupt zip archive: entries overlap");
    if (crc32(data + e.offset, e.size) != e.crc)
      fail_bundle(origin, "zip entry '" + prefix + name +
                              "' fails its CRC-32 check (the file is corrupt)");
    return e;
  };
  const auto& pkl = record("data.pkl");
  std::map<std::string, torch::Tensor> storages;
  auto load_storage = [&](Unpickler& u, const Value& pid) {
    const auto ref = storage_ref(u, pid, 5);
    Value v;
    v.kind = Value::Kind::Storage;
    auto it = storages.find(ref.key);
    if (it != storages.end()) {
      if (it->second.scalar_type() != ref.dtype ||
          it->second.numel() != ref.numel)
        u.corrupt("storage '" + ref.key + "' is named with two types");
      v.tensor = it->second;
      return v;
    }
    const auto& e = record("data/" + ref.key);
    if (e.size < ref.bytes)
      fail_bundle(origin,
                  "storage '" + ref.key + "' holds " + std::to_string(e.size) +
                      " bytes, its tensors need " + std::to_string(ref.bytes));
    v.tensor = torch::empty({ref.numel}, torch::TensorOptions(ref.dtype));
    if (ref.bytes) std::memcpy(v.tensor.data_ptr(), data + e.offset, ref.bytes);
    storages.emplace(ref.key, v.tensor);
    return v;
  };
  Unpickler u(data + pkl.offset, pkl.size, 0, origin, load_storage);
  const Value root = u.load();
  return to_state_dict(u, root, "zip");
}

// ---------------------------------------------------------------------------
// The legacy serialisation: pickles of a magic number, the protocol
// version (1001), system information and the object (storages as
// persistent ids), a pickled list of storage keys, then each storage in
// that order as an int64 element count and its raw bytes.

constexpr std::array<uint8_t, 10> kLegacyMagic = {0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                                  0x20, 0x6a, 0xa8, 0x50, 0x19};

TorchStateDict parse_legacy(const uint8_t* data, size_t size,
                            const std::string& origin) {
  size_t pos = 0;
  {
    Unpickler u(data, size, pos, origin);
    const Value magic = u.load();
    if (magic.kind != Value::Kind::BigInt || magic.s->size() != 10 ||
        std::memcmp(magic.s->data(), kLegacyMagic.data(), 10) != 0)
      fail_bundle(origin,
                  "is a pickle but not a torch.save file (no magic number)");
    pos = u.position();
  }
  {
    Unpickler u(data, size, pos, origin);
    const Value version = u.load();
    if (version.kind != Value::Kind::Int || version.i != 1001)
      fail_bundle(origin, "legacy torch.save protocol " +
                              (version.kind == Value::Kind::Int
                                   ? std::to_string(version.i)
                                   : describe(version)) +
                              " is not supported (1001 is)");
    pos = u.position();
  }
  {
    Unpickler u(data, size, pos, origin);
    const Value info = u.load();
    if (info.kind == Value::Kind::Dict)
      for (const auto& [k, v] : u.pairs(info))
        if (k.kind == Value::Kind::String && *k.s == "little_endian" &&
            v.kind == Value::Kind::Bool && !v.i)
          fail_bundle(origin,
                      "was saved on a big-endian machine: not supported");
    pos = u.position();
  }
  // Storages are allocated when first named (their bytes follow the
  // pickles); together they must fit in the file.
  struct Storage {
    torch::Tensor tensor;
    size_t bytes;
  };
  std::map<std::string, Storage> storages;
  std::map<std::string, torch::Tensor> views;
  uint64_t declared = 0;
  auto load_storage = [&](Unpickler& u, const Value& pid) {
    const auto ref = storage_ref(u, pid, 6);
    auto it = storages.find(ref.key);
    if (it == storages.end()) {
      if (ref.bytes > size || declared + ref.bytes > size)
        fail_bundle(origin,
                    "storages declare more bytes than the file holds "
                    "(truncated or corrupt)");
      declared += ref.bytes;
      auto t = torch::empty({ref.numel}, torch::TensorOptions(ref.dtype));
      it = storages.emplace(ref.key, Storage{t, ref.bytes}).first;
    } else if (it->second.tensor.scalar_type() != ref.dtype ||
               it->second.tensor.numel() != ref.numel) {
      u.corrupt("storage '" + ref.key + "' is named with two types");
    }
    Value v;
    v.kind = Value::Kind::Storage;
    v.tensor = it->second.tensor;
    // A view of part of a storage (files of PyTorch < 0.4).
    const Value& view = u.items(pid)[5];
    if (view.kind == Value::Kind::None) return v;
    if (view.kind != Value::Kind::Tuple) u.corrupt("malformed storage view");
    const auto& vm = u.items(view);
    if (vm.size() != 3 || vm[0].kind != Value::Kind::String ||
        vm[1].kind != Value::Kind::Int || vm[2].kind != Value::Kind::Int)
      u.corrupt("malformed storage view");
    const int64_t offset = vm[1].i, length = vm[2].i;
    if (offset < 0 || length < 0 || offset > ref.numel ||
        length > ref.numel - offset)
      fail_bundle(origin, "a storage view lies outside its storage");
    v.tensor = views.emplace(*vm[0].s, v.tensor.narrow(0, offset, length))
                   .first->second;
    return v;
  };
  TorchStateDict sd;
  {
    Unpickler u(data, size, pos, origin, load_storage);
    const Value root = u.load();
    sd = to_state_dict(u, root, "legacy");
    pos = u.position();
  }
  std::vector<std::string> keys;
  {
    Unpickler u(data, size, pos, origin);
    const Value list = u.load();
    if (list.kind != Value::Kind::List)
      fail_bundle(origin, "corrupt: the storage key list is " + describe(list));
    for (const auto& k : u.items(list)) {
      if (k.kind != Value::Kind::String)
        fail_bundle(origin, "corrupt: a storage key is " + describe(k));
      keys.push_back(*k.s);
    }
    pos = u.position();
  }
  std::set<std::string> filled;
  for (const auto& key : keys) {
    auto it = storages.find(key);
    if (it == storages.end() || !filled.insert(key).second)
      fail_bundle(origin, "corrupt: storage '" + key +
                              "' is listed but not used, "
                              "or listed twice");
    auto& s = it->second;
    if (size - pos < 8)
      fail_bundle(origin, "truncated: storage '" + key + "' is missing");
    const auto numel = le(data + pos, 8);
    pos += 8;
    if (numel != static_cast<uint64_t>(s.tensor.numel()))
      fail_bundle(origin, "corrupt: storage '" + key + "' has " +
                              std::to_string(numel) +
                              " elements, its tensors say " +
                              std::to_string(s.tensor.numel()));
    if (size - pos < s.bytes)
      fail_bundle(origin, "truncated: storage '" + key + "' runs past the end");
    if (s.bytes) std::memcpy(s.tensor.data_ptr(), data + pos, s.bytes);
    pos += s.bytes;
  }
  if (filled.size() != storages.size())
    fail_bundle(origin, "truncated or corrupt: " +
                            std::to_string(storages.size() - filled.size()) +
                            " storage(s) have no data");
  return sd;
}

}  // namespace

TorchStateDict parse_torch_state_dict(const uint8_t* data, size_t size,
                                      const std::string& origin) {
  if (size >= 4 && data[0] == 'P' && data[1] == 'K' && data[2] == 3 &&
      data[3] == 4)
    return parse_zip(data, size, origin);
  if (size >= 2 && data[0] == 0x80)  // a pickle's PROTO opcode
    return parse_legacy(data, size, origin);
  if (size == 0) fail_bundle(origin, "is empty");
  fail_bundle(origin,
              "is not a torch.save file (neither a zip archive nor a pickle)");
}

TorchStateDict read_torch_state_dict(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail_bundle(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
  if (in.bad()) fail_bundle(path, "read error");
  return parse_torch_state_dict(bytes.data(), bytes.size(), path);
}

}  // namespace neuralart
