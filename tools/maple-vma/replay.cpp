// replay.cpp - see replay.h. The rules (which address space a line belongs
// to, seeding from maps.start, file identity, the hidden anon_vma state) are
// documented in docs/mm.md "Replaying traces".
#include "replay.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

namespace maple::vma_tool {

namespace fs = std::filesystem;
namespace mmns = maple::mm;

namespace {

std::vector<std::string> split_lines(const std::string &text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    out.emplace_back(text, pos, nl - pos);
    pos = nl + 1;
  }
  return out;
}

std::string hexs(std::uint64_t v) {
  std::ostringstream o;
  o << "0x" << std::hex << v;
  return o.str();
}

std::string errname(std::error_code ec) {
  return ec.message() + " (" + std::to_string(ec.value()) + ")";
}

}  // namespace

// ---- snapshots -----------------------------------------------------------------

void snapshot_set::add(const std::string &name, std::string text) {
  for (const std::string &l : split_lines(text)) {
    mmns::maps_line ml;
    if (mmns::parse_maps_line(l, ml)) continue;
    if (ml.name.empty() || ml.name.front() == '[' || ml.inode == 0) continue;
    paths[ml.name] = ident{ml.dev_major, ml.dev_minor, ml.inode};
  }
  files[name] = std::move(text);
}

snapshot_set snapshot_set::load(const std::string &dir, std::string &why) {
  snapshot_set s;
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return s;
  std::vector<fs::path> names;
  for (const fs::directory_entry &e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (n.rfind("maps.", 0) == 0 && e.is_regular_file(ec)) names.push_back(e.path());
  }
  std::sort(names.begin(), names.end());
  for (const fs::path &p : names) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
      why = "cannot read " + p.string();
      continue;
    }
    std::ostringstream o;
    o << in.rdbuf();
    s.add(p.filename().string(), o.str());
  }
  return s;
}

std::string snapshot_name(char kind, std::int64_t pid, int execs) {
  const char *k = kind == 'a' ? "start" : kind == 'b' ? "init" : kind == 'c' ? "fork" : "end";
  std::string n = std::string("maps.") + k + "." + std::to_string(pid);
  if (execs >= 2) n += "." + std::to_string(execs);
  return n;
}

// ---- the diff ----------------------------------------------------------------------

