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

// ---- the replayer ----------------------------------------------------------------

namespace {

// A file under a name: unlinking the name, or renaming another file over
// it, deletes it for every open file on it (d_path then prints
// " (deleted)"); renaming it renames them all.
struct inode_rec {
  std::string name;  ///< without " (deleted)"
  bool deleted = false;
  std::vector<std::weak_ptr<mmns::file>> files;  ///< its open file descriptions
};

// One fd: its open file description (shared by dup and fork), the file it
// is open on, and the fd's own close-on-exec flag.
struct fd_entry {
  std::shared_ptr<mmns::file> file;  ///< null: opened, name not known yet
  std::shared_ptr<inode_rec> node;
  int access = -1;  ///< O_RDONLY 0, O_WRONLY 1, O_RDWR 2 when a traced open said so
  bool cloexec = false;
};
using fd_table = std::map<std::uint64_t, fd_entry>;

struct process {
  std::int64_t tgid = 0;
  mm_record *mm = nullptr;
  std::shared_ptr<fd_table> fds;
  int execs = 0;
  std::set<std::int64_t> tasks;
  std::string cwd;  ///< from AT_FDCWD</dir> decorations ("" unknown)
};

bool is_file_call(call_kind k) {
  switch (k) {
    case call_kind::open:
    case call_kind::close:
    case call_kind::close_range:
    case call_kind::dup:
    case call_kind::set_cloexec:
    case call_kind::unlink:
    case call_kind::rename: return true;
    default: return false;
  }
}

constexpr std::uint64_t at_removedir = 0x200, rename_exchange = 2;
constexpr std::uint64_t close_range_unshare = 2, close_range_cloexec = 4;
constexpr std::string_view deleted_suffix = " (deleted)";

std::string without_deleted(const std::string &p) {
  std::size_t n = deleted_suffix.size();
  bool has = p.size() > n && p.compare(p.size() - n, n, deleted_suffix) == 0;
  return has ? p.substr(0, p.size() - n) : p;
}

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
  std::map<std::string, std::shared_ptr<inode_rec>> names;  // live names -> files
  bool lifetime_traced = false;  // unlink/rename, or open and close, in the trace
  std::uint64_t next_file_id = 1;
  const std::vector<event> *events = nullptr;
  std::size_t current = 0;
  // Concurrent calls (docs/mm.md "Concurrent calls"): the split calls by
  // start line, those started before the current event's result line and
  // not applied yet, and those applied ahead of their result line.
  std::vector<std::pair<std::size_t, std::size_t>> started;  // (start line, event)
  std::size_t next_started = 0;
  std::vector<std::size_t> in_flight;  // event indices, ascending (completion order)
  std::vector<bool> applied_early;     // by event index
  bool applying_early = false;
  // r.st_.calls' counter of the last call name (traces repeat a name many
  // times over): found again with one string compare instead of a lookup.
  std::map<std::string, std::uint64_t>::iterator last_call_count;
  bool have_last_call_count = false;

  impl(replayer &rr, snapshot_set s, replay_options o)
      : r(rr), snaps(std::move(s)), opt(std::move(o)) {}

  void diverge(const event &e, std::string what) {
    r.divs_.push_back({e.line, e.name + ": " + std::move(what)});
  }

