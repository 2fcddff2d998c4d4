// progress.cpp - see progress.h.
#include "progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <utility>

namespace maple::vma_tool {

namespace {

// 1234 -> "1234", 56789 -> "56.8k", 12345678 -> "12.3M".
std::string human(double v) {
  char buf[32];
  if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.1fM", v / 1e6);
  else if (v >= 1e4)
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string clock_text(double seconds) {
  auto s = static_cast<unsigned long long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%llu:%02llu", s / 60, s % 60);
  return buf;
}

std::size_t terminal_width(int fd) {
  winsize ws{};
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
  return 80;
}

}  // namespace

progress_bar::progress_bar(std::string label, std::string unit, std::uint64_t total, bool enabled,
                           int fd)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      fd_(fd),
      active_(enabled && isatty(fd) == 1),
      start_(clock::now()),
      last_(start_) {}

progress_bar::~progress_bar() { finish(); }

std::string progress_bar::frame(const std::string &label, const std::string &unit,
                                std::uint64_t done, std::uint64_t total, double seconds,
                                std::size_t width, const std::string &note) {
  double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  if (total && done > total) done = total;
  char buf[160];
  if (total) {
    int n = std::snprintf(
        buf, sizeof buf, "%3d%%  %s/%s %s  %s %s/s", static_cast<int>(done * 100 / total),
        human(static_cast<double>(done)).c_str(), human(static_cast<double>(total)).c_str(),
        unit.c_str(), human(rate).c_str(), unit.c_str());
    if (rate > 0 && n > 0 && static_cast<std::size_t>(n) < sizeof buf)
      std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), "  ETA %s",
                    clock_text(static_cast<double>(total - done) / rate).c_str());
  } else {
    std::snprintf(buf, sizeof buf, "%s %s  %s %s/s  %s", human(static_cast<double>(done)).c_str(),
                  unit.c_str(), human(rate).c_str(), unit.c_str(), clock_text(seconds).c_str());
  }
  std::string tail(buf);
  if (!note.empty()) tail += "  " + note;
  std::string out = label;
  out.push_back(' ');
  // A bar of 25 cells when the line has room for it (a fixed width: the
  // bar does not jump as the numbers grow).
  constexpr std::size_t cells = 25;
  if (total && width > out.size() + cells + 3 + tail.size()) {
    auto fill = static_cast<std::size_t>(static_cast<double>(cells) * static_cast<double>(done) /
                                         static_cast<double>(total));
    out.push_back('[');
    out.append(fill, '#');
    out.append(cells - fill, '.');
    out.append("] ");
  }
  out.append(tail);
  if (width > 0 && out.size() > width - 1) out.resize(width - 1);
  return out;
}

void progress_bar::update(std::uint64_t done, const std::string &note) {
  if (!active_) return;
  clock::time_point now = clock::now();
  if (now - start_ < delay_ || (drawn_ && now - last_ < interval_)) return;
  last_ = now;
  drawn_ = true;
  double seconds = std::chrono::duration<double>(now - start_).count();
  std::string text = "\r";
  text.append(frame(label_, unit_, done, total_, seconds, terminal_width(fd_), note));
  text.append("\x1b[K");  // erase the rest of the line
  draw(text);
}

void progress_bar::finish() {
  if (drawn_) draw("\r\x1b[K");
  drawn_ = false;
  active_ = false;
}

void progress_bar::draw(const std::string &text) const {
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd_, text.data() + off, text.size() - off);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace maple::vma_tool