std::string unified_diff(const std::vector<std::string> &a, const std::vector<std::string> &b,
                         const std::string &a_name, const std::string &b_name) {
  // Common prefix and suffix, then an LCS table over the middle.
  std::size_t pre = 0;
  while (pre < a.size() && pre < b.size() && a[pre] == b[pre]) ++pre;
  std::size_t suf = 0;
  while (suf < a.size() - pre && suf < b.size() - pre &&
         a[a.size() - 1 - suf] == b[b.size() - 1 - suf])
    ++suf;
  std::size_t n = a.size() - pre - suf, m = b.size() - pre - suf;
  if (n == 0 && m == 0) return {};
  // ops: ' ' keep, '-' a only, '+' b only; with indices.
  struct op {
    char c;
    std::size_t ai, bi;
  };
  std::vector<op> ops;
  for (std::size_t i = 0; i < pre; ++i) ops.push_back({' ', i, i});
  constexpr std::size_t max_cells = std::size_t{1} << 24;
  if (n != 0 && m != 0 && (n + 1) * (m + 1) <= max_cells) {
    std::vector<std::uint32_t> t((n + 1) * (m + 1), 0);
    auto at = [&](std::size_t i, std::size_t j) -> std::uint32_t & { return t[i * (m + 1) + j]; };
    for (std::size_t i = n; i-- > 0;)
      for (std::size_t j = m; j-- > 0;)
        at(i, j) =
            a[pre + i] == b[pre + j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    std::size_t i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[pre + i] == b[pre + j]) {
        ops.push_back({' ', pre + i++, pre + j++});
      } else if (i < n && (j == m || at(i + 1, j) >= at(i, j + 1))) {
        ops.push_back({'-', pre + i++, pre + j});
      } else {
        ops.push_back({'+', pre + i, pre + j++});
      }
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) ops.push_back({'-', pre + i, pre});
    for (std::size_t j = 0; j < m; ++j) ops.push_back({'+', pre + n, pre + j});
  }
  for (std::size_t i = 0; i < suf; ++i) ops.push_back({' ', pre + n + i, pre + m + i});

  std::string out = "--- " + a_name + "\n+++ " + b_name + "\n";
  constexpr std::size_t ctx = 3;
  std::size_t k = 0;
  while (k < ops.size()) {
    if (ops[k].c == ' ') {
      ++k;
      continue;
    }
    // A hunk: from ctx before this change to ctx after the last change that
    // is within 2*ctx of the previous one.
    std::size_t s = k >= ctx ? k - ctx : 0;
    std::size_t e = k;
    for (std::size_t q = k; q < ops.size(); ++q) {
      if (ops[q].c != ' ')
        e = q;
      else if (q - e > 2 * ctx)
        break;
    }
    std::size_t stop = std::min(ops.size(), e + ctx + 1);
    std::size_t a0 = ops[s].ai, b0 = ops[s].bi, al = 0, bl = 0;
    for (std::size_t q = s; q < stop; ++q) {
      if (ops[q].c != '+') ++al;
      if (ops[q].c != '-') ++bl;
    }
    out += "@@ -" + std::to_string(al ? a0 + 1 : a0) + "," + std::to_string(al) + " +" +
           std::to_string(bl ? b0 + 1 : b0) + "," + std::to_string(bl) + " @@\n";
    for (std::size_t q = s; q < stop; ++q) {
      out += ops[q].c;
      out += ops[q].c == '+' ? b[ops[q].bi] : a[ops[q].ai];
      out += '\n';
    }
    k = stop;
  }
  return out;
}

std::string compare_maps(const std::string &kernel, const std::string &model,
                         const std::string &kernel_name, std::vector<std::string> &ignored) {
  std::vector<std::string> a = split_lines(kernel), b = split_lines(model);
  std::vector<mmns::maps_line> ka(a.size());
  std::vector<bool> kok(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) kok[i] = !mmns::parse_maps_line(a[i], ka[i]);
  for (std::string &line : b) {
    mmns::maps_line ml;
    if (mmns::parse_maps_line(line, ml)) continue;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!kok[i]) continue;
      const mmns::maps_line &kl = ka[i];
      bool same_rest = kl.r == ml.r && kl.w == ml.w && kl.x == ml.x && kl.shared == ml.shared &&
                       kl.offset == ml.offset && kl.dev_major == ml.dev_major &&
                       kl.dev_minor == ml.dev_minor && kl.name == ml.name;
      // 1. [stack] grown down by page faults: same end, lower start.
      if (ml.name == "[stack]" && kl.name == "[stack]" && same_rest && kl.inode == ml.inode &&
          kl.end == ml.end && kl.start < ml.start) {
        std::ostringstream o;
        o << "[stack] grew by page faults (not in strace): model " << std::hex << ml.start << "-"
          << ml.end << ", kernel " << kl.start << "-" << kl.end << std::dec << " (+"
          << (ml.start - kl.start) / 4096 << " pages)";
        ignored.push_back(o.str());
        mmns::maps_line fixed = ml;
        fixed.start = kl.start;
        line = mmns::format_maps_line(fixed);
        line.pop_back();
        break;
      }
      // 2. shmem inode numbers of shared anonymous memory.
      if (ml.name == "/dev/zero (deleted)" && same_rest && kl.start == ml.start &&
          kl.end == ml.end && kl.inode != ml.inode) {
        std::ostringstream o;
        o << "/dev/zero (deleted) at " << std::hex << ml.start << std::dec
          << ": shmem inode (kernel " << kl.inode << ", model " << ml.inode << ") is not in strace";
        ignored.push_back(o.str());
        mmns::maps_line fixed = ml;
        fixed.inode = kl.inode;
        line = mmns::format_maps_line(fixed);
        line.pop_back();
        break;
      }
    }
  }
  return unified_diff(a, b, kernel_name + " (kernel)", "model");
}