  // Tells the observer (replay_options::on_vma_change) that m may have changed.
  void changed(const std::string &what, const mm_record &m) const {
    if (opt.on_vma_change) opt.on_vma_change(r.st_.syscalls, what, m);
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

  // ---- files: names, open file descriptions, fd tables ----

  // Device and inode of a name, from the snapshots; unchanged if none has it.
  void set_ident(mmns::file &f) const {
    if (auto it = snaps.paths.find(f.path); it != snaps.paths.end()) {
      f.dev_major = it->second.major;
      f.dev_minor = it->second.minor;
      f.inode = it->second.inode;
    }
  }

  // The file under a name (a deleted one is nobody's name any more).
  std::shared_ptr<inode_rec> node_for(const std::string &path, bool deleted) {
    if (deleted) {
      auto n = std::make_shared<inode_rec>();
      n->name = without_deleted(path);
      n->deleted = true;
      return n;
    }
    std::shared_ptr<inode_rec> &n = names[path];
    if (!n) {
      n = std::make_shared<inode_rec>();
      n->name = path;
    }
    return n;
  }

  // A new open file description on `node`; the open mode from the open's
  // flags when traced (access >= 0), else guessed from the trace's maps.
  std::shared_ptr<mmns::file> new_file(const std::shared_ptr<inode_rec> &node, int access) {
    auto f = std::make_shared<mmns::file>();
    f->id = next_file_id++;
    f->path = node->deleted ? node->name + std::string(deleted_suffix) : node->name;
    set_ident(*f);
    if (access >= 0) {
      f->readable = access != 1;
      f->writable = access != 0;
    } else {
      f->readable = true;
      f->writable = writable_paths.count(f->path) != 0 || writable_paths.count(node->name) != 0;
    }
    prune(*node);
    node->files.push_back(f);
    return f;
  }

  // Drops the closed and unmapped files of a name now and then (a name
  // opened again and again).
  static void prune(inode_rec &n) {
    std::size_t k = n.files.size();
    if (k >= 16 && (k & (k - 1)) == 0)
      std::erase_if(n.files, [](const std::weak_ptr<mmns::file> &w) { return w.expired(); });
  }

  // Every open file of node prints its (new) name.
  void rename_files(inode_rec &n) {
    for (const std::weak_ptr<mmns::file> &w : n.files) {
      if (std::shared_ptr<mmns::file> f = w.lock()) {
        f->path = n.deleted ? n.name + std::string(deleted_suffix) : n.name;
        set_ident(*f);
      }
    }
  }

  // (By value: the names map may hold the last reference.)
  void delete_node(std::shared_ptr<inode_rec> n) {
    if (n->deleted) return;
    n->deleted = true;
    if (auto it = names.find(n->name); it != names.end() && it->second == n) names.erase(it);
    rename_files(*n);
  }

  // fd + name of an mmap -> the open file description. The fd's entry when
  // its file has that name (or has been deleted since: strace now shows
  // " (deleted)"); else a new one (open/close not traced, or another file).
  mmns::file_ref file_for(process &p, std::uint64_t fd, const std::string &path, bool deleted) {
    fd_entry &e = (*p.fds)[fd];
    if (e.file && e.file->path != path) {
      if (deleted && !e.node->deleted && path == e.node->name + std::string(deleted_suffix)) {
        delete_node(e.node);
      } else {
        e.file = nullptr;
        e.access = -1;
      }
    }
    if (!e.file) {
      e.node = node_for(path, deleted);
      e.file = new_file(e.node, e.access);
    }
    return e.file;
  }

  // A relative name against the task's cwd, when known.
  static std::string resolve(const process &p, const std::string &name) {
    if (name.empty() || name.front() == '/' || p.cwd.empty()) return name;
    return normalize_path(p.cwd + "/" + name);
  }

  // ---- seeding from maps.start ----

  // The file of a maps line (one per name and mm), under its name: a later
  // unlink or rename in the trace changes how it prints.
  mmns::file_ref seed_file(const mmns::maps_line &ml) {
    bool deleted = without_deleted(ml.name) != ml.name;
    std::shared_ptr<inode_rec> node = node_for(ml.name, deleted);
    auto f = std::make_shared<mmns::file>();
    f->id = next_file_id++;
    f->path = ml.name;
    f->dev_major = ml.dev_major;
    f->dev_minor = ml.dev_minor;
    f->inode = ml.inode;
    f->writable = ml.shared && ml.w;
    // The kernel prints a shared anonymous mapping's shmem file so.
    f->anon_shmem = ml.name == "/dev/zero (deleted)";
    prune(*node);
    node->files.push_back(f);
    return f;
  }

  void seed(mm_record &m, const std::string &text, const event &e) {
    mmns::layout lay = m.as->get_layout();
    std::map<std::string, mmns::file_ref> files;  // one file per path
    std::optional<mmns::maps_line> heap;
    std::vector<mmns::vma_info> vmas;
    std::vector<std::string_view> lines;  // each VMA's maps line, for messages
    for (std::size_t pos = 0, nl = 0; pos < text.size(); pos = nl + 1) {
      nl = std::min(text.find('\n', pos), text.size());
      const std::string_view l(text.data() + pos, nl - pos);
      mmns::maps_line ml;
      std::string why;
      if (mmns::parse_maps_line(l, ml, &why)) {
        r.divs_.push_back(
            {e.line, std::string("seed: bad maps line '").append(l).append("': ").append(why)});
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
        if (!f) f = seed_file(ml);
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
      vmas.push_back(std::move(v));
      lines.push_back(l);
    }
    // At once when it can be; else one by one, to tell which line failed.
    if (m.as->map_count() != 0 || m.as->seed(vmas)) {
      for (std::size_t i = 0; i < vmas.size(); ++i)
        if (std::error_code ec = m.as->insert_vma(vmas[i]))
          r.divs_.push_back({e.line, std::string("seed: cannot insert '")
                                         .append(lines[i])
                                         .append("': ")
                                         .append(errname(ec))});
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
    changed("maps.start", m);
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
    // fork copies the fd table (the same open files), CLONE_FILES shares it.
    p->fds = (c.flags & clone_files) ? parent->fds : std::make_shared<fd_table>(*parent->fds);
    p->cwd = parent->cwd;
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
      changed(e.name, *pm);
      changed(e.name, *cm);
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
    if (!end) return;
    if (opt.check) compare(p, e, name);
    // After the comparison: the observer may look at it.
    if (opt.on_snapshot) opt.on_snapshot(r.st_.syscalls, name, e.line, m);
  }

  // The comparison with snapshot file `name`, if the set has it.
  void compare(process &p, const event &e, const std::string &name) {
    mm_record &m = *p.mm;
    auto it = snaps.files.find(name);
    if (it == snaps.files.end()) return;
    comparison c;
    c.file = name;
    c.pid = p.tgid;
    c.line = e.line;
    compare_context ctx;
    ctx.file_lifetime_traced = lifetime_traced;
    ctx.model_vmas = m.as->vmas();
    maps_verdict v = judge_maps(it->second, m.as->maps(), name, ctx);
    c.result = v.v;
    c.matched = v.v == verdict::match;
    c.diff = std::move(v.diff);
    c.ignored = std::move(v.ignored);
    c.undetermined = std::move(v.undetermined);
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
    ++call_count(e.name);
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
    // close releases the fd even when it fails with anything but EBADF
    // (the file's flush reported an error after the fd was gone).
    if (e.call.kind == call_kind::close && e.res.failed() && e.res.error != "EBADF")
      p.fds->erase(e.call.fd);
    if (e.res.failed() || e.res.unknown) return count_unsuccessful(e);
    // The fd table and file names change whether the mm awaits its start
    // marker or not (ld.so opens the libraries before it).
    if (is_file_call(e.call.kind)) return apply_file_call(p, e);
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
    apply_vma_call(p, m, e);
  }

  std::uint64_t &call_count(const std::string &name) {
    if (!have_last_call_count || last_call_count->first != name) {
      last_call_count = r.st_.calls.try_emplace(name, 0).first;
      have_last_call_count = true;
    }
    return last_call_count->second;
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
    // A new image: fds survive exec, but the CLONE_FILES sharing ends
    // (unshare_files) and close-on-exec fds are closed.
    p.fds = std::make_shared<fd_table>(*p.fds);
    std::erase_if(*p.fds, [](const auto &kv) { return kv.second.cloexec; });
  }

  // ---- file lifetime (docs/mm.md "File identity") ----

  void apply_file_call(process &p, const event &e) {
    const vma_call &c = e.call;
    ++r.st_.file_calls[e.name];
    if (!c.cwd.empty()) p.cwd = c.cwd;
    if (!c.error.empty()) return diverge(e, c.error);
    fd_table &t = *p.fds;
    switch (c.kind) {
      case call_kind::open: return on_open(p, e);
      case call_kind::close: t.erase(c.fd); return;
      case call_kind::close_range: return on_close_range(p, c);
      case call_kind::dup: return on_dup(p, e);
      case call_kind::set_cloexec:
        if (auto it = t.find(c.fd); it != t.end()) it->second.cloexec = c.cloexec;
        return;
      case call_kind::unlink:
        if (c.flags & at_removedir) return;  // rmdir: no file is open on an empty directory
        if (auto it = names.find(resolve(p, c.path)); it != names.end()) delete_node(it->second);
        return;
      case call_kind::rename: return rename_name(resolve(p, c.path), resolve(p, c.path2), c.flags);
      default: return;
    }
  }

  // A new open file description at the returned fd (the result's
  // decoration names the file; memfd's are deleted from the start).
  void on_open(process &p, const event &e) {
    const vma_call &c = e.call;
    fd_entry fe;
    fe.access = c.access;
    fe.cloexec = c.cloexec;
    std::string path = resolve(p, c.path);
    if (!path.empty()) {
      fe.node = node_for(path, c.deleted);
      fe.file = new_file(fe.node, c.access);
    }
    (*p.fds)[ret(e) & 0xffffffffu] = std::move(fe);
  }

  // dup, dup2, dup3, F_DUPFD: the new fd shares the open file description.
  void on_dup(process &p, const event &e) {
    const vma_call &c = e.call;
    fd_table &t = *p.fds;
    std::uint64_t nfd = ret(e) & 0xffffffffu;
    if (nfd == c.fd) return;  // dup2(fd, fd)
    auto it = t.find(c.fd);
    if (it == t.end() && !c.path.empty()) {
      // Opened where the trace does not show it: the decoration names it.
      (void)file_for(p, c.fd, c.path, c.deleted);
      it = t.find(c.fd);
    }
    if (it == t.end()) {
      t.erase(nfd);
      return;
    }
    fd_entry copy = it->second;
    copy.cloexec = c.cloexec;
    t[nfd] = std::move(copy);
  }

  void on_close_range(process &p, const vma_call &c) {
    if (c.flags & close_range_unshare) p.fds = std::make_shared<fd_table>(*p.fds);
    fd_table &t = *p.fds;
    for (auto it = t.lower_bound(c.fd); it != t.end() && it->first <= c.fd2;) {
      if (c.flags & close_range_cloexec) {
        (it++)->second.cloexec = true;
      } else {
        it = t.erase(it);
      }
    }
  }

  // rename(from, to): a file under `to` is deleted (unless it is the same
  // one), the file under `from` and any under `from/` take the new names.
  // RENAME_EXCHANGE swaps the two.
  void rename_name(const std::string &from, const std::string &to, std::uint64_t flags) {
    if (from == to || from.empty() || to.empty()) return;
    auto take = [&](const std::string &n) {
      std::shared_ptr<inode_rec> found;
      if (auto it = names.find(n); it != names.end()) {
        found = it->second;
        names.erase(it);
      }
      return found;
    };
    std::shared_ptr<inode_rec> src = take(from), dst = take(to);
    if (dst && !(flags & rename_exchange)) {
      names[to] = dst;  // delete_node takes it out again
      delete_node(dst);
      dst = nullptr;
    }
    // The names below a renamed directory move with it (both ways for an
    // exchange).
    std::vector<std::pair<std::shared_ptr<inode_rec>, std::string>> moved;
    if (src) moved.emplace_back(src, to);
    if (dst) moved.emplace_back(dst, from);
    take_below(from + "/", to + "/", moved);
    if (flags & rename_exchange) take_below(to + "/", from + "/", moved);
    for (const auto &[n, name] : moved) {
      n->name = name;
      names[name] = n;
      rename_files(*n);
    }
  }

  // Takes the names below directory `from` out, each with its name below `to`.
  void take_below(const std::string &from, const std::string &to,
                  std::vector<std::pair<std::shared_ptr<inode_rec>, std::string>> &moved) {
    for (auto it = names.lower_bound(from); it != names.end() && it->first.rfind(from, 0) == 0;) {
      moved.emplace_back(it->second, to + it->first.substr(from.size()));
      it = names.erase(it);
    }
  }

  // Between execve and the start marker: in maps.start already; only the
  // break is remembered.
  void before_start(mm_record &m, const event &e) {
    ++r.st_.skipped[e.name];
    if (e.call.kind != call_kind::brk) return;
    if (!m.first_brk) m.first_brk = ret(e);
    m.last_brk = ret(e);
  }

  static std::string said(std::error_code ec) {
    return ec ? "model says " + errname(ec) : std::string{};
  }

  // The end of [addr, addr + len) rounded up to a page, saturating.
  static std::uint64_t page_end(std::uint64_t addr, std::uint64_t len) {
    std::uint64_t e = addr + len;
    if (e < addr || e > ~std::uint64_t(mmns::page_size - 1)) return ~std::uint64_t(0);
    return (e + mmns::page_size - 1) & ~std::uint64_t(mmns::page_size - 1);
  }

  void apply(process &p, mm_record &m, const event &e) {
    mmns::file_ref f;
    if (e.call.kind == call_kind::mmap && !(e.call.flags & mmns::map_anonymous))
      f = file_for(p, e.call.fd, e.call.path, e.call.deleted);
    if (std::string d = replay_call(*m.as, e, f, m.brk_known); !d.empty()) diverge(e, std::move(d));
    changed(e.name, m);
  }

  // Applies a VMA call to `as` (the mm's own space, or a scratch copy in a
  // trial): "" when the model reproduced the kernel's result, else what
  // differed. `f`: an mmap's file; `brk_known`: the mm's flag (or a copy).
  std::string replay_call(mmns::address_space &as, const event &e, const mmns::file_ref &f,
                          bool &brk_known) {
    const vma_call &c = e.call;
    std::string d;
    switch (c.kind) {
      case call_kind::mmap: return replay_mmap(as, e, f);
      case call_kind::munmap: return said(as.munmap(c.addr, c.len));
      case call_kind::mprotect:
        return said(as.mprotect(c.addr, c.len, static_cast<unsigned>(c.prot)));
      case call_kind::mremap: return replay_mremap(as, e);
      case call_kind::brk: return replay_brk(as, e, brk_known);
      case call_kind::madvise:
        d = said(as.madvise(c.addr, c.len, static_cast<int>(c.flags)));
        if (c.flags == mmns::madv_populate_write) populated(as, c.addr, c.len);
        return d;
      case call_kind::mlock:
        d = said(as.mlock(c.addr, c.len, static_cast<unsigned>(c.flags)));
        if (!(c.flags & mmns::mlock_onfault)) populated(as, c.addr, c.len);
        return d;
      case call_kind::munlock: return said(as.munlock(c.addr, c.len));
      case call_kind::set_vma:
        // PR_SET_VMA_ANON_NAME is sub-option 0; the others change nothing here.
        return c.option == 0 ? said(as.set_anon_name(c.addr, c.len, c.name)) : std::string{};
      default: return d;
    }
  }

  std::string replay_mmap(mmns::address_space &as, const event &e, const mmns::file_ref &f) {
    const vma_call &c = e.call;
    unsigned flags = static_cast<unsigned>(c.flags);
    // The returned address, as MAP_FIXED (ASLR); a call that was not
    // MAP_FIXED found a free range, so the model must not replace anything.
    if (!(flags & (mmns::map_fixed | mmns::map_fixed_noreplace)))
      flags |= mmns::map_fixed_noreplace;
    std::uint64_t out = 0;
    unsigned prot = static_cast<unsigned>(c.prot);
    if (std::error_code ec = as.mmap(ret(e), c.len, prot, flags, f, c.offset, out))
      return "at " + hexs(ret(e)) + ": model says " + errname(ec);
    if (out != ret(e)) return "model placed it at " + hexs(out) + ", kernel at " + hexs(ret(e));
    if ((flags & mmns::map_locked) ||
        (flags & (mmns::map_populate | mmns::map_nonblock)) == mmns::map_populate)
      populated(as, out, c.len);
    else if (opt.touch_on_mmap && !f && (flags & mmns::map_type) == mmns::map_private &&
             (prot & mmns::prot_write))
      (void)as.touch(out, c.len);  // written at once (docs/mm.md "Replaying traces")
    return {};
  }

  // Known writes: the kernel populates a range (MAP_POPULATE, MAP_LOCKED,
  // mlock, MADV_POPULATE_WRITE) with write faults in private writable VMAs
  // (populate_vma_page_range: FOLL_WRITE when VM_WRITE without VM_SHARED),
  // and a write fault gives the VMA its anon_vma (anon_vma_prepare).
  void populated(mmns::address_space &as, std::uint64_t addr, std::uint64_t len) {
    std::uint64_t end = addr + len;
    for (const mmns::vma_info &v : as.vmas()) {
      if (v.end <= addr || v.start >= end) continue;
      if ((v.flags & (mmns::vm::write | mmns::vm::shared)) != mmns::vm::write) continue;
      std::uint64_t s = std::max(v.start, addr), e = std::min(v.end, end);
      (void)as.touch(s, e - s);
    }
  }

  std::string replay_mremap(mmns::address_space &as, const event &e) {
    const vma_call &c = e.call;
    unsigned flags = static_cast<unsigned>(c.flags);
    std::uint64_t target = 0;
    if (ret(e) == c.addr && !(flags & mmns::mremap_fixed)) {
      flags &= ~unsigned(mmns::mremap_maymove);  // stayed: in place only
    } else {
      // Moved where the kernel chose (no MREMAP_FIXED): a free range.
      if (!(flags & mmns::mremap_fixed) &&
          as.find_vma_intersection(ret(e), page_end(ret(e), c.new_len)))
        return "kernel moved it to " + hexs(ret(e)) + ", which the model still maps";
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
      return said(ec);
    if (out != ret(e)) return "model moved it to " + hexs(out) + ", kernel to " + hexs(ret(e));
    return {};
  }

  std::string replay_brk(mmns::address_space &as, const event &e, bool &brk_known) {
    std::uint64_t want = e.call.addr;
    mmns::layout l = as.get_layout();
    if (!brk_known) {
      // The first brk result is the break at exec (start_brk).
      l.start_brk = l.brk = ret(e);
      as.set_layout(l);
      brk_known = true;
      if (want == 0) return {};
    }
    if (want == 0) {
      if (ret(e) != l.brk)
        return "brk is " + hexs(l.brk) + " in the model, " + hexs(ret(e)) + " in the kernel";
      return {};
    }
    if (ret(e) != want) return {};  // refused by the kernel: nothing changed
    std::uint64_t got = as.brk(want);
    if (got != ret(e)) return "model's brk(" + hexs(want) + ") = " + hexs(got);
    return {};
  }

  // ---- concurrent calls (docs/mm.md "Concurrent calls") ----
  //
  // strace prints a call at its result line, but calls of several threads
  // of one mm that are in flight together may have changed the VMAs (under
  // the mmap lock) in any order. When the model cannot reproduce a call's
  // result in print order and other calls of its mm were in flight when it
  // completed, those whose results the model reproduces are applied first
  // (at most once each), if the call's result is reproduced after them.

  static bool changes_vmas(call_kind k) {
    switch (k) {
      case call_kind::mmap:
      case call_kind::munmap:
      case call_kind::mprotect:
      case call_kind::mremap:
      case call_kind::brk:
      case call_kind::madvise:
      case call_kind::mlock:
      case call_kind::munlock:
      case call_kind::set_vma: return true;
      default: return false;
    }
  }

  // Before event i: the split calls whose first line came before its result
  // line join the in-flight set (at most one per task), and i leaves it.
  void track_in_flight(std::size_t i) {
    std::size_t line = (*events)[i].line;
    for (; next_started < started.size() && started[next_started].first < line; ++next_started)
      if (std::size_t j = started[next_started].second; j > i)
        in_flight.insert(std::lower_bound(in_flight.begin(), in_flight.end(), j), j);
    leave_in_flight(i);
  }

  void leave_in_flight(std::size_t i) {
    if (auto it = std::lower_bound(in_flight.begin(), in_flight.end(), i);
        it != in_flight.end() && *it == i)
      in_flight.erase(it);
  }

  // A split call that can be another call's peer: one that changed VMAs
  // (succeeded, result known). Only these are tracked (prescan).
  static bool may_be_peer(const event &e) {
    return e.t == event::type::syscall && e.start_line < e.line && changes_vmas(e.call.kind) &&
           e.call.error.empty() && !e.res.failed() && !e.res.unknown;
  }

  // The other calls of mm m in flight when e completed, in completion
  // order: started before e's result line, resumed after it (the in-flight
  // set holds only calls that may_be_peer), of another task of m.
  std::vector<std::size_t> in_flight_peers(const mm_record &m, const event &e) const {
    std::vector<std::size_t> v;
    for (std::size_t j : in_flight)
      if (is_peer(m, e, (*events)[j])) v.push_back(j);
    return v;
  }

  // In-flight call o is a peer of e on m: another task's, of the same mm.
  bool is_peer(const mm_record &m, const event &e, const event &o) const {
    if (o.tid == e.tid) return false;
    auto it = tasks.find(o.tid);
    return it != tasks.end() && it->second->mm == &m;
  }

  struct span {
    std::uint64_t lo = 0, hi = 0;
  };
  // A call's spans: one, or two for mremap (no allocation: this is asked
  // for every VMA call while other threads' calls are in flight).
  struct span_list {
    span s[2];
    unsigned n = 0;
    const span *begin() const noexcept { return s; }
    const span *end() const noexcept { return s + n; }
  };
  template <class A, class B>
  static bool overlap(const A &a, const B &b) {
    for (const span &x : a)
      for (const span &y : b)
        if (x.lo < y.hi && y.lo < x.hi) return true;
    return false;
  }

  // The address ranges a call reads or changes (brk: the heap, from the
  // layout of the space it applies to).
  static span_list spans_of(const event &e, const mmns::address_space &as) {
    const vma_call &c = e.call;
    switch (c.kind) {
      case call_kind::mmap: return {{{ret(e), page_end(ret(e), c.len)}}, 1};
      case call_kind::mremap:
        return {{{c.addr, page_end(c.addr, std::max(c.len, c.new_len))},
                 {ret(e), page_end(ret(e), c.new_len)}},
                2};
      case call_kind::brk: {
        mmns::layout l = as.get_layout();
        return {{{l.start_brk, page_end(std::max({l.brk, c.addr, ret(e)}), 0)}}, 1};
      }
      default: return {{{c.addr, page_end(c.addr, c.len)}}, 1};
    }
  }

  // What a call's outcome depends on: its spans widened to the VMA before
  // and the VMA after each (a merge partner, or what limits a growth: brk
  // and in-place mremap look at the next VMA and its stack guard gap).
  static std::vector<span> window(const mmns::address_space &as, const span_list &spans) {
    std::vector<span> w;
    for (const span &s : spans) {
      std::uint64_t lo = s.lo, hi = s.hi;
      std::optional<mmns::vma_info> prev;
      std::optional<mmns::vma_info> v = as.find_vma_prev(lo, prev);
      if (prev)
        lo = prev->start;
      else if (v && v->start < lo)
        lo = v->start;
      if (v && v->start < hi) v = as.find_vma(hi);
      if (v && v->start < hi) v = as.find_vma(v->end);
      w.push_back({lo, v ? v->end : ~std::uint64_t(0)});
    }
    return w;
  }

  // The space for trials (one, emptied and filled again for each).
  std::unique_ptr<mmns::address_space> scratch_space;

  // The scratch space for a trial: m's layout and its VMAs in the windows,
  // with the map count limit lowered by the VMAs left out.
  mmns::address_space &scratch(const mmns::address_space &as, const std::vector<span> &windows) {
    mmns::layout l = as.get_layout();
    std::map<std::uint64_t, mmns::vma_info> w;
    for (const span &s : windows)
      for (auto v = as.find_vma(s.lo); v && v->start < s.hi; v = as.find_vma(v->end)) {
        std::uint64_t start = v->start;
        w.emplace(start, std::move(*v));
      }
    std::size_t left_out = as.map_count() - std::min(as.map_count(), w.size());
    l.max_map_count -= std::min<std::uint64_t>(l.max_map_count, left_out);
    if (!scratch_space) {
      scratch_space = std::make_unique<mmns::address_space>(l);
      scratch_space->set_lockless_lookups(false);
    }
    mmns::address_space &s = *scratch_space;
    if (s.map_count()) (void)s.munmap(0, s.get_layout().task_size);
    s.set_layout(l);
    for (const auto &[start, v] : w) (void)s.insert_vma(v);
    return s;
  }

  // The file a trial maps: the fd's when it has that name, else a stand-in
  // (a trial leaves the fd table alone).
  mmns::file_ref trial_file(process &p, const vma_call &c) const {
    if (c.kind != call_kind::mmap || (c.flags & mmns::map_anonymous)) return nullptr;
    int access = -1;
    if (auto it = p.fds->find(c.fd); it != p.fds->end()) {
      if (it->second.file && it->second.file->path == c.path) return it->second.file;
      access = it->second.access;
    }
    auto f = std::make_shared<mmns::file>();
    f->path = c.path;
    f->readable = access != 1;
    f->writable = access >= 0 ? access != 0 : writable_paths.count(c.path) != 0;
    return f;
  }

  struct trial {
    bool ok = false;                  // e's result reproduced
    std::vector<std::size_t> before;  // the calls of `before` reproduced ahead of it
  };

  // Replays the calls `before`, then e, on a scratch copy of the windows of
  // m's space they depend on.
  trial try_order(process &p, mm_record &m, const event &e,
                  const std::vector<std::size_t> &before) {
    std::vector<span> w = window(*m.as, spans_of(e, *m.as));
    for (std::size_t j : before)
      for (const span &s : window(*m.as, spans_of((*events)[j], *m.as))) w.push_back(s);
    mmns::address_space &s = scratch(*m.as, w);
    bool brk_known = m.brk_known;
    trial t;
    for (std::size_t j : before) {
      const event &o = (*events)[j];
      process &op = *tasks.at(o.tid);
      if (replay_call(s, o, trial_file(op, o.call), brk_known).empty()) t.before.push_back(j);
    }
    t.ok = replay_call(s, e, trial_file(p, e.call), brk_known).empty();
    return t;
  }

  // The in-flight calls of m that can change e's outcome: those whose
  // spans meet e's window, or the window of one of them (in completion
  // order).
  std::vector<std::size_t> near_peers(const mm_record &m, const event &e) const {
    std::vector<std::size_t> peers = in_flight_peers(m, e), near;
    if (peers.empty()) return near;
    std::vector<span> w = window(*m.as, spans_of(e, *m.as));
    std::vector<bool> in(peers.size(), false);
    for (bool grew = true; grew;) {
      grew = false;
      for (std::size_t i = 0; i < peers.size(); ++i) {
        span_list s = spans_of((*events)[peers[i]], *m.as);
        if (in[i] || !overlap(s, w)) continue;
        in[i] = grew = true;
        for (const span &x : window(*m.as, s)) w.push_back(x);
      }
    }
    for (std::size_t i = 0; i < peers.size(); ++i)
      if (in[i]) near.push_back(peers[i]);
    return near;
  }

  // Whether an in-flight call can decide if e succeeds at all: only one
  // whose own ranges meet e's (an mmap placed over a range being unmapped,
  // an mprotect of a range being mapped). Growth (brk, mremap) also depends
  // on the next VMA and its guard gap: for those the windows decide
  // (near_peers). Merges change no result, so they start no trial: this
  // keeps the trials off the common path of threaded traces.
  bool may_need_peers(const mm_record &m, const event &e) const {
    if (in_flight.empty()) return false;
    const bool grows = e.call.kind == call_kind::brk || e.call.kind == call_kind::mremap;
    span_list own;
    for (std::size_t j : in_flight) {
      const event &o = (*events)[j];
      if (!is_peer(m, e, o)) continue;
      if (grows) return true;
      if (own.n == 0) own = spans_of(e, *m.as);
      if (overlap(spans_of(o, *m.as), own)) return true;
    }
    return false;
  }

  // The in-flight calls to apply before e so that the model reproduces e's
  // result: none when it does so in print order, or cannot even after them;
  // else the fewest that suffice. A call the model cannot apply in a trial
  // is dropped and the trial run again without it; then each of the rest is
  // left out in turn and kept only if e needs it. At most 2k + 1 trials for
  // k calls in flight (k < the mm's threads).
  std::vector<std::size_t> calls_to_apply_first(process &p, mm_record &m, const event &e) {
    if (!may_need_peers(m, e)) return {};
    std::vector<std::size_t> peers = near_peers(m, e);
    if (peers.empty() || try_order(p, m, e, {}).ok) return {};
    for (;;) {
      trial t = try_order(p, m, e, peers);
      if (t.before.size() != peers.size()) {
        peers = std::move(t.before);
        continue;
      }
      if (!t.ok) return {};
      break;
    }
    for (std::size_t i = 0; i < peers.size();) {
      std::vector<std::size_t> fewer = peers;
      fewer.erase(fewer.begin() + static_cast<std::ptrdiff_t>(i));
      trial t = try_order(p, m, e, fewer);
      if (t.ok && t.before.size() == fewer.size())
        peers = std::move(fewer);
      else
        ++i;
    }
    return peers;
  }

  // A VMA call: the in-flight calls its result needs first, then the call.
  void apply_vma_call(process &p, mm_record &m, const event &e) {
    if (!applying_early)
      for (std::size_t j : calls_to_apply_first(p, m, e)) apply_early(j, e);
    apply(p, m, e);
  }

  // Applies in-flight call j now, ahead of its result line, once.
  void apply_early(std::size_t j, const event &before) {
    leave_in_flight(j);
    applied_early[j] = true;
    r.reorders_.push_back({(*events)[j].line, before.line});
    applying_early = true;
    syscall((*events)[j]);
    applying_early = false;
  }

  // Every successful clone (child tid, flags) and the paths mapped shared
  // and writable, before the replay (docs/mm.md "Replaying traces").
  void prescan(const std::vector<event> &evs) {
    bool opens = false, closes = false, names_changed = false;
    for (std::size_t i = 0; i < evs.size(); ++i) {
      const event &e = evs[i];
      if (e.t != event::type::syscall) continue;
      const vma_call &c = e.call;
      opens |= c.kind == call_kind::open;
      closes |= c.kind == call_kind::close || c.kind == call_kind::close_range;
      names_changed |= c.kind == call_kind::unlink || c.kind == call_kind::rename;
      if (may_be_peer(e)) started.emplace_back(e.start_line, i);  // in flight a while
      if (c.kind == call_kind::create && !e.res.unknown && e.res.value > 0)
        created_by.emplace(e.res.value, creation{i, e.tid, c.flags});
      if (c.kind == call_kind::mmap && c.has_fd && c.prot_flags_known &&
          (c.flags & mmns::map_type) != mmns::map_private && (c.prot & mmns::prot_write))
        writable_paths.insert(c.path);
    }
    // File lifetime is in the trace when it shows the calls that end a
    // name (a recorder's trace: docs/mm.md "File identity").
    lifetime_traced = names_changed || (opens && closes);
    applied_early.assign(evs.size(), false);
    if (!std::is_sorted(started.begin(), started.end())) std::sort(started.begin(), started.end());
  }
};

replayer::replayer(snapshot_set snaps, replay_options opt)
    : p_(std::make_unique<impl>(*this, std::move(snaps), std::move(opt))) {}

replayer::~replayer() = default;

void replayer::run(const std::vector<event> &events) {
  auto t0 = std::chrono::steady_clock::now();
  impl &m = *p_;
  m.events = &events;
  std::size_t last_line = 0;
  for (const event &e : events) last_line = std::max(last_line, e.line);
  m.prescan(events);
  for (std::size_t i = 0; i < events.size(); ++i) {
    m.current = i;
    const event &e = events[i];
    m.track_in_flight(i);
    switch (e.t) {
      case event::type::syscall:
        if (!m.applied_early[i]) m.syscall(e);  // else applied ahead of its line
        break;
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
    if (m.opt.progress && (i % 1024 == 0 || i + 1 == events.size()))
      m.opt.progress(i + 1 == events.size() ? last_line : e.line, last_line);
  }
  st_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool replayer::file_lifetime_traced() const noexcept { return p_->lifetime_traced; }

std::vector<fd_view> replayer::fds(std::int64_t tid) const {
  std::vector<fd_view> out;
  auto it = p_->tasks.find(tid);
  if (it == p_->tasks.end()) return out;
  for (const auto &[fd, e] : *it->second->fds)
    out.push_back({fd, e.file ? e.file->id : 0, e.file ? e.file->path : "", e.cloexec});
  return out;
}

verdict overall_verdict(const replayer &r) {
  if (!r.divergences().empty() || !r.uncompared().empty()) return verdict::mismatch;
  verdict v = verdict::match;
  for (const comparison &c : r.comparisons()) v = std::max(v, c.result);
  return v;
}

int exit_status_for(verdict v) noexcept {
  switch (v) {
    case verdict::match: return exit_ok;
    case verdict::undetermined: return exit_undetermined;
    case verdict::mismatch: return exit_mismatch;
  }
  return exit_mismatch;
}

std::vector<std::string> replayer::uncompared() const {
  std::vector<std::string> v;
  for (const auto &[name, text] : p_->snaps.files)
    if (!p_->compared.count(name)) v.push_back(name);
  return v;
}

}  // namespace maple::vma_tool