// ---- the replayer ----------------------------------------------------------------

namespace {

struct fd_entry {
  std::string path;
  mmns::file_ref file;
};
using fd_table = std::map<std::uint64_t, fd_entry>;

struct process {
  std::int64_t tgid = 0;
  mm_record *mm = nullptr;
  std::shared_ptr<fd_table> fds;
  int execs = 0;
  std::set<std::int64_t> tasks;
};

struct creation {
  std::size_t event = 0;  // index of the clone/fork event
  std::int64_t parent = 0;
  std::uint64_t flags = 0;
};

constexpr std::uint64_t clone_vm = 0x100, clone_files = 0x400, clone_thread = 0x10000;

}  // namespace

struct replayer::impl {
  replayer &r;
  snapshot_set snaps;
  replay_options opt;
  std::map<std::int64_t, std::shared_ptr<process>> tasks;  // tid -> process
  std::map<std::int64_t, creation> created_by;             // child tid -> its creation
  std::set<std::size_t> creations_done;                    // event indices applied
  std::set<std::string> compared;
  std::set<std::string> writable_paths;  // mapped MAP_SHARED + PROT_WRITE somewhere
  std::uint64_t next_file_id = 1;
  const std::vector<event> *events = nullptr;
  std::size_t current = 0;

  impl(replayer &rr, snapshot_set s, replay_options o)
      : r(rr), snaps(std::move(s)), opt(std::move(o)) {}

  void diverge(const event &e, std::string what) {
    r.divs_.push_back({e.line, e.name + ": " + std::move(what)});
  }

  mm_record *new_mm(std::int64_t pid, int execs, std::string label) {
    auto m = std::make_unique<mm_record>();
    m->id = static_cast<int>(r.mms_.size()) + 1;
    m->pid = pid;
    m->execs = execs;
    m->label = std::move(label);
    m->as = std::make_unique<mmns::address_space>();
    m->as->set_lockless_lookups(opt.lockless_lookups);
    r.mms_.push_back(std::move(m));
    return r.mms_.back().get();
  }

  mmns::file_ref make_file(const std::string &path) {
    auto f = std::make_shared<mmns::file>();
    f->id = next_file_id++;
    f->path = path;
    if (auto it = snaps.paths.find(path); it != snaps.paths.end()) {
      f->dev_major = it->second.major;
      f->dev_minor = it->second.minor;
      f->inode = it->second.inode;
    }
    f->readable = true;
    f->writable = writable_paths.count(path) != 0;
    return f;
  }

  // fd + path -> the open file description (same fd and path: same one).
  mmns::file_ref file_for(process &p, std::uint64_t fd, const std::string &path) {
    fd_entry &e = (*p.fds)[fd];
    if (!e.file || e.path != path) {
      e.path = path;
      e.file = make_file(path);
    }
    return e.file;
  }

  // ---- seeding from maps.start ----
  void seed(mm_record &m, const std::string &text, const event &e) {
    mmns::layout lay = m.as->get_layout();
    std::map<std::string, mmns::file_ref> files;  // one file per path
    std::optional<mmns::maps_line> heap;
    for (const std::string &l : split_lines(text)) {
      mmns::maps_line ml;
      std::string why;
      if (mmns::parse_maps_line(l, ml, &why)) {
        r.divs_.push_back({e.line, "seed: bad maps line '" + l + "': " + why});
        continue;
      }
      if (ml.name == "[vsyscall]") {
        lay.show_vsyscall = true;
        continue;
      }
      mmns::vma_info v;
      v.start = ml.start;
      v.end = ml.end;
      v.flags = (ml.r ? mmns::vm::read : 0) | (ml.w ? mmns::vm::write : 0) |
                (ml.x ? mmns::vm::exec : 0) | mmns::vm::mayread | mmns::vm::maywrite |
                mmns::vm::mayexec;
      if (ml.shared) v.flags |= mmns::vm::mayshare | (ml.w ? mmns::vm::shared : 0);
      bool special = ml.name.size() > 2 && ml.name.front() == '[' && ml.name != "[heap]" &&
                     ml.name != "[stack]" && ml.name.rfind("[anon:", 0) != 0 &&
                     ml.name.rfind("[anon_shmem:", 0) != 0;
      bool is_file = !ml.name.empty() && ml.name.front() != '[';
      if (special) {
        v.special_name = ml.name;
        v.flags |= mmns::vm::dontexpand;
        if (ml.name.rfind("[vvar", 0) == 0)
          v.flags |= mmns::vm::io | mmns::vm::pfnmap | mmns::vm::dontdump;
        v.pgoff = 0;
      } else if (is_file) {
        mmns::file_ref &f = files[ml.name];
        if (!f) {
          auto nf = std::make_shared<mmns::file>();
          nf->id = next_file_id++;
          nf->path = ml.name;
          nf->dev_major = ml.dev_major;
          nf->dev_minor = ml.dev_minor;
          nf->inode = ml.inode;
          nf->writable = ml.shared && ml.w;
          // The kernel prints a shared anonymous mapping's shmem file so.
          nf->anon_shmem = ml.name == "/dev/zero (deleted)";
          f = nf;
        }
        v.file = f;
        v.pgoff = ml.offset >> mmns::page_shift;
      } else {
        v.pgoff = ml.start >> mmns::page_shift;
        if (ml.name.rfind("[anon:", 0) == 0 && ml.name.back() == ']')
          v.anon_name = ml.name.substr(6, ml.name.size() - 7);
      }
      if (!ml.shared && ml.w && !special) v.flags |= mmns::vm::account;
      if (ml.name == "[stack]") {
        v.flags |= mmns::vm::growsdown;
        lay.start_stack = ml.end - 8;
      }
      if (ml.name == "[heap]") heap = ml;
      if (std::error_code ec = m.as->insert_vma(v)) {
        r.divs_.push_back({e.line, "seed: cannot insert '" + l + "': " + errname(ec)});
      }
    }
    // The break: the brk results seen so far, else the [heap] line.
    if (m.first_brk) {
      lay.start_brk = *m.first_brk;
      lay.brk = m.last_brk ? *m.last_brk : *m.first_brk;
      m.brk_known = true;
    } else if (heap) {
      lay.start_brk = heap->start;
      lay.brk = heap->end;
      m.brk_known = true;
    }
    m.as->set_layout(lay);
    m.seeded = m.used = true;
    m.awaiting_start = false;
  }

  // ---- tasks ----
  std::shared_ptr<process> task(const event &e) {
    auto it = tasks.find(e.tid);
    if (it != tasks.end()) return it->second;
    // Created by a clone whose result line comes later: apply it now.
    if (auto c = created_by.find(e.tid);
        c != created_by.end() && !creations_done.count(c->second.event)) {
      apply_creation(c->second.event);
      it = tasks.find(e.tid);
      if (it != tasks.end()) return it->second;
    }
    // A task of unknown origin (the traced root): its own process.
    auto p = std::make_shared<process>();
    p->tgid = e.tid;
    p->fds = std::make_shared<fd_table>();
    p->mm = new_mm(e.tid, 0, "pid " + std::to_string(e.tid));
    if (!r.mms_.empty() && tasks.size() > 0) {
      r.divs_.push_back({e.line, "task " + std::to_string(e.tid) + " of unknown origin"});
    }
    p->tasks.insert(e.tid);
    tasks[e.tid] = p;
    return p;
  }

  void apply_creation(std::size_t idx) {
    if (!creations_done.insert(idx).second) return;
    const event &e = (*events)[idx];
    std::int64_t child = e.res.value;
    creation c = created_by[child];
    std::shared_ptr<process> parent = task(e);
    if (tasks.count(child)) return;
    if (c.flags & clone_thread) {
      parent->tasks.insert(child);
      tasks[child] = parent;
      return;
    }
    auto p = std::make_shared<process>();
    p->tgid = child;
    p->execs = 0;
    p->tasks.insert(child);
    p->fds = (c.flags & clone_files) ? parent->fds : std::make_shared<fd_table>(*parent->fds);
    if (c.flags & clone_vm) {
      p->mm = parent->mm;  // vfork / posix_spawn: the parent's mm until execve
    } else {
      mm_record *pm = parent->mm;
      mm_record *cm = new_mm(child, 0, "fork of " + std::to_string(parent->tgid));
      if (opt.touch_at_fork) {
        // The hidden anon_vma state: a writable private VMA present at a fork
        // counts as written (docs/mm.md "Replaying traces").
        for (const mmns::vma_info &v : pm->as->vmas()) {
          if ((v.flags & mmns::vm::write) && !(v.flags & mmns::vm::shared) &&
              v.special_name.empty())
            (void)pm->as->touch(v.start, v.end - v.start);
        }
      }
      if (std::error_code ec = pm->as->fork(*cm->as)) diverge(e, "fork: " + errname(ec));
      mmns::layout l = pm->as->get_layout();
      cm->as->set_layout(l);
      cm->brk_known = pm->brk_known;
      cm->used = true;
      p->mm = cm;
    }
    tasks[child] = p;
  }

  void task_gone(std::int64_t tid, const std::string &how) {
    auto it = tasks.find(tid);
    if (it == tasks.end()) return;
    std::shared_ptr<process> p = it->second;
    tasks.erase(it);
    p->tasks.erase(tid);
    if (p->tasks.empty() && p->mm && p->mm->pid == p->tgid) p->mm->state = how;
  }

  // ---- the syscalls: one typed record each (event::call), applied by kind ----
  static std::uint64_t ret(const event &e) { return static_cast<std::uint64_t>(e.res.value); }

  void check_marker(process &p, const event &e, char kind, bool end) {
    ++r.st_.markers;
    mm_record &m = *p.mm;
    std::string name = snapshot_name(kind, p.tgid, p.execs);
    if (kind == 'a' && m.awaiting_start && !end) {
      auto it = snaps.files.find(name);
      if (it != snaps.files.end()) seed(m, it->second, e);
    }
    if (!end || !opt.check) return;
    auto it = snaps.files.find(name);
    if (it == snaps.files.end()) return;
    comparison c;
    c.file = name;
    c.pid = p.tgid;
    c.line = e.line;
    c.diff = compare_maps(it->second, m.as->maps(), name, c.ignored);
    c.matched = c.diff.empty();
    compared.insert(name);
    r.cmps_.push_back(std::move(c));
  }

  // A call that failed (counted, changes nothing) or was interrupted.
  void count_unsuccessful(const event &e) {
    if (e.res.failed()) ++r.st_.failed[e.name];
    if (e.res.restarted()) ++r.st_.restarted[e.name];
  }

  void syscall(const event &e) {
    ++r.st_.syscalls;
    ++r.st_.calls[e.name];
    std::shared_ptr<process> pp = task(e);
    process &p = *pp;
    // Creation and exec come first: they change which mm the task uses.
    switch (e.call.kind) {
      case call_kind::create: return on_create(e);
      case call_kind::exec: return on_exec(p, e);
      case call_kind::exit: return;  // the +++ line ends the task
      case call_kind::marker: return check_marker(p, e, e.call.marker, e.call.marker_end);
      default: break;
    }
    if (e.res.failed() || e.res.unknown) return count_unsuccessful(e);
    mm_record &m = *p.mm;
    if (m.awaiting_start) return before_start(m, e);
    m.used = true;
    if (e.call.kind == call_kind::none) {
      ++r.st_.no_vma_change[e.name];  // personality, prctl(PR_SET_NAME), ...
      return;
    }
    if (e.call.kind == call_kind::not_modelled) {
      ++r.st_.not_modelled[e.name];  // reported once per kind, not a divergence
      return;
    }
    ++r.st_.applied;
    if (!e.call.error.empty()) return diverge(e, e.call.error);
    apply(p, m, e);
  }

  void on_create(const event &e) {
    if (e.res.unknown || e.res.value <= 0) return count_unsuccessful(e);
    apply_creation(current);
  }

  void on_exec(process &p, const event &e) {
    if (e.res.unknown || e.res.value != 0) return count_unsuccessful(e);
    mm_record *old = p.mm;
    ++p.execs;
    std::string label = e.call.path.empty() ? "pid " + std::to_string(p.tgid) : e.call.path;
    p.mm = new_mm(p.tgid, p.execs, label);
    p.mm->awaiting_start = snaps.files.count(snapshot_name('a', p.tgid, p.execs)) != 0;
    p.mm->used = true;
    if (old && old->pid == p.tgid)
      old->state = "replaced by execve at line " + std::to_string(e.line);
    // A new image: a fresh fd table is not needed (fds survive exec), but the
    // CLONE_FILES sharing with the parent ends.
    p.fds = std::make_shared<fd_table>(*p.fds);
  }

  // Between execve and the start marker: in maps.start already; only the
  // break is remembered.
  void before_start(mm_record &m, const event &e) {
    ++r.st_.skipped[e.name];
    if (e.call.kind != call_kind::brk) return;
    if (!m.first_brk) m.first_brk = ret(e);
    m.last_brk = ret(e);
  }

  void check(const event &e, std::error_code ec) {
    if (ec) diverge(e, "model says " + errname(ec));
  }

  void apply(process &p, mm_record &m, const event &e) {
    const vma_call &c = e.call;
    mmns::address_space &as = *m.as;
    switch (c.kind) {
      case call_kind::mmap: return apply_mmap(p, as, e);
      case call_kind::munmap: return check(e, as.munmap(c.addr, c.len));
      case call_kind::mprotect:
        return check(e, as.mprotect(c.addr, c.len, static_cast<unsigned>(c.prot)));
      case call_kind::mremap: return apply_mremap(as, e);
      case call_kind::brk: return apply_brk(m, e);
      case call_kind::madvise:
        return check(e, as.madvise(c.addr, c.len, static_cast<int>(c.flags)));
      case call_kind::mlock:
        return check(e, as.mlock(c.addr, c.len, static_cast<unsigned>(c.flags)));
      case call_kind::munlock: return check(e, as.munlock(c.addr, c.len));
      case call_kind::set_vma:
        // PR_SET_VMA_ANON_NAME is sub-option 0; the others change nothing here.
        if (c.option == 0) check(e, as.set_anon_name(c.addr, c.len, c.name));
        return;
      default: return;
    }
  }

  void apply_mmap(process &p, mmns::address_space &as, const event &e) {
    const vma_call &c = e.call;
    mmns::file_ref f;
    if (!(c.flags & mmns::map_anonymous)) f = file_for(p, c.fd, c.path);
    unsigned flags = static_cast<unsigned>(c.flags);
    // The returned address, as MAP_FIXED (ASLR); a call that was not
    // MAP_FIXED found a free range, so the model must not replace anything.
    if (!(flags & (mmns::map_fixed | mmns::map_fixed_noreplace)))
      flags |= mmns::map_fixed_noreplace;
    std::uint64_t out = 0;
    unsigned prot = static_cast<unsigned>(c.prot);
    if (std::error_code ec = as.mmap(ret(e), c.len, prot, flags, f, c.offset, out))
      diverge(e, "at " + hexs(ret(e)) + ": model says " + errname(ec));
    else if (out != ret(e))
      diverge(e, "model placed it at " + hexs(out) + ", kernel at " + hexs(ret(e)));
    else if (opt.touch_on_mmap && !f && (flags & mmns::map_type) == mmns::map_private &&
             (prot & mmns::prot_write))
      (void)as.touch(out, c.len);  // written at once (docs/mm.md "Replaying traces")
  }

  void apply_mremap(mmns::address_space &as, const event &e) {
    const vma_call &c = e.call;
    unsigned flags = static_cast<unsigned>(c.flags);
    std::uint64_t target = 0;
    if (ret(e) == c.addr && !(flags & mmns::mremap_fixed)) {
      flags &= ~unsigned(mmns::mremap_maymove);  // stayed: in place only
    } else {
      flags |= mmns::mremap_maymove | mmns::mremap_fixed;
      target = ret(e);
    }
    if (opt.touch_on_move && c.new_len > c.len) {
      // Data kept by a growing/moving mremap was written (anon_vma: the
      // moved VMA keeps its pgoff).
      if (auto v = as.vma_lookup(c.addr);
          v && !(v->flags & mmns::vm::shared) && (v->flags & mmns::vm::write))
        (void)as.touch(c.addr, c.len);
    }
    std::uint64_t out = 0;
    if (std::error_code ec = as.mremap(c.addr, c.len, c.new_len, flags, target, out))
      diverge(e, "model says " + errname(ec));
    else if (out != ret(e))
      diverge(e, "model moved it to " + hexs(out) + ", kernel to " + hexs(ret(e)));
  }

  void apply_brk(mm_record &m, const event &e) {
    std::uint64_t want = e.call.addr;
    mmns::address_space &as = *m.as;
    mmns::layout l = as.get_layout();
    if (!m.brk_known) {
      // The first brk result is the break at exec (start_brk).
      l.start_brk = l.brk = ret(e);
      as.set_layout(l);
      m.brk_known = true;
      if (want == 0) return;
    }
    if (want == 0) {
      if (ret(e) != l.brk)
        diverge(e, "brk is " + hexs(l.brk) + " in the model, " + hexs(ret(e)) + " in the kernel");
      return;
    }
    if (ret(e) != want) return;  // refused by the kernel: nothing changed
    std::uint64_t got = as.brk(want);
    if (got != ret(e)) diverge(e, "model's brk(" + hexs(want) + ") = " + hexs(got));
  }

  // Every successful clone (child tid, flags) and the paths mapped shared
  // and writable, before the replay (docs/mm.md "Replaying traces").
  void prescan(const std::vector<event> &evs) {
    for (std::size_t i = 0; i < evs.size(); ++i) {
      const event &e = evs[i];
      if (e.t != event::type::syscall) continue;
      const vma_call &c = e.call;
      if (c.kind == call_kind::create && !e.res.unknown && e.res.value > 0)
        created_by.emplace(e.res.value, creation{i, e.tid, c.flags});
      if (c.kind == call_kind::mmap && c.has_fd && c.prot_flags_known &&
          (c.flags & mmns::map_type) != mmns::map_private && (c.prot & mmns::prot_write))
        writable_paths.insert(c.path);
    }
  }
};

replayer::replayer(snapshot_set snaps, replay_options opt)
    : p_(std::make_unique<impl>(*this, std::move(snaps), std::move(opt))) {}

replayer::~replayer() = default;

void replayer::run(const std::vector<event> &events) {
  auto t0 = std::chrono::steady_clock::now();
  impl &m = *p_;
  m.events = &events;
  m.prescan(events);
  for (std::size_t i = 0; i < events.size(); ++i) {
    m.current = i;
    const event &e = events[i];
    switch (e.t) {
      case event::type::syscall: m.syscall(e); break;
      case event::type::signal: break;
      case event::type::exited:
        m.task(e);
        m.task_gone(e.tid, "exited with " + std::to_string(e.exit_status));
        break;
      case event::type::killed:
        m.task(e);
        m.task_gone(e.tid, "killed by " + e.name);
        break;
    }
    if (m.opt.progress && (i % 4096 == 0 || i + 1 == events.size()))
      m.opt.progress(i + 1, events.size());
  }
  st_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<std::string> replayer::uncompared() const {
  std::vector<std::string> v;
  for (const auto &[name, text] : p_->snaps.files)
    if (!p_->compared.count(name)) v.push_back(name);
  return v;
}

}  // namespace maple::vma_tool
